"""outlet webhooks and their deliveries

An outlet's endpoints (URL, event types, signing secret, pause state) and the deliveries
queued for them, each event once per endpoint, claimed by the deliverer when due.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(200), nullable=False, server_default=""),
        sa.Column("event_types", sa.JSON, nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=True),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("retry_at", moment, nullable=True),
        sa.Column("last_success_at", moment, nullable=True),
        sa.Column("last_failure_at", moment, nullable=True),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_by_name", sa.String(200), nullable=True),
        sa.Column("updated_at", moment, nullable=False),
        sa.Column("secret_rotated_at", moment, nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("ix_webhook_endpoints_store_status", "webhook_endpoints", ["store_id", "status"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=False), nullable=False, unique=True),
        sa.Column("endpoint_id", sa.String(64), sa.ForeignKey("webhook_endpoints.id"), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", moment, nullable=False),
        sa.Column("last_attempt_at", moment, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("redeliveries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", moment, nullable=False),
        sa.Column("queued_at", moment, nullable=False),
        sa.Column("delivered_at", moment, nullable=True),
        sa.Column("failed_at", moment, nullable=True),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'queued'"))
    op.create_index("ix_webhook_deliveries_aggregate", "webhook_deliveries", ["endpoint_id", "subject", "seq"],
                    postgresql_where=sa.text("status = 'queued'"))
    op.create_index("ix_webhook_deliveries_endpoint_seq", "webhook_deliveries", ["endpoint_id", "seq"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
