from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.network.kpis import repository as kpis
from services.network.kpis.models import KpiPersonDaily
from services.network.kpis.projection import Metric
from services.network.people.models import Assignment, Person
from services.network.stores.models import Store
from services.network.targets import repository as targets
from services.network.targets.models import PersonMonthTarget


async def stores(session: AsyncSession, only: str | None) -> list[Store]:
    return await kpis.stores(session, only)


async def person_counters(session: AsyncSession, metrics: tuple[str, ...], since: date, until: date,
                          store_ids: list[str]) -> dict[tuple[str, str], dict[str, int]]:
    """(store id, person id) -> metric -> the month's sum."""
    return await kpis.person_sums(session, metrics, since=since, until=until, store_ids=store_ids)


async def store_counters(session: AsyncSession, metrics: tuple[str, ...], since: date, until: date,
                         store_ids: list[str]) -> dict[str, dict[str, int]]:
    return await kpis.sums(session, metrics, since=since, until=until, store_ids=store_ids)


async def base_days(session: AsyncSession, since: date, until: date, store_ids: list[str]
                    ) -> dict[tuple[str, str], date]:
    """(store id, advisor) -> the local day of CRM's last count of their customer base in the window."""
    stmt = (select(KpiPersonDaily.store_id, KpiPersonDaily.person_id, sa.func.max(KpiPersonDaily.day))
            .where(KpiPersonDaily.metric == Metric.BASE_VEHICLES, KpiPersonDaily.day >= since,
                   KpiPersonDaily.day <= until)
            .group_by(KpiPersonDaily.store_id, KpiPersonDaily.person_id))
    stmt = stmt.where(col(KpiPersonDaily.store_id).in_(store_ids))
    return {(store_id, person): day for store_id, person, day in (await session.exec(stmt)).all()}


async def assignments(session: AsyncSession, store_ids: list[str]) -> dict[str, dict[str, str]]:
    """store id -> person id -> role in that store."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    stmt = select(Assignment).where(col(Assignment.store_id).in_(store_ids))
    for row in (await session.exec(stmt)).all():
        out[row.store_id][row.person_id] = row.role
    return out


async def people(session: AsyncSession, person_ids: set[str]) -> dict[str, Person]:
    return await targets.people(session, person_ids)


async def shares(session: AsyncSession, year: int, month: int, store_ids: list[str]
                 ) -> list[PersonMonthTarget]:
    return await targets.shares(session, year=year, month=month, store_ids=store_ids)
