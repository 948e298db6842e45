from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.network.kpis.models import KpiDaily, KpiEntity, KpiFact, KpiMonthly, KpiPersonDaily, KpiRebuildJob
from services.network.stores.models import Store

_KPI_DAILY = table_of(KpiDaily)
_KPI_MONTHLY = table_of(KpiMonthly)
_KPI_PERSON_DAILY = table_of(KpiPersonDaily)
_JOBS = table_of(KpiRebuildJob)
# The projection's tables, in the order a rebuild writes them; kpi_monthly last, as it is
# summed from kpi_daily.
PROJECTION = (KpiEntity, KpiFact, KpiDaily, KpiPersonDaily, KpiMonthly)
DEFAULT_ZONE = "Asia/Shanghai"


async def entity_for_update(session: AsyncSession, key: str) -> KpiEntity | None:
    return (await session.exec(select(KpiEntity).where(KpiEntity.key == key).with_for_update())).first()


async def facts_of(session: AsyncSession, entity_key: str) -> list[KpiFact]:
    return list((await session.exec(select(KpiFact).where(KpiFact.entity_key == entity_key))).all())


async def store_zone(session: AsyncSession, store_id: str) -> ZoneInfo:
    zone = (await session.exec(select(Store.timezone).where(Store.id == store_id))).first()
    return ZoneInfo(zone or DEFAULT_ZONE)


async def add_to_daily(session: AsyncSession, store_id: str, day: date, metric: str, amount: int) -> None:
    """value += amount in one statement each, so projectors in several processes never lose
    an update; the day's month row moves by the same amount in the same transaction, which
    keeps every kpi_monthly row the exact sum of its month's kpi_daily rows."""
    table = _KPI_DAILY
    stmt = pg_insert(table).values(store_id=store_id, day=day, metric=metric, value=amount)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.store_id, table.c.day, table.c.metric],
                                      set_={"value": table.c.value + stmt.excluded.value})
    await session.exec(stmt)
    month = _KPI_MONTHLY
    up = pg_insert(month).values(store_id=store_id, month=day.replace(day=1), metric=metric, value=amount)
    up = up.on_conflict_do_update(index_elements=[month.c.store_id, month.c.month, month.c.metric],
                                  set_={"value": month.c.value + up.excluded.value})
    await session.exec(up)


async def add_to_person_daily(session: AsyncSession, store_id: str, person_id: str, day: date, metric: str,
                              amount: int) -> None:
    table = _KPI_PERSON_DAILY
    stmt = pg_insert(table).values(store_id=store_id, person_id=person_id, day=day, metric=metric, value=amount)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.store_id, table.c.person_id, table.c.day, table.c.metric],
                                      set_={"value": table.c.value + stmt.excluded.value})
    await session.exec(stmt)


async def person_sums(session: AsyncSession, metrics: tuple[str, ...], *, since: date, until: date,
                      store_ids: list[str] | None = None, person_id: str | None = None
                      ) -> dict[tuple[str, str], dict[str, int]]:
    """(store id, person id) -> metric -> Σ value over the days in [since, until]."""
    stmt = (select(KpiPersonDaily.store_id, KpiPersonDaily.person_id, KpiPersonDaily.metric,
                   sa.func.sum(KpiPersonDaily.value))
            .where(col(KpiPersonDaily.metric).in_(metrics), KpiPersonDaily.day >= since, KpiPersonDaily.day <= until)
            .group_by(KpiPersonDaily.store_id, KpiPersonDaily.person_id, KpiPersonDaily.metric))
    if store_ids is not None:
        stmt = stmt.where(col(KpiPersonDaily.store_id).in_(store_ids))
    if person_id is not None:
        stmt = stmt.where(KpiPersonDaily.person_id == person_id)
    out: dict[tuple[str, str], dict[str, int]] = {}
    for store_id, person, metric, total in (await session.exec(stmt)).all():
        out.setdefault((store_id, person), {})[metric] = int(total or 0)
    return out


def whole_months(since: date | None, until: date) -> tuple[date | None, date]:
    """The months lying wholly inside [since, until], as [first, end) of their 1sts (first
    None: from the start); first >= end when there is none."""
    first = since if since is None or since.day == 1 else _next_month(since)
    return first, (until + timedelta(days=1)).replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


