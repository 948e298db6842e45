"""receivables: what is owed to the store by payer, payments received and matched

One entry per thing owed (a fleet's order settled on account, for a start), by payer, with
its store-local issue and due dates and what has been paid of it; and each payment
received from a payer with the open items it was matched to.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.String(64)
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "receivables",
        sa.Column("id", Id, primary_key=True),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("payer_kind", sa.String(16), nullable=False),
        sa.Column("payer_id", Id, nullable=False),
        sa.Column("payer_name", sa.String(200), nullable=False),
        sa.Column("source_kind", sa.String(32), nullable=False),
        sa.Column("source_id", Id, nullable=False),
        sa.Column("reference", sa.String(64), nullable=True),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("paid_fen", sa.BigInteger, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.UniqueConstraint("source_kind", "source_id", name="uq_receivables_source"),
        sa.CheckConstraint("paid_fen >= 0 AND paid_fen <= amount_fen", name="ck_receivables_paid_within_amount"),
    )
    op.create_index("ix_receivables_store_payer", "receivables", ["store_id", "payer_kind", "payer_id"])
    op.create_table(
        "receivable_payments",
        sa.Column("id", Id, primary_key=True),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("payer_kind", sa.String(16), nullable=False),
        sa.Column("payer_id", Id, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("received_on", sa.Date, nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(100), nullable=True),
        sa.Column("allocations", sa.JSON, nullable=False),
        sa.Column("recorded_by", sa.JSON, nullable=False),
        sa.Column("recorded_at", Moment, nullable=False),
    )
    op.create_index("ix_receivable_payments_store_payer", "receivable_payments",
                    ["store_id", "payer_kind", "payer_id"])


def downgrade() -> None:
    op.drop_table("receivable_payments")
    op.drop_table("receivables")
