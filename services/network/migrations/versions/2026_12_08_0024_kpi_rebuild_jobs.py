"""KPI rebuild jobs

A rebuild of the KPI projections runs in the background; each one is a row here, polled
by whoever started it. `active` is TRUE while a job is queued or running and NULL after:
its unique constraint admits one such job at a time.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "kpi_rebuild_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=True, unique=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", moment, nullable=False),
        sa.Column("started_at", moment, nullable=True),
        sa.Column("finished_at", moment, nullable=True),
        sa.Column("heartbeat_at", moment, nullable=True),
        sa.Column("runner", sa.String(200), nullable=False),
        sa.Column("events_total", sa.BigInteger, nullable=False),
        sa.Column("events_read", sa.BigInteger, nullable=False),
        sa.Column("events_applied", sa.BigInteger, nullable=False),
        sa.Column("events_skipped", sa.BigInteger, nullable=False),
        sa.Column("entities", sa.BigInteger, nullable=False),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("kpi_rebuild_jobs")
