"""targets: each store's year from HQ, split into months and down to people

Targets are one row per measure (a Measure of services/network/targets/policy.py), so a
measure added later needs no new column. kpi_facts learns the person a fact is credited
to (the advisor of a repair order) and kpi_person_daily keeps those facts' daily sums per
person, as kpi_daily does per store. Facts counted before this revision carry no person
until their order's next event or a KPI rebuild re-derives them.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

BigInt = sa.BigInteger()


def _who() -> list[sa.Column]:
    return [sa.Column("set_by", sa.String(64), nullable=False),
            sa.Column("set_at", sa.DateTime(timezone=True), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "store_targets",
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("measure", sa.String(32), nullable=False),
        sa.Column("value", BigInt, nullable=False),
        *_who(),
        sa.PrimaryKeyConstraint("store_id", "year", "measure", name="pk_store_targets"),
    )
    op.create_table(
        "store_month_targets",
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("month", sa.SmallInteger, nullable=False),
        sa.Column("measure", sa.String(32), nullable=False),
        sa.Column("value", BigInt, nullable=False),
        *_who(),
        sa.PrimaryKeyConstraint("store_id", "year", "month", "measure", name="pk_store_month_targets"),
    )
    op.create_table(
        "person_month_targets",
        sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("month", sa.SmallInteger, nullable=False),
        sa.Column("person_id", sa.String(64), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("measure", sa.String(32), nullable=False),
        sa.Column("value", BigInt, nullable=False),
        *_who(),
        sa.PrimaryKeyConstraint("store_id", "year", "month", "person_id", "measure", name="pk_person_month_targets"),
    )
    op.create_index("ix_person_month_targets_person", "person_month_targets", ["person_id", "year", "month"])
    op.add_column("kpi_facts", sa.Column("person_id", sa.String(64), nullable=True))
    op.create_table(
        "kpi_person_daily",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", BigInt, nullable=False),
        sa.PrimaryKeyConstraint("store_id", "person_id", "day", "metric", name="pk_kpi_person_daily"),
    )
    op.create_index("ix_kpi_person_daily_person_day", "kpi_person_daily", ["person_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_kpi_person_daily_person_day", "kpi_person_daily")
    op.drop_table("kpi_person_daily")
    op.drop_column("kpi_facts", "person_id")
    op.drop_index("ix_person_month_targets_person", "person_month_targets")
    op.drop_table("person_month_targets")
    op.drop_table("store_month_targets")
    op.drop_table("store_targets")
