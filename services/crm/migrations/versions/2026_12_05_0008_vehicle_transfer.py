"""ownership transfers (过户) recorded from their papers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vehicle_transfers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("vin", sa.String(32), nullable=False, index=True),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("from_customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("to_customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("papers_reference", sa.String(100), nullable=False),
        sa.Column("transfer_date", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("reminders_moved", sa.Integer, nullable=False),
        sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transferred_by", sa.String(64), nullable=False),
        sa.Column("transferred_by_name", sa.String(200), nullable=True),
        sa.Column("transferred_by_credential", sa.String(200), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("vehicle_transfers")
