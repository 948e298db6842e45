from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel

BigInt = sa.BigInteger()


class KpiEntity(NetworkModel, table=True):
    """What the events so far say about one thing the KPIs count (a repair order, an
    appointment, a callback, ...): each field with the time and id of the event that set
    it, so applying events twice or out of order ends in the same state."""

    __tablename__ = "kpi_entities"

    key: str = Field(sa_column=sa.Column(sa.String(100), primary_key=True))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    state: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    updated_at: datetime = Field(sa_type=UTCDateTime)


class KpiFact(NetworkModel, table=True):
    """One counted fact, derived from an entity: metric, store, local day and amount."""

    __tablename__ = "kpi_facts"
    __table_args__ = (sa.Index("ix_kpi_facts_entity", "entity_key"),)

    key: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    entity_key: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    day: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    metric: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    value: int = Field(sa_column=sa.Column(BigInt, nullable=False))
    # The person the fact is credited to (the advisor of a repair order), where one is.
    person_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))


class KpiDaily(NetworkModel, table=True):
    """Per store, per local day, per metric: the sum of its facts (kept in step with them)."""

    __tablename__ = "kpi_daily"
    __table_args__ = (
        sa.PrimaryKeyConstraint("store_id", "day", "metric", name="pk_kpi_daily"),
        sa.Index("ix_kpi_daily_metric_day", "metric", "day"),
    )

    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    day: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    metric: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    value: int = Field(sa_column=sa.Column(BigInt, nullable=False))


class KpiMonthly(NetworkModel, table=True):
    """Per store, local month (its 1st) and metric: the sum of the store's kpi_daily rows of
    that month, written in the same transaction as they are. A window of a year then reads
    twelve rows per store and metric instead of 365 (services/network/kpis/repository.sums)."""

    __tablename__ = "kpi_monthly"
    __table_args__ = (
        sa.PrimaryKeyConstraint("store_id", "month", "metric", name="pk_kpi_monthly"),
        sa.Index("ix_kpi_monthly_metric_month", "metric", "month"),
    )

    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    month: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    metric: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    value: int = Field(sa_column=sa.Column(BigInt, nullable=False))


class KpiPersonDaily(NetworkModel, table=True):
    """Per store, person, local day and metric: the sum of the facts credited to the person
    (kept in step with them, as kpi_daily is with all of a store's facts)."""

    __tablename__ = "kpi_person_daily"
    __table_args__ = (
        sa.PrimaryKeyConstraint("store_id", "person_id", "day", "metric", name="pk_kpi_person_daily"),
        sa.Index("ix_kpi_person_daily_person_day", "person_id", "day"),
        # The month's appraisal reads a store's (or every store's) people over a range of days.
        sa.Index("ix_kpi_person_daily_store_day", "store_id", "day"),
    )

    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    person_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    day: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    metric: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    value: int = Field(sa_column=sa.Column(BigInt, nullable=False))


class KpiRebuildJob(NetworkModel, table=True):
    """One rebuild of the KPI projections from the topics, run in the background by the
    process that accepted it (services/network/kpis/jobs.py)."""

    __tablename__ = "kpi_rebuild_jobs"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    state: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    # True while queued or running, NULL once over: its unique index lets one job at a time
    # hold it, across every process on the database.
    active: bool | None = Field(default=None, sa_column=sa.Column(sa.Boolean, nullable=True, unique=True))
    requested_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    requested_at: datetime = Field(sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Written every few seconds by the process running it: a job whose heartbeat stopped
    # was cut off (its process died) and is failed by whoever looks next.
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    runner: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    events_total: int = Field(default=0, sa_column=sa.Column(BigInt, nullable=False))
    events_read: int = Field(default=0, sa_column=sa.Column(BigInt, nullable=False))
    events_applied: int = Field(default=0, sa_column=sa.Column(BigInt, nullable=False))
    events_skipped: int = Field(default=0, sa_column=sa.Column(BigInt, nullable=False))
    entities: int = Field(default=0, sa_column=sa.Column(BigInt, nullable=False))
    seconds: float | None = Field(default=None, sa_column=sa.Column(sa.Float, nullable=True))  # wall time run so far
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
