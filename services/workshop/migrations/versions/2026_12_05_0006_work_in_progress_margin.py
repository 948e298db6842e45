"""work in progress and cost: technicians' cost rates, parts' average cost at issue, orders at risk

Repair orders are kept from their opening (waiting for the customer's approval), with
the promised time reception gives and when their cost went out. Technicians get a cost
rate, each work interval the rate of its technician when it opened, each issued
reservation and each issue or return movement the part's average cost when issued, and
sublet lines are kept with the cost the store records for them.

Issues made before this revision kept no cost: they get the part's average cost in
their store now, the best figure left.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("repair_orders", "status", type_=sa.String(24), existing_type=sa.String(16),
                    existing_nullable=False)
    op.alter_column("repair_orders", "approved_at", nullable=True, existing_type=sa.DateTime(timezone=True))
    op.add_column("repair_orders", sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("repair_orders", sa.Column("promised_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("repair_orders", sa.Column("costed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_repair_orders_store_status", "repair_orders", ["store_id", "status"])

    op.add_column("technicians", sa.Column("hourly_cost_fen", sa.Integer, nullable=True))
    op.add_column("work_intervals", sa.Column("hourly_cost_fen", sa.Integer, nullable=True))

    op.add_column("reservations", sa.Column("unit_cost_fen", sa.Integer, nullable=True))
    op.execute(
        "UPDATE reservations r SET unit_cost_fen = s.average_cost_fen FROM stock s "
        "WHERE r.status = 'issued' AND s.store_id = r.store_id AND s.part_no = r.part_no"
    )
    op.execute(
        "UPDATE stock_movements m SET unit_cost_fen = s.average_cost_fen FROM stock s "
        "WHERE m.kind IN ('issue', 'return') AND m.unit_cost_fen IS NULL "
        "AND s.store_id = m.store_id AND s.part_no = m.part_no"
    )
    op.create_index("ix_stock_movements_order", "stock_movements", ["repair_order_id"])

    op.create_table(
        "sublet_lines",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("repair_order_id", sa.String(64), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("pay_type", sa.String(16), nullable=False),
        sa.Column("cost_fen", sa.BigInteger, nullable=True),
        sa.Column("vendor", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=True),
        sa.Column("recorded_by_name", sa.String(200), nullable=True),
        sa.Column("recorded_by_credential", sa.String(200), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("repair_order_id", "line_id", name="uq_sublet_lines_order_line"),
    )
    op.create_index("ix_sublet_lines_repair_order_id", "sublet_lines", ["repair_order_id"])


def downgrade() -> None:
    op.drop_index("ix_sublet_lines_repair_order_id", table_name="sublet_lines")
    op.drop_table("sublet_lines")
    op.drop_index("ix_stock_movements_order", table_name="stock_movements")
    op.drop_column("reservations", "unit_cost_fen")
    op.drop_column("work_intervals", "hourly_cost_fen")
    op.drop_column("technicians", "hourly_cost_fen")
    op.drop_index("ix_repair_orders_store_status", table_name="repair_orders")
    op.drop_column("repair_orders", "costed_at")
    op.drop_column("repair_orders", "promised_at")
    op.drop_column("repair_orders", "opened_at")
    # Orders known only from their opening were never approved: the older schema cannot hold them.
    op.execute("DELETE FROM repair_orders WHERE approved_at IS NULL")
    op.alter_column("repair_orders", "approved_at", nullable=False, existing_type=sa.DateTime(timezone=True))
    op.alter_column("repair_orders", "status", type_=sa.String(16), existing_type=sa.String(24),
                    existing_nullable=False)
