"""KPI month rollups

kpi_monthly holds, per store, local month (its 1st) and metric, the sum of the store's
kpi_daily rows of that month, so a long window sums months instead of days. Filled here
from the day rows there are; kept in step with them from then on by the same writes.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-09
"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_monthly",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("store_id", "month", "metric", name="pk_kpi_monthly"),
    )
    op.execute("""
        INSERT INTO kpi_monthly (store_id, month, metric, value)
        SELECT store_id, date_trunc('month', day)::date, metric, sum(value)
        FROM kpi_daily GROUP BY 1, 2, 3""")
    op.create_index("ix_kpi_monthly_metric_month", "kpi_monthly", ["metric", "month"])


def downgrade() -> None:
    op.drop_index("ix_kpi_monthly_metric_month", "kpi_monthly")
    op.drop_table("kpi_monthly")
