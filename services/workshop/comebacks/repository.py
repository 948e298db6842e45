from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.workshop.comebacks.models import Comeback, DeliveredOperation


async def delivered_operation(session: AsyncSession, repair_order_id: str, line_id: str) -> DeliveredOperation | None:
    return await session.get(DeliveredOperation, (repair_order_id, line_id))


async def latest_delivery(session: AsyncSession, *, vin: str, op_code: str, since: datetime, until: datetime,
                          exclude_order: str) -> DeliveredOperation | None:
    stmt = (
        select(DeliveredOperation)
        .where(DeliveredOperation.vin == vin, DeliveredOperation.op_code == op_code,
               DeliveredOperation.delivered_at >= since, DeliveredOperation.delivered_at <= until,
               DeliveredOperation.repair_order_id != exclude_order)
        .order_by(col(DeliveredOperation.delivered_at).desc())
        .limit(1)
    )
    return (await session.exec(stmt)).first()


async def by_line(session: AsyncSession, repair_order_id: str, line_id: str) -> Comeback | None:
    stmt = select(Comeback).where(Comeback.repair_order_id == repair_order_id, Comeback.line_id == line_id)
    return (await session.exec(stmt)).first()


async def get(session: AsyncSession, comeback_id: str) -> Comeback | None:
    return await session.get(Comeback, comeback_id)


async def page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None, vin: str | None = None,
               technician_id: str | None = None, repair_order_id: str | None = None):
    """One page of comebacks; each filter given narrows it (`technician_id`: of the first repair)."""
    stmt = select(Comeback)
    if store_id:
        stmt = stmt.where(Comeback.store_id == store_id)
    if vin:
        stmt = stmt.where(Comeback.vin == vin)
    if technician_id:
        stmt = stmt.where(Comeback.original_technician_id == technician_id)
    if repair_order_id:
        stmt = stmt.where(Comeback.repair_order_id == repair_order_id)
    return await paginate(session, stmt, Comeback.id, limit, cursor)


async def by_original_technician(session: AsyncSession, technician_ids: set[str], start: datetime,
                                 end: datetime) -> dict[str, int]:
    if not technician_ids:
        return {}
    stmt = select(Comeback.original_technician_id).where(
        col(Comeback.original_technician_id).in_(technician_ids), Comeback.detected_at >= start,
        Comeback.detected_at < end)
    counts: dict[str, int] = {}
    for tech in (await session.exec(stmt)).all():
        if tech is not None:  # the IN above leaves none out; this tells the type checker
            counts[tech] = counts.get(tech, 0) + 1
    return counts
