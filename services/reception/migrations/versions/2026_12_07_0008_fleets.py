"""fleet accounts: contracts, vehicles, approvals and statements

A fleet (大客户) of a store: the company and its contract (discounts on labour and parts,
the approval limit per order, the credit limit, the payment terms), its contacts and its
balance on account; the cars on its contract (one fleet per car in a store); and the fleet's
side of each order of its cars (the contract as at check-in, the fleet's approval and its
link, the manager's credit override, what was charged on account and the statement's
figures). A repair order line keeps the contract discount it was priced with.

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

Id = sa.String(64)
Moment = sa.DateTime(timezone=True)
Percent = sa.Numeric(5, 2)


def upgrade() -> None:
    op.create_table(
        "fleets",
        sa.Column("id", Id, primary_key=True),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("labour_discount_percent", Percent, nullable=False),
        sa.Column("parts_discount_percent", Percent, nullable=False),
        sa.Column("approval_limit_fen", sa.BigInteger, nullable=False),
        sa.Column("credit_limit_fen", sa.BigInteger, nullable=False),
        sa.Column("payment_terms_days", sa.Integer, nullable=False),
        sa.Column("contacts", sa.JSON, nullable=False),
        sa.Column("balance_fen", sa.BigInteger, nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("created_by", sa.JSON, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_fleets_store_name", "fleets", ["store_id", "name"])
    op.create_table(
        "fleet_vehicles",
        sa.Column("id", Id, primary_key=True),
        sa.Column("fleet_id", Id, sa.ForeignKey("fleets.id"), nullable=False),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("vin", sa.String(17), nullable=False),
        sa.Column("plate", sa.String(16), nullable=True),
        sa.Column("driver_name", sa.String(100), nullable=True),
        sa.Column("driver_phone", sa.String(20), nullable=True),
        sa.Column("added_at", Moment, nullable=False),
        sa.UniqueConstraint("store_id", "vin", name="uq_fleet_vehicles_store_vin"),
    )
    op.create_index("ix_fleet_vehicles_fleet_id", "fleet_vehicles", ["fleet_id"])
    op.create_table(
        "fleet_orders",
        sa.Column("repair_order_id", Id, sa.ForeignKey("repair_orders.id"), primary_key=True),
        sa.Column("fleet_id", Id, sa.ForeignKey("fleets.id"), nullable=False),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("labour_discount_percent", Percent, nullable=False),
        sa.Column("parts_discount_percent", Percent, nullable=False),
        sa.Column("approval_limit_fen", sa.BigInteger, nullable=False),
        sa.Column("approved_fen", sa.BigInteger, nullable=True),
        sa.Column("approved_by", sa.JSON, nullable=True),
        sa.Column("approved_at", Moment, nullable=True),
        sa.Column("link_token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("link_contact_id", sa.String(64), nullable=True),
        sa.Column("link_expires_at", Moment, nullable=True),
        sa.Column("credit_override", sa.JSON, nullable=True),
        sa.Column("settled_at", Moment, nullable=True),
        sa.Column("on_account_fen", sa.BigInteger, nullable=False),
        sa.Column("charges", sa.JSON, nullable=True),
    )
    op.create_index("ix_fleet_orders_fleet_settled", "fleet_orders", ["fleet_id", "settled_at"])
    op.add_column("repair_order_lines", sa.Column("discount_percent", Percent, nullable=True))


def downgrade() -> None:
    op.drop_column("repair_order_lines", "discount_percent")
    op.drop_index("ix_fleet_orders_fleet_settled", table_name="fleet_orders")
    op.drop_table("fleet_orders")
    op.drop_index("ix_fleet_vehicles_fleet_id", table_name="fleet_vehicles")
    op.drop_table("fleet_vehicles")
    op.drop_index("ix_fleets_store_name", table_name="fleets")
    op.drop_table("fleets")
