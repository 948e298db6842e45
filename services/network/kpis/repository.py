from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.network.kpis.models import KpiDaily, KpiEntity, KpiFact, KpiPersonDaily
from services.network.stores.models import Store

_KPI_DAILY = table_of(KpiDaily)
_KPI_PERSON_DAILY = table_of(KpiPersonDaily)
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
