"""platform tables (outbox, inbox, idempotency, store registry) and the probe's own tables

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

from services.common.db import UTCDateTime
from services.common.migrations import create_platform_tables, drop_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    create_platform_tables()
    # One row per application, deliberately not unique on event_id: a second application
    # of the same event must show up as a second row, not be hidden by a constraint.
    op.create_table(
        "probe_applied",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, index=True),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("applied_at", UTCDateTime, nullable=False),
    )
    # What the HTTP tests of the common package write (idempotency, pagination, errors).
    op.create_table(
        "probe_notes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False, index=True),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("probe_notes")
    op.drop_table("probe_applied")
    drop_platform_tables()
