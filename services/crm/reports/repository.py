"""The report's reads over the other areas' tables, and the stored reports."""
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.crm.customers.models import Customer
from services.crm.reports.models import Report


async def stored(session: AsyncSession, store_id: str, kind: str, period: str) -> Report | None:
    stmt = select(Report).where(Report.store_id == store_id, Report.kind == kind, Report.period == period)
    return (await session.exec(stmt)).first()


async def get(session: AsyncSession, report_id: str) -> Report | None:
    return await session.get(Report, report_id)


async def page(session: AsyncSession, *, where: list, limit: int, cursor: str | None):
    stmt = select(Report)
    for clause in where:
        stmt = stmt.where(clause)
    return await paginate(session, stmt, Report.id, limit, cursor)


async def customers_on_file(session: AsyncSession, store_id: str, end: datetime) -> int:
    stmt = select(sa.func.count()).select_from(Customer).where(Customer.store_id == store_id,
                                                               Customer.first_seen_at < end)
    return int((await session.exec(stmt)).one())
