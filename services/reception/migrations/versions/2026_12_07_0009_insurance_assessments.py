"""insurance repairs: the insurer's assessment line by line, excess and supplements

One row per round of the insurer's assessment (定损) of an order: who assessed, each
insurance line's amount and approved amount, the approved total and the customer's excess.
The latest round is in force; a supplement with insurance lines adds the next.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "insurance_assessments",
        sa.Column("id", Id, primary_key=True),
        sa.Column("repair_order_id", Id, sa.ForeignKey("repair_orders.id"), nullable=False),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("insurer", sa.String(100), nullable=False),
        sa.Column("claim_no", sa.String(64), nullable=False),
        sa.Column("assessor", sa.JSON, nullable=False),
        sa.Column("lines", sa.JSON, nullable=False),
        sa.Column("approved_fen", sa.BigInteger, nullable=False),
        sa.Column("excess_fen", sa.BigInteger, nullable=False),
        sa.Column("recorded_by", sa.JSON, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("repair_order_id", "round", name="uq_insurance_assessments_order_round"),
    )
    op.create_index("ix_insurance_assessments_repair_order_id", "insurance_assessments", ["repair_order_id"])


def downgrade() -> None:
    op.drop_index("ix_insurance_assessments_repair_order_id", table_name="insurance_assessments")
    op.drop_table("insurance_assessments")
