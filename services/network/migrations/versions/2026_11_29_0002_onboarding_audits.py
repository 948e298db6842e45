"""outlet applications, onboarding checklist, audits and corrective actions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outlet_applications",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("company_name", sa.String(200), nullable=False),
        sa.Column("license_no", sa.String(64), nullable=False, index=True),
        sa.Column("contact", sa.JSON, nullable=False),
        sa.Column("address", sa.JSON, nullable=False),
        sa.Column("bays", sa.Integer, nullable=False),
        sa.Column("technicians", sa.Integer, nullable=False),
        sa.Column("certifications", sa.JSON, nullable=False),
        sa.Column("requested_services", sa.JSON, nullable=False),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("client_address", sa.String(200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String, nullable=True),
        sa.Column("review_reason", sa.String, nullable=True),
        sa.Column("store_id", sa.String, sa.ForeignKey("stores.id"), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "onboarding_items",
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), primary_key=True),
        sa.Column("item_code", sa.String(64), primary_key=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_by", sa.String, nullable=False),
        sa.Column("note", sa.String, nullable=True),
    )
    op.create_table(
        "audits",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("audited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("auditor", sa.String, nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("score_centi", sa.Integer, nullable=False),
        sa.Column("pass_mark", sa.Integer, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("note", sa.String, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audits_store", "audits", ["store_id", "id"])
    op.create_table(
        "corrective_actions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("audit_id", sa.String(64), sa.ForeignKey("audits.id"), nullable=False, index=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("item_code", sa.String, nullable=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String, nullable=True),
        sa.Column("resolution", sa.String, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_corrective_actions_store", "corrective_actions", ["store_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_corrective_actions_store", "corrective_actions")
    op.drop_table("corrective_actions")
    op.drop_index("ix_audits_store", "audits")
    op.drop_table("audits")
    op.drop_table("onboarding_items")
    op.drop_table("outlet_applications")
