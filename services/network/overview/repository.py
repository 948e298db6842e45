from collections.abc import Iterable
from dataclasses import dataclass
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



async def store_zones(session: AsyncSession, region_ids: set[str] | None) -> list[str]:
    stmt = select(Store.timezone).distinct()
    if region_ids is not None:
        stmt = stmt.where(col(Store.region_id).in_(region_ids))
    return list((await session.exec(stmt)).all())


@dataclass(frozen=True)
class MeasureSpec:
    """What the database needs of a measure: whether it adds up, its counters (the last one
    a rate's weight) and whether its actual is a margin (first − second, when the third)."""

    measure: str
    additive: bool
    metrics: tuple[str, ...]
    margin: bool


@dataclass(frozen=True)
class GroupSums:
    """One measure over one group's stores (the network, or a region), both over the stores with
    a month target for it (`t_`) and over all of them (`all_`)."""

    network: bool
    region_id: str | None  # None with network False: the stores in no region
    measure: str
    targeted: int
    target_sum: int  # Σ target
    weighted: int  # Σ target × weight (rates)
    weight: int  # Σ weight of the stores with a target
    t_counters: tuple[int, int, int]  # Σ of the measure's counters, in its order
    all_counters: tuple[int, int, int]
    t_projected: int  # Σ of each store's projection (additive measures)
    all_projected: int
    t_unprojected: bool  # some store has no projection (no value yet, or its month not begun)
    all_unprojected: bool
    t_elapsed: bool  # some store's month has begun
    all_elapsed: bool


# Per store and measure: its month target (the split, else the year pro rata for counts and
# money, the year's for a rate), its counters and its projection at its own pace; then summed
# for the network and each region at once (GROUPING SETS). Rounding is numeric round(), halves
# away from zero, as policy.divide.
_ATTAINMENT_SQL = """
WITH zone AS (SELECT * FROM unnest(CAST(:zones AS text[]), CAST(:elapsed AS int[])) AS z(timezone, elapsed)),
scope AS (
    SELECT s.id, s.region_id, zone.elapsed FROM stores s JOIN zone ON zone.timezone = s.timezone
    WHERE CAST(:regions AS text[]) IS NULL OR s.region_id = ANY(CAST(:regions AS text[]))),
measure AS (
    SELECT * FROM unnest(CAST(:names AS text[]), CAST(:additive AS bool[]), CAST(:margin AS bool[]),
                         CAST(:m1 AS text[]), CAST(:m2 AS text[]), CAST(:m3 AS text[]), CAST(:mw AS text[]))
        AS m(measure, additive, margin, m1, m2, m3, mw)),
counter AS (
    SELECT store_id, metric, sum(value) AS value FROM kpi_daily
    WHERE day >= :since AND day <= :until AND metric = ANY(CAST(:metrics AS text[]))
      AND store_id IN (SELECT id FROM scope)
    GROUP BY store_id, metric),
figure AS (
    SELECT scope.region_id, scope.elapsed, m.measure, m.additive,
           COALESCE(split.value, CASE WHEN m.additive THEN round(CAST(annual.value AS numeric) * :days / :year_days)
                                      ELSE annual.value END) AS target,
           COALESCE(k1.value, 0) AS c1, COALESCE(k2.value, 0) AS c2, COALESCE(k3.value, 0) AS c3,
           COALESCE(kw.value, 0) AS w,
           CASE WHEN m.margin AND COALESCE(k3.value, 0) = 0 THEN NULL
                WHEN m.margin THEN COALESCE(k1.value, 0) - COALESCE(k2.value, 0)
                ELSE COALESCE(k1.value, 0) END AS value
    FROM scope CROSS JOIN measure m
    LEFT JOIN store_targets annual ON annual.store_id = scope.id AND annual.year = :year AND annual.measure = m.measure
    LEFT JOIN store_month_targets split ON split.store_id = scope.id AND split.year = :year
                                        AND split.month = :month AND split.measure = m.measure
    LEFT JOIN counter k1 ON k1.store_id = scope.id AND k1.metric = m.m1
    LEFT JOIN counter k2 ON k2.store_id = scope.id AND k2.metric = m.m2
    LEFT JOIN counter k3 ON k3.store_id = scope.id AND k3.metric = m.m3
    LEFT JOIN counter kw ON kw.store_id = scope.id AND kw.metric = m.mw),
projected AS (
    SELECT *, CASE WHEN value IS NULL OR elapsed = 0 THEN NULL WHEN elapsed >= :days THEN value
                   ELSE round(CAST(value AS numeric) * :days / elapsed) END AS ahead
    FROM figure)
SELECT CASE WHEN grouping(region_id) = 1 THEN NULL ELSE region_id END AS group_region, grouping(region_id) AS whole,
       measure, count(target) AS targeted, COALESCE(sum(target), 0) AS target_sum,
       COALESCE(sum(target * w), 0) AS weighted, COALESCE(sum(w) FILTER (WHERE target IS NOT NULL), 0) AS weight,
       COALESCE(sum(c1) FILTER (WHERE target IS NOT NULL), 0), COALESCE(sum(c2) FILTER (WHERE target IS NOT NULL), 0),
       COALESCE(sum(c3) FILTER (WHERE target IS NOT NULL), 0), sum(c1), sum(c2), sum(c3),
       COALESCE(sum(ahead) FILTER (WHERE target IS NOT NULL), 0), COALESCE(sum(ahead), 0),
       COALESCE(bool_or(ahead IS NULL) FILTER (WHERE target IS NOT NULL), false), bool_or(ahead IS NULL),
       COALESCE(bool_or(elapsed > 0) FILTER (WHERE target IS NOT NULL), false), bool_or(elapsed > 0)
FROM projected GROUP BY GROUPING SETS ((measure), (measure, region_id))
"""


