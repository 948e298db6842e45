"""The report's reads over the other areas' tables, and the stored reports."""
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.crm.callbacks.models import Survey
from services.crm.customers.models import Customer, RepairOrder
from services.crm.reports.models import Report


async def stored(session: AsyncSession, store_id: str, kind: str, period: str) -> Report | None:
    stmt = select(Report).where(Report.store_id == store_id, Report.kind == kind, Report.period == period)
    return (await session.exec(stmt)).first()


async def get(session: AsyncSession, report_id: str) -> Report | None:
    return await session.get(Report, report_id)


async def page(session: AsyncSession, *, store_id: str | None, kind: str | None, period: str | None, limit: int,
               cursor: str | None):
    """One page of stored reports; each filter given narrows it."""
    stmt = select(Report)
    if store_id:
        stmt = stmt.where(Report.store_id == store_id)
    if kind:
        stmt = stmt.where(Report.kind == kind)
    if period:
        stmt = stmt.where(Report.period == period)
    return await paginate(session, stmt, Report.id, limit, cursor)


async def customers_on_file(session: AsyncSession, store_id: str, end: datetime) -> int:
    stmt = select(sa.func.count()).select_from(Customer).where(Customer.store_id == store_id,
                                                               Customer.first_seen_at < end)
    return int((await session.exec(stmt)).one())


async def orders_by_id(session: AsyncSession, ids: set[str]) -> dict[str, RepairOrder]:
    if not ids:
        return {}
    return {o.id: o for o in (await session.exec(select(RepairOrder).where(col(RepairOrder.id).in_(ids)))).all()}


async def follow_up_surveys(session: AsyncSession, complaint_ids: list[str]) -> list[Survey]:
    """The second callbacks' answers of these complaints, oldest first."""
    if not complaint_ids:
        return []
    stmt = select(Survey).where(col(Survey.complaint_id).in_(complaint_ids), Survey.kind == "follow_up")
    return list((await session.exec(stmt.order_by(col(Survey.recorded_at), Survey.id))).all())
