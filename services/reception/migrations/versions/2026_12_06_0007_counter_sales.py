"""accessory counter sales

Accessories sold at the service desk without a repair order: the sale (its store's number,
the local day it was rung up on, who sold it, who took the money, its money kept beside the
lines), its lines (catalogue code, quantity, price, discount), and each store's limit on
the discount its counter may give (no row: the group's default).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.String(64)
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "counter_sales",
        sa.Column("id", Id, primary_key=True),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sale_day", sa.Date, nullable=False),
        sa.Column("customer", sa.JSON, nullable=True),
        sa.Column("vin", sa.String(17), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("sold_by", sa.JSON, nullable=False),
        sa.Column("opened_at", Moment, nullable=False),
        sa.Column("list_fen", sa.BigInteger, nullable=False),
        sa.Column("discount_fen", sa.BigInteger, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("tax_fen", sa.BigInteger, nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.Column("vat_rate", sa.Numeric(), nullable=False),
        sa.Column("paid_at", Moment, nullable=True),
        sa.Column("paid_by", sa.JSON, nullable=True),
        sa.Column("payments", sa.JSON, nullable=False),
        sa.Column("cancelled_at", Moment, nullable=True),
        sa.Column("cancelled_by", sa.JSON, nullable=True),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("store_id", "number", name="uq_counter_sales_store_number"),
    )
    op.create_index("ix_counter_sales_store_day", "counter_sales", ["store_id", "sale_day"])
    op.create_table(
        "counter_sale_lines",
        sa.Column("id", Id, primary_key=True),
        sa.Column("counter_sale_id", Id, sa.ForeignKey("counter_sales.id"), nullable=False),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("accessory_code", sa.String(32), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price_fen", sa.BigInteger, nullable=False),
        sa.Column("discount_percent", sa.Numeric(), nullable=False),
        sa.Column("discount_fen", sa.BigInteger, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_counter_sale_lines_sale", "counter_sale_lines", ["counter_sale_id", "position"])
    op.create_table(
        "counter_sale_settings",
        sa.Column("store_id", Id, primary_key=True),
        sa.Column("max_discount_percent", sa.Numeric(), nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.Column("updated_by", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("counter_sale_settings")
    op.drop_index("ix_counter_sale_lines_sale", table_name="counter_sale_lines")
    op.drop_table("counter_sale_lines")
    op.drop_index("ix_counter_sales_store_day", table_name="counter_sales")
    op.drop_table("counter_sales")
