"""KPI projections: entities, facts and per-store daily figures

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "kpi_entities",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "kpi_facts",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("entity_key", sa.String(100), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", BigInt, nullable=False),
    )
    op.create_index("ix_kpi_facts_entity", "kpi_facts", ["entity_key"])
    op.create_table(
        "kpi_daily",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", BigInt, nullable=False),
        sa.PrimaryKeyConstraint("store_id", "day", "metric", name="pk_kpi_daily"),
    )
    op.create_index("ix_kpi_daily_metric_day", "kpi_daily", ["metric", "day"])


def downgrade() -> None:
    op.drop_index("ix_kpi_daily_metric_day", "kpi_daily")
    op.drop_table("kpi_daily")
    op.drop_index("ix_kpi_facts_entity", "kpi_facts")
    op.drop_table("kpi_facts")
    op.drop_table("kpi_entities")
