"""KPI month rollups on the real PostgreSQL: kpi_monthly stays the sum of kpi_daily through
the live increments, a rebuild's replacement and a reset, and the sums read from months
and edge days equal a plain sum over the days, for random windows over random figures."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import Database
from services.network.kpis import repository
from services.network.kpis.models import KpiDaily, KpiEntity, KpiFact, KpiPersonDaily

STORES = ("store-a", "store-b", "store-c")
METRICS = ("ro_opened", "revenue_customer_fen", "complaints_opened")
FIRST = date(2024, 1, 20)  # a leap February and several month ends in reach
LAST = date(2024, 5, 10)
# Month ends and starts drawn often: where a month row and an edge day could be counted twice or not at all.
EDGES = sorted({d + timedelta(days=k) for d in (date(2024, m, 1) for m in range(1, 7)) for k in (-2, -1, 0, 1)})
days = st.dates(min_value=FIRST, max_value=LAST) | st.sampled_from([d for d in EDGES if FIRST <= d <= LAST])
rows = st.lists(st.tuples(st.sampled_from(STORES), days, st.sampled_from(METRICS),
                          st.integers(min_value=-10_000, max_value=10_000)), max_size=40)


@st.composite
def windows(draw) -> tuple[date | None, date]:
    until = draw(st.dates(min_value=FIRST - timedelta(days=10), max_value=LAST + timedelta(days=10))
                 | st.sampled_from(EDGES))
    since = draw(st.none() | st.dates(min_value=until - timedelta(days=120), max_value=until)
                 | st.sampled_from([d for d in EDGES if d <= until] or [until]))
    return since, until


@pytest.fixture
async def db(network_db) -> AsyncIterator[Database]:
    database = Database(network_db, pool_size=2)
    yield database
    await database.dispose()


async def day_sums(session: AsyncSession, *, until: date, since: date | None,
                   store_ids: list[str] | None) -> dict[str, dict[str, int]]:
    """The reference: kpi_daily alone, summed over the window's days."""
    stmt = (select(KpiDaily.store_id, KpiDaily.metric, sa.func.sum(KpiDaily.value))
            .where(col(KpiDaily.metric).in_(METRICS), KpiDaily.day <= until)
            .group_by(KpiDaily.store_id, KpiDaily.metric))
    if since is not None:
        stmt = stmt.where(KpiDaily.day >= since)
    if store_ids is not None:
        stmt = stmt.where(col(KpiDaily.store_id).in_(store_ids))
    out: dict[str, dict[str, int]] = {}
    for store_id, metric, total in (await session.exec(stmt)).all():
        out.setdefault(store_id, {})[metric] = int(total)
    return out


async def months_from_days(session: AsyncSession) -> tuple[set, set]:
    """(kpi_monthly's rows, the rows a GROUP BY of kpi_daily by month gives)."""
    connection = await session.connection()
    held = set((await connection.execute(sa.text("SELECT store_id, month, metric, value FROM kpi_monthly"))).all())
    summed = set((await connection.execute(sa.text(
        "SELECT store_id, date_trunc('month', day)::date, metric, sum(value) FROM kpi_daily GROUP BY 1, 2, 3"))).all())
    return held, summed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(figures=rows, asked=st.lists(windows(), min_size=1, max_size=4))
async def test_month_and_edge_day_sums_equal_the_plain_day_sums_after_live_increments(db, figures, asked):
    async with db.transaction() as session:
        await repository.reset(session)
        for store_id, day, metric, amount in figures:
            await repository.add_to_daily(session, store_id, day, metric, amount)
        held, summed = await months_from_days(session)
        assert held == summed
        for since, until in asked:
            for scope in (None, ["store-a", "store-c"]):
                expected = await day_sums(session, since=since, until=until, store_ids=scope)
                got = await repository.sums(session, METRICS, since=since, until=until, store_ids=scope)
                assert got == expected, (since, until, scope)


async def test_a_rebuilds_replacement_sums_the_months_from_its_days_and_a_reset_empties_them(db):
    daily = [("store-a", date(2024, 2, 28), "ro_opened", 2), ("store-a", date(2024, 2, 29), "ro_opened", 3),
             ("store-a", date(2024, 3, 1), "ro_opened", 7), ("store-b", date(2024, 2, 1), "comebacks", -1)]
    empty: list[tuple] = []
    async with db.transaction() as session:
        await repository.add_to_daily(session, "store-c", date(2024, 1, 5), "ro_opened", 9)  # replaced below
        await repository.lock_projection(session)
        await repository.replace_projection(session, {
            KpiEntity: (["key", "kind", "store_id", "state", "updated_at"], empty),
            KpiFact: (["key", "entity_key", "store_id", "day", "metric", "value", "person_id"], empty),
            KpiDaily: (["store_id", "day", "metric", "value"], daily),
            KpiPersonDaily: (["store_id", "person_id", "day", "metric", "value"], empty)})
        held, summed = await months_from_days(session)
        assert held == summed == {("store-a", date(2024, 2, 1), "ro_opened", 5),
                                  ("store-a", date(2024, 3, 1), "ro_opened", 7),
                                  ("store-b", date(2024, 2, 1), "comebacks", -1)}
        await repository.reset(session)
        assert await months_from_days(session) == (set(), set())
