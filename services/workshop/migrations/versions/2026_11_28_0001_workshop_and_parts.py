"""platform tables (outbox, inbox, idempotency, store registry); technicians, jobs, clocked
work and quality checks; repair-order progress; stock, ledger, reservations, receipts;
purchase orders; delivered operations and comebacks

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


def _id() -> sa.Column:
    return sa.Column("id", sa.String(64), primary_key=True)


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
        "technicians",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("principal_id", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("store_id", "principal_id", name="uq_technicians_store_principal"),
    )
    op.create_index("ix_technicians_store_id", "technicians", ["store_id"])

    op.create_table(
        "repair_orders",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("vin", sa.String(32), nullable=False),
        sa.Column("plate", sa.String(32), nullable=True),
        sa.Column("model", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("work_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_repair_orders_store_id", "repair_orders", ["store_id"])
    op.create_index("ix_repair_orders_vin", "repair_orders", ["vin"])

    op.create_table(
        "jobs",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("repair_order_id", sa.String(64), nullable=False),
        sa.Column("repair_order_number", sa.String(64), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=False),
        sa.Column("vin", sa.String(32), nullable=False),
        sa.Column("op_code", sa.String(32), nullable=False),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("pay_type", sa.String(16), nullable=False),
        sa.Column("supplement", sa.Boolean, nullable=False),
        sa.Column("flat_rate_hours", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("technician_id", sa.String(64), nullable=True),
        sa.Column("rework_count", sa.Integer, nullable=False),
        sa.Column("clocked_seconds", sa.Integer, nullable=False),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(64), nullable=True),
        sa.Column("qc_passed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("repair_order_id", "line_id", name="uq_jobs_order_line"),
    )
    op.create_index("ix_jobs_repair_order_id", "jobs", ["repair_order_id"])
    op.create_index("ix_jobs_store_status", "jobs", ["store_id", "status"])
    op.create_index("ix_jobs_technician_status", "jobs", ["technician_id", "status"])
    op.create_index("ix_jobs_store_passed", "jobs", ["store_id", "qc_passed_at"])

    op.create_table(
        "work_intervals",
        _id(),
        sa.Column("job_id", sa.String(64), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("technician_id", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(64), nullable=True),
        sa.Column("end_reason", sa.String(16), nullable=True),
        sa.Column("seconds", sa.Integer, nullable=True),
    )
    op.create_index("ix_work_intervals_job_id", "work_intervals", ["job_id"])
    op.create_index("ix_work_intervals_technician_start", "work_intervals", ["technician_id", "started_at"])

    op.create_table(
        "quality_checks",
        _id(),
        sa.Column("job_id", sa.String(64), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("technician_id", sa.String(64), nullable=True),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("inspector", sa.String(64), nullable=False),
        sa.Column("inspector_name", sa.String(200), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_quality_checks_job_id", "quality_checks", ["job_id"])
    op.create_index("ix_quality_checks_store_checked", "quality_checks", ["store_id", "checked_at"])

    op.create_table(
        "stock",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("part_no", sa.String(32), nullable=False),
        sa.Column("on_hand", sa.Integer, nullable=False),
        sa.Column("reserved", sa.Integer, nullable=False),
        sa.Column("bin", sa.String(32), nullable=True),
        sa.Column("reorder_point", sa.Integer, nullable=True),
        sa.Column("reorder_quantity", sa.Integer, nullable=True),
        sa.Column("below_reorder_point", sa.Boolean, nullable=False),
        sa.Column("average_cost_fen", sa.Integer, nullable=False),
        sa.Column("reservation_seq", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("store_id", "part_no", name="uq_stock_store_part"),
        sa.CheckConstraint("reserved >= 0 AND on_hand >= reserved", name="ck_stock_not_oversold"),
    )

    op.create_table(
        "stock_movements",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("part_no", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("on_hand_delta", sa.Integer, nullable=False),
        sa.Column("reserved_delta", sa.Integer, nullable=False),
        sa.Column("on_hand_after", sa.Integer, nullable=False),
        sa.Column("reserved_after", sa.Integer, nullable=False),
        sa.Column("unit_cost_fen", sa.Integer, nullable=True),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("reservation_id", sa.String(64), nullable=True),
        sa.Column("repair_order_id", sa.String(64), nullable=True),
        sa.Column("receipt_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("principal_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_stock_movements_store_part", "stock_movements", ["store_id", "part_no", "id"])

    op.create_table(
        "reservations",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("repair_order_id", sa.String(64), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=False),
        sa.Column("part_no", sa.String(32), nullable=False),
        sa.Column("pay_type", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("allocated", sa.Integer, nullable=False),
        sa.Column("issued_quantity", sa.Integer, nullable=False),
        sa.Column("returned_quantity", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("queue_seq", sa.Integer, nullable=False),
        sa.Column("filled_from_stock", sa.Boolean, nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by", sa.String(64), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("repair_order_id", "line_id", name="uq_reservations_order_line"),
        sa.CheckConstraint("allocated >= 0 AND allocated <= quantity", name="ck_reservations_allocated"),
    )
    op.create_index("ix_reservations_repair_order_id", "reservations", ["repair_order_id"])
    op.create_index("ix_reservations_queue", "reservations", ["store_id", "part_no", "status", "queue_seq"])

    op.create_table(
        "stock_receipts",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("purchase_order_id", sa.String(64), nullable=True),
        sa.Column("lines", sa.JSON, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(64), nullable=False),
    )
    op.create_index("ix_stock_receipts_store_id", "stock_receipts", ["store_id"])
    op.create_index("ix_stock_receipts_purchase_order_id", "stock_receipts", ["purchase_order_id"])

    op.create_table(
        "purchase_orders",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("supplier", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("total_fen", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("store_id", "number", name="uq_purchase_orders_store_number"),
    )
    op.create_index("ix_purchase_orders_store_status", "purchase_orders", ["store_id", "status"])

    op.create_table(
        "purchase_order_lines",
        _id(),
        sa.Column("purchase_order_id", sa.String(64), sa.ForeignKey("purchase_orders.id"), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("part_no", sa.String(32), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("received_quantity", sa.Integer, nullable=False),
        sa.Column("unit_cost_fen", sa.Integer, nullable=False),
        sa.UniqueConstraint("purchase_order_id", "part_no", name="uq_purchase_order_lines_part"),
        sa.CheckConstraint("received_quantity >= 0 AND received_quantity <= quantity", name="ck_po_lines_received"),
    )
    op.create_index("ix_purchase_order_lines_purchase_order_id", "purchase_order_lines", ["purchase_order_id"])

    op.create_table(
        "number_sequences",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )

    op.create_table(
        "delivered_operations",
        sa.Column("repair_order_id", sa.String(64), primary_key=True),
        sa.Column("line_id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("repair_order_number", sa.String(64), nullable=False),
        sa.Column("vin", sa.String(32), nullable=False),
        sa.Column("op_code", sa.String(32), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("technician_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_delivered_operations_vin_op", "delivered_operations", ["vin", "op_code", "delivered_at"])

    op.create_table(
        "comebacks",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("vin", sa.String(32), nullable=False),
        sa.Column("op_code", sa.String(32), nullable=False),
        sa.Column("repair_order_id", sa.String(64), nullable=False),
        sa.Column("line_id", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("original_repair_order_id", sa.String(64), nullable=False),
        sa.Column("original_repair_order_number", sa.String(64), nullable=False),
        sa.Column("original_store_id", sa.String(64), nullable=False),
        sa.Column("original_job_id", sa.String(64), nullable=True),
        sa.Column("original_technician_id", sa.String(64), nullable=True),
        sa.Column("original_delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("days_since_delivery", sa.Integer, nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("repair_order_id", "line_id", name="uq_comebacks_order_line"),
    )
    op.create_index("ix_comebacks_vin", "comebacks", ["vin"])
    op.create_index("ix_comebacks_store_detected", "comebacks", ["store_id", "detected_at"])
    op.create_index("ix_comebacks_original_technician", "comebacks", ["original_technician_id", "detected_at"])


def downgrade() -> None:
    for table in (
        "comebacks", "delivered_operations", "number_sequences", "purchase_order_lines", "purchase_orders",
        "stock_receipts", "reservations", "stock_movements", "stock", "quality_checks", "work_intervals",
        "jobs", "repair_orders", "technicians",
    ):
        op.drop_table(table)
    for table in ("known_stores", "idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)