async def attainment_sums(session: AsyncSession, specs: list[MeasureSpec], *, year: int, month: int, days: int,
                          year_days: int, elapsed: dict[str, int], region_ids: set[str] | None) -> list[GroupSums]:
    """Each measure's sums for the network (the stores in scope) and each region holding any of them."""
    def nth(spec: MeasureSpec, i: int) -> str | None:
        return spec.metrics[i] if i < len(spec.metrics) else None
    params = {
        "zones": list(elapsed), "elapsed": list(elapsed.values()),
        "regions": sorted(region_ids) if region_ids is not None else None,
        "names": [s.measure for s in specs], "additive": [s.additive for s in specs],
        "margin": [s.margin for s in specs], "m1": [nth(s, 0) for s in specs], "m2": [nth(s, 1) for s in specs],
        "m3": [nth(s, 2) for s in specs], "mw": [None if s.additive else s.metrics[-1] for s in specs],
        "metrics": sorted({m for s in specs for m in s.metrics}), "since": date(year, month, 1),
        "until": date(year, month, days), "year": year, "month": month, "days": days, "year_days": year_days}
    rows = (await (await session.connection()).execute(sa.text(_ATTAINMENT_SQL), params)).all()
    out = []
    for row in rows:
        region, whole, measure, targeted, target_sum, weighted, weight, *sums = row
        out.append(GroupSums(
            network=bool(whole), region_id=None if whole else region, measure=measure, targeted=int(targeted),
            target_sum=int(target_sum),
            weighted=int(weighted), weight=int(weight), t_counters=(int(sums[0]), int(sums[1]), int(sums[2])),
            all_counters=(int(sums[3]), int(sums[4]), int(sums[5])), t_projected=int(sums[6]),
            all_projected=int(sums[7]), t_unprojected=bool(sums[8]), all_unprojected=bool(sums[9]),
            t_elapsed=bool(sums[10]), all_elapsed=bool(sums[11])))
    return out


async def region_store_counts(session: AsyncSession, region_ids: list[str]) -> dict[str, int]:
    """region id -> the stores in it now."""
    stmt = (select(Store.region_id, func.count()).where(col(Store.region_id).in_(region_ids))
            .group_by(Store.region_id))
    return {region_id: int(n) for region_id, n in (await session.exec(stmt)).all() if region_id is not None}
