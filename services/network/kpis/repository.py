from collections.abc import Iterable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.network.kpis.models import KpiDaily, KpiEntity, KpiFact, KpiPersonDaily, KpiRebuildJob
from services.network.stores.models import Store

_KPI_DAILY = table_of(KpiDaily)
_KPI_PERSON_DAILY = table_of(KpiPersonDaily)
_JOBS = table_of(KpiRebuildJob)
# The projection's tables, in the order a rebuild writes them.
PROJECTION = (KpiEntity, KpiFact, KpiDaily, KpiPersonDaily)
DEFAULT_ZONE = "Asia/Shanghai"


async def entity_for_update(session: AsyncSession, key: str) -> KpiEntity | None:
    return (await session.exec(select(KpiEntity).where(KpiEntity.key == key).with_for_update())).first()


async def facts_of(session: AsyncSession, entity_key: str) -> list[KpiFact]:
    return list((await session.exec(select(KpiFact).where(KpiFact.entity_key == entity_key))).all())


async def store_zone(session: AsyncSession, store_id: str) -> ZoneInfo:
    zone = (await session.exec(select(Store.timezone).where(Store.id == store_id))).first()
    return ZoneInfo(zone or DEFAULT_ZONE)


async def add_to_daily(session: AsyncSession, store_id: str, day: date, metric: str, amount: int) -> None:
    """value += amount in one statement, so projectors in several processes never lose an update."""
    table = _KPI_DAILY
    stmt = pg_insert(table).values(store_id=store_id, day=day, metric=metric, value=amount)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.store_id, table.c.day, table.c.metric],
                                      set_={"value": table.c.value + stmt.excluded.value})
    await session.exec(stmt)


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


async def sums(session: AsyncSession, metrics: tuple[str, ...], *, until: date, since: date | None = None,
               store_ids: list[str] | None = None) -> dict[str, dict[str, int]]:
    """store id -> metric -> Σ value over the days in [since, until] (since None: from the start)."""
    stmt = (select(KpiDaily.store_id, KpiDaily.metric, sa.func.sum(KpiDaily.value))
            .where(col(KpiDaily.metric).in_(metrics), KpiDaily.day <= until)
            .group_by(KpiDaily.store_id, KpiDaily.metric))
    if since is not None:
        stmt = stmt.where(KpiDaily.day >= since)
    if store_ids is not None:
        stmt = stmt.where(col(KpiDaily.store_id).in_(store_ids))
    out: dict[str, dict[str, int]] = {}
    for store_id, metric, total in (await session.exec(stmt)).all():
        out.setdefault(store_id, {})[metric] = int(total or 0)
    return out


async def stores(session: AsyncSession, only: str | None = None) -> list[Store]:
    stmt = select(Store).order_by(Store.code)
    if only is not None:
        stmt = stmt.where(Store.id == only)
    return list((await session.exec(stmt)).all())


async def reset(session: AsyncSession) -> None:
    for model in (KpiDaily, KpiPersonDaily, KpiFact, KpiEntity):
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
    insert of a million facts would take minutes (bench/kpi_rebuild.py)."""
    for model in PROJECTION:
        await session.exec(delete(model))
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    for model in PROJECTION:
        columns, records = rows[model]
        await driver.copy_records_to_table(table_of(model).name, records=records, columns=columns)


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

