"""customer messages: consent, templates sent through an outbox of their own, delivery status

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=True, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("notice_key", sa.String(200), nullable=False),
        sa.Column("about", sa.String(64), nullable=True, index=True),
        sa.Column("variables", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=True),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("link", sa.String(500), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fallback_from", sa.String(64), nullable=True),
        sa.Column("provider_message_id", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("notice_key", "channel", name="uq_messages_notice_channel"),
    )
    op.create_index("ix_messages_due", "messages", ["next_attempt_at"], postgresql_where=sa.text("status = 'queued'"))
    op.create_index("ix_messages_receipts", "messages", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'sent' AND channel = 'sms'"))
    op.create_index("ix_messages_sending", "messages", ["id"], postgresql_where=sa.text("status = 'sending'"))
    op.create_table(
        "message_attempts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("message_id", sa.String(64), nullable=False, index=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(100), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("provider_message_id", sa.String(100), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_by", sa.String(16), nullable=True),
    )
    op.create_table(
        "customer_consents",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("service", sa.Boolean, nullable=False),
        sa.Column("marketing", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_by_name", sa.String(200), nullable=True),
        sa.Column("updated_by_credential", sa.String(200), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("customer_consents")
    op.drop_table("message_attempts")
    op.drop_index("ix_messages_sending", table_name="messages")
    op.drop_index("ix_messages_receipts", table_name="messages")
    op.drop_index("ix_messages_due", table_name="messages")
    op.drop_table("messages")
