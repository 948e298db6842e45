import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.network.kpis import repository as kpis
from services.network.people.models import Assignment, Person
from services.network.stores.models import Store
from services.network.targets.models import PersonMonthTarget, StoreMonthTarget, StoreTarget


async def store(session: AsyncSession, store_id: str, *, for_update: bool = False) -> Store | None:
    stmt = select(Store).where(Store.id == store_id)
    if for_update:
        # One change of a store's targets at a time: a split is checked against what it splits.
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def stores(session: AsyncSession, only: str | None = None) -> list[Store]:
    return await kpis.stores(session, only)


async def annual(session: AsyncSession, store_id: str, year: int) -> list[StoreTarget]:
    stmt = select(StoreTarget).where(StoreTarget.store_id == store_id, StoreTarget.year == year)
    return list((await session.exec(stmt)).all())


async def annual_of(session: AsyncSession, store_ids: list[str], year: int) -> list[StoreTarget]:
    stmt = select(StoreTarget).where(col(StoreTarget.store_id).in_(store_ids), StoreTarget.year == year)
    return list((await session.exec(stmt)).all())


async def months(session: AsyncSession, store_ids: list[str], year: int, month: int | None = None
                 ) -> list[StoreMonthTarget]:
    stmt = select(StoreMonthTarget).where(col(StoreMonthTarget.store_id).in_(store_ids), StoreMonthTarget.year == year)
    if month is not None:
        stmt = stmt.where(StoreMonthTarget.month == month)
    return list((await session.exec(stmt.order_by(col(StoreMonthTarget.month)))).all())


async def shares(session: AsyncSession, *, year: int, month: int | None = None, store_ids: list[str] | None = None,
                 person_id: str | None = None) -> list[PersonMonthTarget]:
    stmt = select(PersonMonthTarget).where(PersonMonthTarget.year == year)
    if month is not None:
        stmt = stmt.where(PersonMonthTarget.month == month)
    if store_ids is not None:
        stmt = stmt.where(col(PersonMonthTarget.store_id).in_(store_ids))
    if person_id is not None:
        stmt = stmt.where(PersonMonthTarget.person_id == person_id)
    stmt = stmt.order_by(col(PersonMonthTarget.month), col(PersonMonthTarget.person_id))
    return list((await session.exec(stmt)).all())


async def replace(session: AsyncSession, model, rows: Iterable, **where) -> None:
    """Delete the model's rows matching `where` (column = value), then add `rows`."""
    stmt = delete(model)
    for name, value in where.items():
        stmt = stmt.where(col(getattr(model, name)) == value)
    await session.exec(stmt)
    session.add_all(list(rows))


async def drop_months(session: AsyncSession, store_id: str, year: int, measures: list[str]) -> None:
    await session.exec(delete(StoreMonthTarget).where(
        col(StoreMonthTarget.store_id) == store_id, col(StoreMonthTarget.year) == year,
        col(StoreMonthTarget.measure).in_(measures)))
    await drop_shares(session, store_id, year, [(m, None) for m in measures])


async def drop_shares(session: AsyncSession, store_id: str, year: int, which: list[tuple[str, int | None]]) -> None:
    """Drop people's shares of (measure, month), of every month where month is None."""
    for measure, month in which:
        stmt = delete(PersonMonthTarget).where(col(PersonMonthTarget.store_id) == store_id,
                                               col(PersonMonthTarget.year) == year,
                                               col(PersonMonthTarget.measure) == measure)
        if month is not None:
            stmt = stmt.where(col(PersonMonthTarget.month) == month)
        await session.exec(stmt)


async def people(session: AsyncSession, person_ids: Iterable[str]) -> dict[str, Person]:
    ids = list(set(person_ids))
    if not ids:
        return {}
    return {p.id: p for p in (await session.exec(select(Person).where(col(Person.id).in_(ids)))).all()}


async def assignments(session: AsyncSession, store_ids: list[str]) -> dict[str, dict[str, str]]:
    """store id -> person id -> role in that store."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    stmt = select(Assignment).where(col(Assignment.store_id).in_(store_ids))
    for row in (await session.exec(stmt)).all():
        out[row.store_id][row.person_id] = row.role
    return out


async def assignments_of(session: AsyncSession, person_id: str) -> dict[str, str]:
    """store id -> the person's role there."""
    stmt = select(Assignment).where(Assignment.person_id == person_id)
    return {row.store_id: row.role for row in (await session.exec(stmt)).all()}


async def counters(session: AsyncSession, metrics: tuple[str, ...], since: date, until: date, store_ids: list[str]
                   ) -> dict[str, dict[str, int]]:
    return await kpis.sums(session, metrics, since=since, until=until, store_ids=store_ids)


