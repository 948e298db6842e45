"""platform tables (outbox, inbox, idempotency, store registry), appointments, repair
orders with lines, approvals and invoices, roadside requests, history and counters

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger()
Id = sa.String(64)
Decimal = sa.String(32)  # exact decimals as text until 0002 made them NUMERIC


def upgrade() -> None:
    # The platform's own tables (outbox, inbox, idempotency keys, store registry), written
    # out here rather than shared, so a later change to them is a migration of its own.
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["id"], postgresql_where=sa.text("sent_at IS NULL"))
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("source_topic", sa.String(200), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(128), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response_body", sa.Text, nullable=False),
        sa.Column("response_headers", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "known_stores",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "appointments",
        sa.Column("id", Id, primary_key=True),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("customer", sa.JSON, nullable=False),
        sa.Column("vehicle", sa.JSON, nullable=False),
        sa.Column("vin", sa.String(17), nullable=False),
        sa.Column("service_type", sa.String(32), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.String(10), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("booked_by", sa.JSON, nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.Column("no_show_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("repair_order_id", Id, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("ix_appointments_store_slot", "appointments", ["store_id", "slot_start"])
    op.create_index("ix_appointments_store_date", "appointments", ["store_id", "local_date"])
    op.create_index("ix_appointments_store_vin", "appointments", ["store_id", "vin"])

    op.create_table(
        "repair_orders",
        sa.Column("id", Id, primary_key=True),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("appointment_id", Id, nullable=True),
        sa.Column("roadside_id", Id, nullable=True),
        sa.Column("customer", sa.JSON, nullable=False),
        sa.Column("vehicle", sa.JSON, nullable=False),
        sa.Column("vin", sa.String(17), nullable=False),
        sa.Column("mileage_km", sa.Integer, nullable=False),
        sa.Column("mileage_correction_reason", sa.Text, nullable=True),
        sa.Column("complaint", sa.Text, nullable=False),
        sa.Column("inspection", sa.JSON, nullable=True),
        sa.Column("insurance", sa.JSON, nullable=True),
        sa.Column("advisor", sa.JSON, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("estimated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("work_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery", sa.JSON, nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.Column("totals", sa.JSON, nullable=False),
        sa.Column("line_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.UniqueConstraint("store_id", "number", name="uq_repair_orders_store_number"),
    )
    op.create_index("ix_repair_orders_store_status", "repair_orders", ["store_id", "status"])
    op.create_index("ix_repair_orders_store_vin", "repair_orders", ["store_id", "vin", "opened_at"])

    op.create_table(
        "repair_order_lines",
        sa.Column("id", Id, primary_key=True),
        sa.Column("repair_order_id", Id, sa.ForeignKey("repair_orders.id"), nullable=False),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("op_code", sa.String(32), nullable=True),
        sa.Column("part_no", sa.String(32), nullable=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("quantity", Decimal, nullable=False),
        sa.Column("flat_rate_hours", Decimal, nullable=True),
        sa.Column("unit_price_fen", sa.BigInteger, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("pay_type", sa.String(16), nullable=False),
        sa.Column("supplement", sa.Boolean, nullable=False),
        sa.Column("approval_id", Id, nullable=True),
        sa.Column("added_by", sa.JSON, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_repair_order_lines_order", "repair_order_lines", ["repair_order_id", "position"])

    op.create_table(
        "repair_order_approvals",
        sa.Column("id", Id, primary_key=True),
        sa.Column("repair_order_id", Id, sa.ForeignKey("repair_orders.id"), nullable=False, index=True),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.JSON, nullable=False),
        sa.Column("supplement", sa.Boolean, nullable=False),
        sa.Column("line_ids", sa.JSON, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("customer_due_fen", sa.BigInteger, nullable=False),
    )

    op.create_table(
        "invoices",
        sa.Column("id", Id, primary_key=True),
        sa.Column("number", sa.String(64), nullable=False, unique=True),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("repair_order_id", Id, sa.ForeignKey("repair_orders.id"), nullable=False, unique=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.JSON, nullable=False),
        sa.Column("totals", sa.JSON, nullable=False),
        sa.Column("payers", sa.JSON, nullable=False),
        sa.Column("payments", sa.JSON, nullable=False),
    )

    op.create_table(
        "roadside_requests",
        sa.Column("id", Id, primary_key=True),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("customer", sa.JSON, nullable=False),
        sa.Column("vehicle", sa.JSON, nullable=False),
        sa.Column("vin", sa.String(17), nullable=False, index=True),
        sa.Column("location", sa.JSON, nullable=False),
        sa.Column("problem", sa.Text, nullable=False),
        sa.Column("mileage_km", sa.Integer, nullable=True),
        sa.Column("requested_by", sa.JSON, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responder", sa.String(200), nullable=True),
        sa.Column("eta_minutes", sa.Integer, nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_minutes", Decimal, nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("resolution_notes", sa.Text, nullable=True),
        sa.Column("repair_order_id", Id, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("ix_roadside_store_status", "roadside_requests", ["store_id", "status"])

    op.create_table(
        "state_changes",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("aggregate", sa.String(32), nullable=False),
        sa.Column("aggregate_id", Id, nullable=False),
        sa.Column("store_id", Id, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("from_status", sa.String(32), nullable=True),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("by_id", sa.String(128), nullable=False),
        sa.Column("by_name", sa.String(200), nullable=False),
        sa.Column("by_role", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_state_changes_aggregate", "state_changes", ["aggregate", "aggregate_id", "id"])

    op.create_table(
        "counters",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("value", BigId, nullable=False),
    )


def downgrade() -> None:
    for table in ("counters", "state_changes", "roadside_requests", "invoices", "repair_order_approvals",
                  "repair_order_lines", "repair_orders", "appointments"):
        op.drop_table(table)
    for table in ("known_stores", "idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)
