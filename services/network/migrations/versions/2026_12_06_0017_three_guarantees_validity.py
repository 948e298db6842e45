"""the Three Guarantees validity from the registration's invoice date

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Warranty-paid part numbers, read against the engine or transmission list when classified;
    # orders recorded before this revision kept none.
    op.add_column("three_guarantees_repairs",
                  sa.Column("warranty_part_nos", sa.JSON(), nullable=False, server_default=sa.text("'[]'::json")))
    op.create_table(
        "three_guarantees_figures",
        sa.Column("vin", sa.String(32), primary_key=True),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("three_guarantees_figures")
    op.drop_column("three_guarantees_repairs", "warranty_part_nos")
