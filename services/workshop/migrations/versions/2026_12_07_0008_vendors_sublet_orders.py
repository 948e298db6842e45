"""outsourced work: vendors and sublet orders

A store's vendors (the firms it sends glass, paint, ECU programming, upholstery to) and
the sublet orders that send a repair order's sublet line to one of them, from the agreed
price and promised day to the vendor's invoice matched against it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vendors",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("specialties", sa.JSON, nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("address", sa.String(500), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("store_id", "name", name="uq_vendors_store_name"),
    )
    op.create_index("ix_vendors_store_id", "vendors", ["store_id"])

    op.create_table(
        "sublet_orders",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("repair_order_id", sa.String(64), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=False),
        sa.Column("vendor_id", sa.String(64), sa.ForeignKey("vendors.id"), nullable=False),
        sa.Column("work", sa.Text, nullable=False),
        sa.Column("agreed_price_fen", sa.BigInteger, nullable=False),
        sa.Column("promised_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inspections", sa.JSON, nullable=False),
        sa.Column("invoice_number", sa.String(64), nullable=True),
        sa.Column("invoice_amount_fen", sa.BigInteger, nullable=True),
        sa.Column("invoice_received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invoiced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_by_name", sa.String(200), nullable=True),
        sa.Column("decision_note", sa.Text, nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_by_name", sa.String(200), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("store_id", "number", name="uq_sublet_orders_store_number"),
    )
    op.create_index("ix_sublet_orders_vendor_id", "sublet_orders", ["vendor_id"])
    op.create_index("ix_sublet_orders_store_status", "sublet_orders", ["store_id", "status"])
    # One live sublet order per line; a cancelled one frees the line for another vendor.
    op.create_index("uq_sublet_orders_live_line", "sublet_orders", ["repair_order_id", "line_id"], unique=True,
                    postgresql_where=sa.text("status <> 'cancelled'"))


def downgrade() -> None:
    op.drop_index("uq_sublet_orders_live_line", table_name="sublet_orders")
    op.drop_index("ix_sublet_orders_store_status", table_name="sublet_orders")
    op.drop_index("ix_sublet_orders_vendor_id", table_name="sublet_orders")
    op.drop_table("sublet_orders")
    op.drop_index("ix_vendors_store_id", table_name="vendors")
    op.drop_table("vendors")