async def sums(session: AsyncSession, metrics: tuple[str, ...], *, until: date, since: date | None = None,
               store_ids: list[str] | None = None) -> dict[str, dict[str, int]]:
    """store id -> metric -> Σ value over the days in [since, until] (since None: from the
    start; store_ids None: every store, with no list of them sent). The months wholly in
    the window are read from kpi_monthly, the days at its ends from kpi_daily: the same sums
    as over the days alone, as each month row is the sum of its day rows."""
    first, end = whole_months(since, until)

    def days(low: date, high: date) -> Any:
        return _only(select(KpiDaily.store_id, KpiDaily.metric, KpiDaily.value).where(
            col(KpiDaily.metric).in_(metrics), KpiDaily.day >= low, KpiDaily.day <= high), KpiDaily, store_ids)

    if since is not None and first is not None and first >= end:
        parts = [days(since, until)]
    else:
        months = select(KpiMonthly.store_id, KpiMonthly.metric, KpiMonthly.value).where(
            col(KpiMonthly.metric).in_(metrics), KpiMonthly.month < end)
        if first is not None:
            months = months.where(KpiMonthly.month >= first)
        # Each edge its own range, so each is one index range scan (an OR of two may not be).
        parts = [_only(months, KpiMonthly, store_ids)]
        if since is not None and first is not None and since < first:
            parts.append(days(since, first - timedelta(days=1)))
        if end <= until:
            parts.append(days(end, until))
    rows = sa.union_all(*parts).subquery()
    stmt = (select(rows.c.store_id, rows.c.metric, sa.func.sum(rows.c.value))
            .group_by(rows.c.store_id, rows.c.metric))
    out: dict[str, dict[str, int]] = {}
    for store_id, metric, total in (await session.exec(stmt)).all():
        out.setdefault(store_id, {})[metric] = int(total or 0)
    return out


def _only(stmt: Any, model: type[KpiDaily] | type[KpiMonthly], store_ids: list[str] | None) -> Any:
    return stmt if store_ids is None else stmt.where(col(model.store_id).in_(store_ids))


async def stores(session: AsyncSession, only: str | None = None) -> list[Store]:
    stmt = select(Store).order_by(Store.code)
    if only is not None:
        stmt = stmt.where(Store.id == only)
    return list((await session.exec(stmt)).all())


async def reset(session: AsyncSession) -> None:
    for model in (KpiMonthly, KpiDaily, KpiPersonDaily, KpiFact, KpiEntity):
        await session.exec(delete(model))


async def store_zones(session: AsyncSession) -> dict[str, str]:
    """Every store's time zone name, by store id."""
    return {sid: zone for sid, zone in (await session.exec(select(Store.id, Store.timezone))).all()}


async def lock_projection(session: AsyncSession) -> None:
    """Until the transaction ends, nobody else writes the projection (the live consumer
    waits); readers go on reading what was committed before."""
    names = ", ".join(table_of(model).name for model in PROJECTION)
    await (await session.connection()).execute(sa.text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))


async def replace_projection(session: AsyncSession,
                             rows: dict[type, tuple[list[str], Iterable[tuple[Any, ...]]]]) -> None:
    """The projection's tables hold `rows` (model -> column names and records) and nothing
    else, in the caller's transaction (see lock_projection). COPY through asyncpg: an ORM
    insert of a million facts would take minutes (bench/kpi_rebuild.py). kpi_monthly is
    then summed from the new kpi_daily in the server, not passed in."""
    for model in PROJECTION:
        await session.exec(delete(model))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    for model in PROJECTION:
        if model is KpiMonthly:
            continue
        columns, records = rows[model]
        await driver.copy_records_to_table(table_of(model).name, records=records, columns=columns)
    await roll_up_months(session)


async def roll_up_months(session: AsyncSession) -> None:
    """kpi_monthly from kpi_daily, for an empty kpi_monthly (after a rebuild's COPY)."""
    await (await session.connection()).execute(sa.text("""
        INSERT INTO kpi_monthly (store_id, month, metric, value)
        SELECT store_id, date_trunc('month', day)::date, metric, sum(value)
        FROM kpi_daily GROUP BY 1, 2, 3"""))


async def open_job(session: AsyncSession, job: KpiRebuildJob) -> bool:
    """Stores `job` as the one active job; False (nothing written) when another is active."""
    values = {c.name: getattr(job, c.name) for c in _JOBS.columns}
    stmt = pg_insert(_JOBS).values(**values).on_conflict_do_nothing().returning(_JOBS.c.id)
    return (await session.exec(stmt)).first() is not None


async def active_job(session: AsyncSession) -> KpiRebuildJob | None:
    return (await session.exec(select(KpiRebuildJob).where(col(KpiRebuildJob.active).is_(True)))).first()


async def job(session: AsyncSession, job_id: str) -> KpiRebuildJob | None:
    return await session.get(KpiRebuildJob, job_id)


async def jobs(session: AsyncSession, limit: int) -> list[KpiRebuildJob]:
    stmt = select(KpiRebuildJob).order_by(col(KpiRebuildJob.requested_at).desc()).limit(limit)
    return list((await session.exec(stmt)).all())


async def update_job(session: AsyncSession, job_id: str, *, only_if_active: bool = False, **values: Any) -> bool:
    """Sets `values` on the job; with `only_if_active`, only while it is still queued or
    running (a job another process has failed meanwhile stays failed)."""
    stmt = sa.update(_JOBS).where(_JOBS.c.id == job_id)
    if only_if_active:
        stmt = stmt.where(_JOBS.c.active.is_(True))
    result = await session.exec(stmt.values(**values).returning(_JOBS.c.id))
    return result.first() is not None

