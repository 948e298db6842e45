"""A region's KPI sums on the real PostgreSQL: each store counted only while it was in the
region, whole months read from kpi_monthly and the rest from kpi_daily, equal to a plain
sum over the days of its stays, for random moves, figures and windows."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import Database
from services.network.kpis import repository as kpis
from services.network.kpis.models import KpiDaily
from services.network.regions import repository
from services.network.regions.models import StoreMembership

REGIONS = ("east", "west")
STORES = ("store-a", "store-b", "store-c")
METRICS = ("ro_opened", "revenue_customer_fen")
FIRST = date(2024, 1, 20)
LAST = date(2024, 5, 10)
EDGES = sorted({d + timedelta(days=k) for d in (date(2024, m, 1) for m in range(1, 7)) for k in (-1, 0, 1)})
days = st.dates(min_value=FIRST, max_value=LAST) | st.sampled_from([d for d in EDGES if FIRST <= d <= LAST])
figures = st.lists(st.tuples(st.sampled_from(STORES), days, st.sampled_from(METRICS),
                             st.integers(min_value=-1_000, max_value=1_000)), max_size=30)


@st.composite
def stays(draw) -> list[tuple[str, str, date, date | None]]:
    """Each store's stays one after another: (store, region, from, until), the last maybe open,
    moves on month edges and mid-month alike."""
    out = []
    for store in STORES:
        moves = sorted(set(draw(st.lists(days, min_size=1, max_size=4))))
        closed = draw(st.booleans()) and len(moves) > 1
        ends = moves[1:] if closed else [*moves[1:], None]
        for start, end in zip(moves, ends, strict=False):
            out.append((store, draw(st.sampled_from(REGIONS)), start, end))
    return out


@st.composite
def windows(draw) -> tuple[date, date]:
    until = draw(st.dates(min_value=FIRST, max_value=LAST + timedelta(days=5)) | st.sampled_from(EDGES))
    since = draw(st.dates(min_value=until - timedelta(days=120), max_value=until)
                 | st.sampled_from([d for d in EDGES if d <= until] or [until]))
    return since, until


@pytest.fixture
async def db(network_db) -> AsyncIterator[Database]:
    database = Database(network_db, pool_size=2)
    now = datetime(2024, 1, 1, tzinfo=UTC)
    async with database.transaction() as session:
        connection = await session.connection()
        for region in REGIONS:
            await connection.execute(sa.text(
                "INSERT INTO regions (id, code, name, created_at, created_by, version) "
                "VALUES (:id, :id, :id, :now, 'test', 1)"), {"id": region, "now": now})
            await connection.execute(sa.text(
                "INSERT INTO areas (id, region_id, code, name, created_at) VALUES (:id, :id, :id, :id, :now)"),
                {"id": region, "now": now})
        for store in STORES:
            await connection.execute(sa.text(
                "INSERT INTO stores (id, code, name, kind, region, city, timezone, status, created_at, version) "
                "VALUES (:id, :id, :id, 'dealer_store', 'east', 'city', 'Asia/Shanghai', 'active', :now, 1)"),
                {"id": store, "now": now})
    yield database
    await database.dispose()


async def day_sums(session: AsyncSession, region_id: str, since: date, until: date) -> dict[str, dict[str, int]]:
    """The reference: kpi_daily alone, each day joined to the stay that covers it."""
    covers = sa.and_(col(KpiDaily.day) >= StoreMembership.from_day,
                     sa.or_(col(StoreMembership.until_day).is_(None), col(KpiDaily.day) < StoreMembership.until_day))
    stmt = (select(KpiDaily.store_id, KpiDaily.metric, sa.func.sum(KpiDaily.value))
            .join(StoreMembership, sa.and_(col(StoreMembership.store_id) == KpiDaily.store_id, covers))
            .where(StoreMembership.region_id == region_id, col(KpiDaily.metric).in_(METRICS),
                   KpiDaily.day >= since, KpiDaily.day <= until)
            .group_by(KpiDaily.store_id, KpiDaily.metric))
    out: dict[str, dict[str, int]] = {}
    for store_id, metric, total in (await session.exec(stmt)).all():
        out.setdefault(store_id, {})[metric] = int(total)
    return out


async def place(session: AsyncSession, moves: list[tuple[str, str, date, date | None]]) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    session.add_all([StoreMembership(id=f"{store}-{n}", store_id=store, area_id=region, region_id=region,
                                     from_day=start, until_day=end, moved_by="test", moved_at=now)
                     for n, (store, region, start, end) in enumerate(moves)])
    await session.flush()


async def refill(session: AsyncSession, moves, rows) -> None:
    await kpis.reset(session)
    await (await session.connection()).execute(sa.text("DELETE FROM store_area_memberships"))
    await place(session, moves)
    for store_id, day, metric, amount in rows:
        await kpis.add_to_daily(session, store_id, day, metric, amount)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=stays(), rows=figures, asked=st.lists(windows(), min_size=1, max_size=3))
async def test_a_regions_sums_from_months_and_edge_days_equal_the_plain_day_sums_of_its_stays(db, moves, rows,
                                                                                             asked):
    async with db.transaction() as session:
        await refill(session, moves, rows)
        for since, until in asked:
            for region in REGIONS:
                expected = await day_sums(session, region, since, until)
                got = await repository.sums_while_in(session, region, METRICS, since=since, until=until)
                assert got == expected, (region, since, until)


async def test_a_store_moved_mid_month_counts_each_half_of_that_month_where_it_was(db):
    # store-a: east until 15 March, west from then on; every day of February to April opens 1 order.
    moves = [("store-a", "east", date(2024, 1, 1), date(2024, 3, 15)), ("store-a", "west", date(2024, 3, 15), None)]
    rows = [("store-a", date(2024, 2, 1) + timedelta(days=k), "ro_opened", 1) for k in range(29 + 31 + 30)]
    async with db.transaction() as session:
        await refill(session, moves, rows)
        since, until = date(2024, 2, 1), date(2024, 4, 30)
        east = await repository.sums_while_in(session, "east", METRICS, since=since, until=until)
        west = await repository.sums_while_in(session, "west", METRICS, since=since, until=until)
        assert east == {"store-a": {"ro_opened": 29 + 14}} == await day_sums(session, "east", since, until)
        assert west == {"store-a": {"ro_opened": 17 + 30}} == await day_sums(session, "west", since, until)
