"""each advisor's customer base: the cars whose last visit they served, the manager's
reassignments, and the staff directory's names and roles (who is an advisor where)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # People already on file get their roles with their next event from network.
    op.add_column("staff_members", sa.Column("name", sa.String(200), nullable=True))
    op.add_column("staff_members", sa.Column("assignments", sa.JSON, nullable=False, server_default="[]"))
    op.create_table(
        "customer_base",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("vin", sa.String(32), nullable=False),
        sa.Column("advisor_id", sa.String(64), nullable=False),
        sa.Column("advisor_name", sa.String(200), nullable=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("last_visit_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_repair_order_id", sa.String(64), nullable=False),
        sa.Column("last_served_by", sa.String(64), nullable=False),
        sa.Column("last_served_by_name", sa.String(200), nullable=True),
        sa.Column("came_by", sa.String(16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("store_id", "vin", name="uq_customer_base_store_vin"),
    )
    op.create_index("ix_customer_base_store_advisor", "customer_base", ["store_id", "advisor_id"])
    op.create_table(
        "customer_base_reassignments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_person_id", sa.String(64), nullable=False, index=True),
        sa.Column("to_person_id", sa.String(64), nullable=True),
        sa.Column("vin", sa.String(32), nullable=True),
        sa.Column("shares", sa.JSON, nullable=False),
        sa.Column("vehicles", sa.Integer, nullable=False),
        sa.Column("reassigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reassigned_by", sa.String(64), nullable=False),
        sa.Column("reassigned_by_name", sa.String(200), nullable=True),
        sa.Column("reassigned_by_credential", sa.String(200), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("customer_base_reassignments")
    op.drop_index("ix_customer_base_store_advisor", table_name="customer_base")
    op.drop_table("customer_base")
    op.drop_column("staff_members", "assignments")
    op.drop_column("staff_members", "name")