async def person_counters(session: AsyncSession, metrics: tuple[str, ...], since: date, until: date, *,
                          store_ids: list[str] | None = None, person_id: str | None = None
                          ) -> dict[tuple[str, str], dict[str, int]]:
    return await kpis.person_sums(session, metrics, since=since, until=until, store_ids=store_ids, person_id=person_id)


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
# money, the year's for a rate), its counters (the month's row of kpi_monthly: the month is
# whole) and its projection at its own pace. Rounding is numeric round(), halves away from
# zero, as policy.divide. Read per store (store_month_rows) or summed per group (attainment_sums).
_STORE_MONTH = """
WITH zone AS (SELECT * FROM unnest(CAST(:zones AS text[]), CAST(:elapsed AS int[])) AS z(timezone, elapsed)),
scope AS (
    SELECT s.id, s.region_id, zone.elapsed FROM stores s JOIN zone ON zone.timezone = s.timezone
    WHERE CAST(:regions AS text[]) IS NULL OR s.region_id = ANY(CAST(:regions AS text[]))),
measure AS (
    SELECT * FROM unnest(CAST(:names AS text[]), CAST(:additive AS bool[]), CAST(:margin AS bool[]),
                         CAST(:m1 AS text[]), CAST(:m2 AS text[]), CAST(:m3 AS text[]), CAST(:mw AS text[]))
        AS m(measure, additive, margin, m1, m2, m3, mw)),
counter AS (
    SELECT store_id, metric, value FROM kpi_monthly
    WHERE month = :since AND metric = ANY(CAST(:metrics AS text[])) AND store_id IN (SELECT id FROM scope)),
figure AS (
    SELECT scope.id AS store_id, scope.region_id, scope.elapsed, m.measure, m.additive,
           split.value AS split_value, annual.value AS annual_value,
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
"""
# Summed for the network and each region at once (GROUPING SETS).
_ATTAINMENT_SQL = _STORE_MONTH + """
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
    params = _month_params(specs, year=year, month=month, days=days, year_days=year_days, elapsed=elapsed,
                           region_ids=region_ids)
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


def _month_params(specs: list[MeasureSpec], *, year: int, month: int, days: int, year_days: int,
                  elapsed: dict[str, int], region_ids: set[str] | None) -> dict[str, Any]:
    def nth(spec: MeasureSpec, i: int) -> str | None:
        return spec.metrics[i] if i < len(spec.metrics) else None
    return {
        "zones": list(elapsed), "elapsed": list(elapsed.values()),
        "regions": sorted(region_ids) if region_ids is not None else None,
        "names": [s.measure for s in specs], "additive": [s.additive for s in specs],
        "margin": [s.margin for s in specs], "m1": [nth(s, 0) for s in specs], "m2": [nth(s, 1) for s in specs],
        "m3": [nth(s, 2) for s in specs], "mw": [None if s.additive else s.metrics[-1] for s in specs],
        "metrics": sorted({m for s in specs for m in s.metrics}), "since": date(year, month, 1),
        "year": year, "month": month, "days": days, "year_days": year_days}


@dataclass(frozen=True)
class StoreMonth:
    """One store's month: per measure its split and year targets as set and its counters (in the
    measure's order); the days of the month gone by in the store's time zone."""

    store_id: str
    elapsed: int
    split: dict[str, int]
    annual: dict[str, int]
    counters: dict[str, tuple[int, int, int]]


async def store_months(session: AsyncSession, specs: list[MeasureSpec], *, year: int, month: int, days: int,
                       year_days: int, elapsed: dict[str, int], region_ids: set[str] | None) -> list[StoreMonth]:
    """Each store in scope (every store, or those of `region_ids`), in one query: a row per store
    with its measures as one JSON object (a row per store and measure cost 4x the time at 2,000
    stores, most of it making rows)."""
    params = _month_params(specs, year=year, month=month, days=days, year_days=year_days, elapsed=elapsed,
                           region_ids=region_ids)
    sql = _STORE_MONTH + """SELECT store_id, elapsed,
        json_object_agg(measure, json_build_array(split_value, annual_value, c1, c2, c3))
        FROM figure GROUP BY store_id, elapsed"""
    out = []
    for store_id, days_gone, measures in (await (await session.connection()).execute(sa.text(sql), params)).all():
        figures = json.loads(measures) if isinstance(measures, str) else measures
        out.append(StoreMonth(
            store_id=store_id, elapsed=int(days_gone),
            split={m: v[0] for m, v in figures.items() if v[0] is not None},
            annual={m: v[1] for m, v in figures.items() if v[1] is not None},
            counters={m: (int(v[2]), int(v[3]), int(v[4])) for m, v in figures.items()}))
    return out
