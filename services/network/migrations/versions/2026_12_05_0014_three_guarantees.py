"""the Three Guarantees watch per VIN

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "three_guarantees_repairs",
        sa.Column("repair_order_id", sa.String(64), primary_key=True),
        sa.Column("vin", sa.String(32), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("sold_at", sa.Date(), nullable=True),
        sa.Column("mileage_km", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warranty_op_codes", sa.JSON(), nullable=False),
    )
    op.create_index("ix_three_guarantees_repairs_vin", "three_guarantees_repairs", ["vin"])
    op.create_index("ix_three_guarantees_repairs_store_id", "three_guarantees_repairs", ["store_id"])
    op.create_table(
        "three_guarantees_alerts",
        sa.Column("vin", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vin", "key", name="pk_three_guarantees_alerts"),
    )


def downgrade() -> None:
    op.drop_table("three_guarantees_alerts")
    op.drop_index("ix_three_guarantees_repairs_store_id", table_name="three_guarantees_repairs")
    op.drop_index("ix_three_guarantees_repairs_vin", table_name="three_guarantees_repairs")
    op.drop_table("three_guarantees_repairs")
