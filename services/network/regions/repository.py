from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.kpis import repository as kpis
from services.network.people.models import Person
from services.network.regions.models import Area, Region, RegionManager, StoreMembership
from services.network.stores.models import Store


def managed_regions(person_id: str):
    """The ids of the regions a person manages, as a subquery for `IN`."""
    return select(RegionManager.region_id).where(RegionManager.person_id == person_id)


async def manages(session: AsyncSession, person_id: str, region_id: str | None) -> bool:
    if region_id is None:
        return False
    return await session.get(RegionManager, (person_id, region_id)) is not None


async def get(session: AsyncSession, region_id: str, *, for_update: bool = False) -> Region | None:
    stmt = select(Region).where(Region.id == region_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def by_code(session: AsyncSession, code: str) -> Region | None:
    return (await session.exec(select(Region).where(Region.code == code))).first()


async def area(session: AsyncSession, area_id: str) -> Area | None:
    return await session.get(Area, area_id)


async def page(session: AsyncSession, *, limit: int, cursor: str | None, managed_by: str | None = None):
    stmt = select(Region)
    if managed_by is not None:
        stmt = stmt.where(col(Region.id).in_(managed_regions(managed_by)))
    return await paginate(session, stmt, Region.id, limit, cursor)


async def areas_of(session: AsyncSession, region_ids: list[str]) -> list[Area]:
    stmt = select(Area).where(col(Area.region_id).in_(region_ids)).order_by(Area.code)
    return list((await session.exec(stmt)).all())


async def store_counts(session: AsyncSession, region_ids: list[str]) -> dict[str, int]:
    """area id -> stores in it now."""
    stmt = (select(Store.area_id, func.count()).where(col(Store.region_id).in_(region_ids))
            .group_by(Store.area_id))
    return {area_id: int(n) for area_id, n in (await session.exec(stmt)).all() if area_id}


async def managers_of(session: AsyncSession, region_ids: list[str]) -> list[tuple[RegionManager, str]]:
    stmt = (select(RegionManager, Person.name).join(Person, col(Person.id) == RegionManager.person_id)
            .where(col(RegionManager.region_id).in_(region_ids)).order_by(Person.name))
    return [(m, name) for m, name in (await session.exec(stmt)).all()]


async def people(session: AsyncSession, person_ids: list[str]) -> dict[str, Person]:
    stmt = select(Person).where(col(Person.id).in_(person_ids))
    return {p.id: p for p in (await session.exec(stmt)).all()}


async def open_membership(session: AsyncSession, store_id: str) -> StoreMembership | None:
    stmt = (select(StoreMembership)
            .where(StoreMembership.store_id == store_id, col(StoreMembership.until_day).is_(None)))
    return (await session.exec(stmt)).first()


async def history(session: AsyncSession, store_id: str) -> list[tuple[StoreMembership, str, str]]:
    """The store's stays, oldest first, with their region's and area's codes."""
    stmt = (select(StoreMembership, Region.code, Area.code)
            .join(Region, col(Region.id) == StoreMembership.region_id)
            .join(Area, col(Area.id) == StoreMembership.area_id)
            .where(StoreMembership.store_id == store_id).order_by(col(StoreMembership.from_day)))
    return [(m, region_code, area_code) for m, region_code, area_code in (await session.exec(stmt)).all()]


def _stay_covers(day_column) -> sa.ColumnElement[bool]:
    return sa.and_(day_column >= StoreMembership.from_day,
                   sa.or_(col(StoreMembership.until_day).is_(None), day_column < StoreMembership.until_day))


async def stores_during(session: AsyncSession, region_id: str, since: date, until: date) -> list[Store]:
    """The stores in the region on any day of [since, until], by code."""
    stayed = select(StoreMembership.store_id).where(
        StoreMembership.region_id == region_id, StoreMembership.from_day <= until,
        sa.or_(col(StoreMembership.until_day).is_(None), col(StoreMembership.until_day) > since))
    stmt = select(Store).where(col(Store.id).in_(stayed)).order_by(Store.code)
    return list((await session.exec(stmt)).all())


async def stores_on(session: AsyncSession, region_id: str, day: date) -> list[str]:
    stmt = select(StoreMembership.store_id).where(StoreMembership.region_id == region_id,
                                                  _stay_covers(sa.literal(day, sa.Date)))
    return list((await session.exec(stmt)).all())


async def sums_while_in(session: AsyncSession, region_id: str, metrics: tuple[str, ...], *, since: date,
                        until: date) -> dict[str, dict[str, int]]:
    """store id -> metric -> Σ value over the days of [since, until] the store was in the region.
    Each stay's part of the window is read as the months wholly inside it from kpi_monthly and
    the days at its ends from kpi_daily (a month the store moved in is all days), the same
    sums as over the days alone since each month row is the sum of its day rows."""
    stays = select(col(StoreMembership.store_id), col(StoreMembership.from_day), col(StoreMembership.until_day)).where(
        StoreMembership.region_id == region_id, StoreMembership.from_day <= until,
        sa.or_(col(StoreMembership.until_day).is_(None), col(StoreMembership.until_day) > since))
    spans: list[tuple[str, date, date, date, date]] = []
    for store_id, from_day, until_day in (await session.exec(stays)).all():
        low = max(since, from_day)
        high = until if until_day is None else min(until, until_day - timedelta(days=1))
        first, end = kpis.whole_months(low, high)
        assert first is not None
        # No whole month: every day of the stay is an edge day.
        end = max(first, end)
        spans.append((store_id, low, high, first, end))
    if not spans:
        return {}
    rows = (await (await session.connection()).execute(sa.text(_WHILE_IN_SQL), {
        "stores": [s[0] for s in spans], "low": [s[1] for s in spans], "high": [s[2] for s in spans],
        "first": [s[3] for s in spans], "end": [s[4] for s in spans], "metrics": list(metrics)})).all()
    out: dict[str, dict[str, int]] = {}
    for store_id, metric, total in rows:
        out.setdefault(store_id, {})[metric] = int(total or 0)
    return out


# A stay's span [low, high]: months [first, end) from kpi_monthly, the days before `first` and
# from `end` on from kpi_daily; each part one index range scan per stay.
_WHILE_IN_SQL = """
WITH span AS (
    SELECT * FROM unnest(CAST(:stores AS text[]), CAST(:low AS date[]), CAST(:high AS date[]),
                         CAST(:first AS date[]), CAST(:end AS date[])) AS s(store_id, low, high, first, month_end)),
part AS (
    SELECT m.store_id, m.metric, m.value FROM span JOIN kpi_monthly m
        ON m.store_id = span.store_id AND m.month >= span.first AND m.month < span.month_end
    WHERE m.metric = ANY(CAST(:metrics AS text[]))
    UNION ALL
    SELECT d.store_id, d.metric, d.value FROM span JOIN kpi_daily d
        ON d.store_id = span.store_id AND d.day >= span.low AND d.day < span.first AND d.day <= span.high
    WHERE d.metric = ANY(CAST(:metrics AS text[]))
    UNION ALL
    SELECT d.store_id, d.metric, d.value FROM span JOIN kpi_daily d
        ON d.store_id = span.store_id AND d.day >= span.month_end AND d.day <= span.high
    WHERE d.metric = ANY(CAST(:metrics AS text[])))
SELECT store_id, metric, sum(value) FROM part GROUP BY store_id, metric
"""


async def stores_managed_by(session: AsyncSession, person_id: str) -> list[str]:
    """The stores now in the regions a person manages."""
    stmt = select(Store.id).where(col(Store.region_id).in_(managed_regions(person_id)))
    return list((await session.exec(stmt)).all())


async def managed_region_ids(session: AsyncSession, person_id: str) -> set[str]:
    return set((await session.exec(managed_regions(person_id))).all())


async def replace_managers(session: AsyncSession, region_id: str, managers: list[RegionManager]) -> None:
    for row in (await session.exec(select(RegionManager).where(RegionManager.region_id == region_id))).all():
        await session.delete(row)
    await session.flush()
    session.add_all(managers)
