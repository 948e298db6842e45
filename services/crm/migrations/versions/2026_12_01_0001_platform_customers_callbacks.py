"""platform tables (outbox, inbox, idempotency, store registry); customers, vehicles,
bookings and repair orders; callbacks and surveys; complaints; reminders; churn; reports; job runs

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


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
        "customers",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("club_member", sa.Boolean, nullable=False),
        sa.Column("club_since", sa.Date, nullable=True),
        sa.Column("contact_preferences", sa.JSON, nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_visit_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("name_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("store_id", "phone", name="uq_customers_store_phone"),
    )
    op.create_table(
        "vehicles",
        sa.Column("vin", sa.String(32), primary_key=True),
        sa.Column("plate", sa.String(32), nullable=True),
        sa.Column("model", sa.String(100), nullable=True),
        sa.Column("sold_at", sa.Date, nullable=True),
        sa.Column("home_store_id", sa.String(64), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("owner_phone", sa.String(32), nullable=False),
        sa.Column("owner_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "vehicle_owners",
        _id(),
        sa.Column("vin", sa.String(32), nullable=False, index=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "repair_orders",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("vin", sa.String(32), nullable=True, index=True),
        sa.Column("customer_id", sa.String(64), nullable=True, index=True),
        sa.Column("advisor_id", sa.String(64), nullable=True),
        sa.Column("advisor_name", sa.String(200), nullable=True),
        sa.Column("mileage_km", sa.Integer, nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("operations", sa.JSON, nullable=False),
        sa.Column("parts", sa.JSON, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("customer_due_fen", sa.BigInteger, nullable=False),
        sa.Column("totals", sa.JSON, nullable=False),
    )
    op.create_table(
        "appointments",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("vin", sa.String(32), nullable=False, index=True),
        sa.Column("service_type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "callbacks",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("origin_key", sa.String(160), nullable=False, unique=True),
        sa.Column("repair_order_id", sa.String(64), nullable=True, index=True),
        sa.Column("repair_order_number", sa.String(64), nullable=True),
        sa.Column("complaint_id", sa.String(64), nullable=True, index=True),
        sa.Column("customer_id", sa.String(64), nullable=True, index=True),
        sa.Column("vin", sa.String(32), nullable=True),
        sa.Column("advisor_id", sa.String(64), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("unanswered", sa.Integer, nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(64), nullable=True),
        sa.Column("on_time", sa.Boolean, nullable=True),
        sa.Column("unreachable_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "callback_attempts",
        _id(),
        sa.Column("callback_id", sa.String(64), nullable=False, index=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("made_by", sa.String(64), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "surveys",
        _id(),
        sa.Column("callback_id", sa.String(64), nullable=False, unique=True),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("repair_order_id", sa.String(64), nullable=True),
        sa.Column("complaint_id", sa.String(64), nullable=True),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("overall", sa.Integer, nullable=True),
        sa.Column("verbatim", sa.Text, nullable=True),
        sa.Column("low_answers", sa.JSON, nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )

    op.create_table(
        "complaints",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("origin_key", sa.String(160), nullable=True, unique=True),
        sa.Column("callback_id", sa.String(64), nullable=True, index=True),
        sa.Column("customer_id", sa.String(64), nullable=True, index=True),
        sa.Column("repair_order_id", sa.String(64), nullable=True),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("verbatim", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated", sa.Boolean, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(64), nullable=True),
        sa.Column("resolution", sa.Text, nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolutions", sa.Integer, nullable=False),
        sa.Column("reopened", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "complaint_escalations",
        _id(),
        sa.Column("complaint_id", sa.String(64), nullable=False, index=True),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("complaint_id", "reason", name="uq_complaint_escalations_reason"),
    )
    op.create_table(
        "complaint_steps",
        _id(),
        sa.Column("complaint_id", sa.String(64), nullable=False, index=True),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )

    op.create_table(
        "reminders",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("vin", sa.String(32), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("milestone", sa.String(160), nullable=False),
        sa.Column("op_code", sa.String(32), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False, index=True),
        sa.Column("due_km", sa.Integer, nullable=False),
        sa.Column("projected_km", sa.Integer, nullable=False),
        sa.Column("km_per_month", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("sent_by", sa.String(64), nullable=True),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("converted_by", sa.String(100), nullable=True),
        sa.Column("converted_store_id", sa.String(64), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("vin", "milestone", name="uq_reminders_vin_milestone"),
    )
    op.create_table(
        "churn_episodes",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("open_key", sa.String(64), nullable=True, unique=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("last_visit_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("at_risk_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lost_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(100), nullable=True),
    )
    op.create_table(
        "reports",
        _id(),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("generated_by", sa.String(64), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.UniqueConstraint("store_id", "kind", "period", name="uq_reports_store_period"),
    )
    op.create_table(
        "job_runs",
        _id(),
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("run_date", sa.Date, nullable=False),
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("first_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_trigger", sa.String(16), nullable=False),
        sa.Column("last_run_by", sa.String(64), nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.UniqueConstraint("job", "store_id", "run_date", name="uq_job_runs_day"),
    )


def downgrade() -> None:
    for table in ("job_runs", "reports", "churn_episodes", "reminders", "complaint_steps", "complaint_escalations",
                  "complaints", "surveys", "callback_attempts", "callbacks", "appointments", "repair_orders",
                  "vehicle_owners", "vehicles", "customers"):
        op.drop_table(table)
    for table in ("known_stores", "idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)
