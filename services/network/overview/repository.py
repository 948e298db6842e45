from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.network.applications.models import OutletApplication
from services.network.kpis.models import KpiDaily
from services.network.regions.models import Area, Region, RegionManager, StoreMembership
from services.network.stores.models import Store

Counters = dict[str, int]


def _stay_covers(day) -> sa.ColumnElement[bool]:
    return sa.and_(day >= StoreMembership.from_day,
                   sa.or_(col(StoreMembership.until_day).is_(None), day < StoreMembership.until_day))


async def regions(session: AsyncSession, only: Iterable[str] | None = None) -> list[Region]:
    stmt = select(Region).order_by(Region.code)
    if only is not None:
        stmt = stmt.where(col(Region.id).in_(list(only)))
    return list((await session.exec(stmt)).all())


async def areas(session: AsyncSession, region_ids: list[str]) -> list[Area]:
    stmt = select(Area).where(col(Area.region_id).in_(region_ids)).order_by(Area.code)
    return list((await session.exec(stmt)).all())


async def managed_region_ids(session: AsyncSession, person_id: str) -> set[str]:
    stmt = select(RegionManager.region_id).where(RegionManager.person_id == person_id)
    return set((await session.exec(stmt)).all())


async def area_sums(session: AsyncSession, metrics: tuple[str, ...], *, since: date | None, until: date
                    ) -> dict[str, Counters]:
    """area id -> metric -> Σ value. With `since`: over the days of [since, until] each store
    was in the area. Without: every day up to `until`, for the stores in the area on `until`
    (states at the window's end)."""
    if since is None:
        on_the_day = select(StoreMembership.store_id, StoreMembership.area_id).where(
            _stay_covers(sa.literal(until, sa.Date))).subquery()
        stmt = (select(on_the_day.c.area_id, KpiDaily.metric, func.sum(KpiDaily.value))
                .join(on_the_day, on_the_day.c.store_id == KpiDaily.store_id)
                .where(col(KpiDaily.metric).in_(metrics), KpiDaily.day <= until)
                .group_by(on_the_day.c.area_id, KpiDaily.metric))
    else:
        stmt = (select(StoreMembership.area_id, KpiDaily.metric, func.sum(KpiDaily.value))
                .join(StoreMembership, sa.and_(col(StoreMembership.store_id) == KpiDaily.store_id,
                                               _stay_covers(col(KpiDaily.day))))
                .where(col(KpiDaily.metric).in_(metrics), KpiDaily.day >= since, KpiDaily.day <= until)
                .group_by(StoreMembership.area_id, KpiDaily.metric))
    out: dict[str, Counters] = {}
    for area_id, metric, total in (await session.exec(stmt)).all():
        out.setdefault(area_id, {})[metric] = int(total or 0)
    return out


async def network_sums(session: AsyncSession, metrics: tuple[str, ...], *, since: date | None, until: date
                       ) -> Counters:
    stmt = (select(KpiDaily.metric, func.sum(KpiDaily.value))
            .where(col(KpiDaily.metric).in_(metrics), KpiDaily.day <= until).group_by(KpiDaily.metric))
    if since is not None:
        stmt = stmt.where(KpiDaily.day >= since)
    return {metric: int(total or 0) for metric, total in (await session.exec(stmt)).all()}


async def leaders(session: AsyncSession, metrics: tuple[str, ...], *, since: date, until: date, limit: int,
                  region_ids: set[str] | None) -> tuple[list[tuple[Store, int]], int, int]:
    """The `limit` stores with the largest Σ of `metrics` over the window (a region manager's:
    those in its regions now), and the number and Σ of the others with any."""
    per_store = (select(KpiDaily.store_id, func.sum(KpiDaily.value).label("total"))
                 .where(col(KpiDaily.metric).in_(metrics), KpiDaily.day >= since, KpiDaily.day <= until)
                 .group_by(KpiDaily.store_id))
    if region_ids is not None:
        per_store = per_store.where(col(KpiDaily.store_id).in_(
            select(Store.id).where(col(Store.region_id).in_(region_ids))))
    ranked = per_store.subquery()
    top = (select(Store, ranked.c.total).join(ranked, ranked.c.store_id == Store.id)
           .order_by(ranked.c.total.desc(), Store.code).limit(limit))
    rows = [(store, int(total or 0)) for store, total in (await session.exec(top)).all()]
    everyone = (await session.exec(select(func.count(), func.coalesce(func.sum(ranked.c.total), 0)))).one()
    count, total = int(everyone[0]), int(everyone[1])
    return rows, count - len(rows), total - sum(t for _, t in rows)


async def store_sums(session: AsyncSession, metrics: tuple[str, ...], *, since: date, until: date,
                     store_ids: list[str]) -> dict[str, Counters]:
    stmt = (select(KpiDaily.store_id, KpiDaily.metric, func.sum(KpiDaily.value))
            .where(col(KpiDaily.metric).in_(metrics), KpiDaily.day >= since, KpiDaily.day <= until,
                   col(KpiDaily.store_id).in_(store_ids))
            .group_by(KpiDaily.store_id, KpiDaily.metric))
    out: dict[str, Counters] = {}
    for store_id, metric, total in (await session.exec(stmt)).all():
        out.setdefault(store_id, {})[metric] = int(total or 0)
    return out


async def store_counts(session: AsyncSession) -> list[tuple[str | None, str, str, int]]:
    """(area id, kind, status, stores) as the stores stand now (a store's area names its region)."""
    stmt = (select(Store.area_id, Store.kind, Store.status, func.count())
            .group_by(Store.area_id, Store.kind, Store.status))
    return [(a, k, s, int(n)) for a, k, s, n in (await session.exec(stmt)).all()]


async def application_counts(session: AsyncSession) -> dict[str, int]:
    stmt = select(OutletApplication.status, func.count()).group_by(OutletApplication.status)
    return {status: int(n) for status, n in (await session.exec(stmt)).all()}


async def bucket_sums(session: AsyncSession, unit: str, metrics: tuple[str, ...], *, since: date, until: date,
                      store_id: str | None = None, region_ids: set[str] | None = None) -> dict[date, Counters]:
    """bucket's first day -> metric -> Σ value over [since, until]; for one store, or for the
    stores of some regions on the days they were there, or (neither) every store."""
    start = col(KpiDaily.day) if unit == "day" else sa.cast(func.date_trunc(unit, KpiDaily.day), sa.Date)
    stmt = (select(start, KpiDaily.metric, func.sum(KpiDaily.value))
            .where(col(KpiDaily.metric).in_(metrics), KpiDaily.day >= since, KpiDaily.day <= until)
            .group_by(start, KpiDaily.metric))
    if store_id is not None:
        stmt = stmt.where(KpiDaily.store_id == store_id)
    elif region_ids is not None:
        stmt = stmt.join(StoreMembership, sa.and_(col(StoreMembership.store_id) == KpiDaily.store_id,
                                                  _stay_covers(col(KpiDaily.day)))
                         ).where(col(StoreMembership.region_id).in_(region_ids))
    out: dict[date, Counters] = {}
    for day, metric, total in (await session.exec(stmt)).all():
        out.setdefault(day, {})[metric] = int(total or 0)
    return out



async def region_store_counts(session: AsyncSession, region_ids: list[str]) -> dict[str, int]:
    """region id -> the stores in it now."""
    stmt = (select(Store.region_id, func.count()).where(col(Store.region_id).in_(region_ids))
            .group_by(Store.region_id))
    return {region_id: int(n) for region_id, n in (await session.exec(stmt)).all() if region_id is not None}
