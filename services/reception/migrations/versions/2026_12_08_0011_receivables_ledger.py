"""receivables ledger: insurers and customers on credit

Every payer in one ledger: an order's insurer share and a customer's amount on credit are
owed beside a fleet's on-account amount, so one order can owe the store to several payers
(the uniqueness of an entry becomes its source and its payer kind). A customer's phone on
the entry lets the overdue list say whom to call. Customer credit accounts (赊账客户: a
credit allowance by the store for a customer, known by phone) and the service manager's
allowance for one order to go on credit.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.String(64)
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_constraint("uq_receivables_source", "receivables", type_="unique")
    op.create_unique_constraint("uq_receivables_source_payer", "receivables",
                                ["source_kind", "source_id", "payer_kind"])
    op.add_column("receivables", sa.Column("payer_phone", sa.String(20), nullable=True))
    op.create_table(
        "credit_accounts",
        sa.Column("id", Id, primary_key=True),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("credit_limit_fen", sa.BigInteger, nullable=False),
        sa.Column("payment_terms_days", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("created_by", sa.JSON, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("store_id", "phone", name="uq_credit_accounts_store_phone"),
    )
    op.create_table(
        "credit_allowances",
        sa.Column("repair_order_id", Id, sa.ForeignKey("repair_orders.id"), primary_key=True),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("payment_terms_days", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("allowed_by", sa.JSON, nullable=False),
        sa.Column("allowed_at", Moment, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("credit_allowances")
    op.drop_table("credit_accounts")
    op.drop_column("receivables", "payer_phone")
    op.drop_constraint("uq_receivables_source_payer", "receivables", type_="unique")
    op.create_unique_constraint("uq_receivables_source", "receivables", ["source_kind", "source_id"])
