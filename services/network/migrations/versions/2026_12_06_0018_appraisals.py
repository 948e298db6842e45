"""monthly appraisal figures per person

The figures are KPI facts credited to people (kpi_person_daily, new metrics only); the
appraisal reads a store's people over a month's days, which this index serves.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_kpi_person_daily_store_day", "kpi_person_daily", ["store_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_kpi_person_daily_store_day", table_name="kpi_person_daily")
