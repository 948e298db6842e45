from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.reception.repair_orders.models import Approval, Invoice, RepairOrder, RepairOrderLine


async def get(session: AsyncSession, repair_order_id: str, *, for_update: bool = False) -> RepairOrder | None:
    stmt = select(RepairOrder).where(RepairOrder.id == repair_order_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def last_seen(session: AsyncSession, store_id: str, vin: str) -> RepairOrder | None:
    """The latest order this store opened for the VIN: its mileage is the last one seen."""
    stmt = (
        select(RepairOrder)
        .where(RepairOrder.store_id == store_id, RepairOrder.vin == vin)
        .order_by(col(RepairOrder.opened_at).desc(), col(RepairOrder.id).desc())
        .limit(1)
    )
    return (await session.exec(stmt)).first()


async def lines(session: AsyncSession, repair_order_id: str) -> list[RepairOrderLine]:
    stmt = (select(RepairOrderLine).where(RepairOrderLine.repair_order_id == repair_order_id)
            .order_by(col(RepairOrderLine.position)))
    return list((await session.exec(stmt)).all())


async def approvals(session: AsyncSession, repair_order_id: str) -> list[Approval]:
    stmt = (select(Approval).where(Approval.repair_order_id == repair_order_id)
            .order_by(col(Approval.approved_at), Approval.id))
    return list((await session.exec(stmt)).all())


async def invoice_of(session: AsyncSession, repair_order_id: str) -> Invoice | None:
    return (await session.exec(select(Invoice).where(Invoice.repair_order_id == repair_order_id))).first()


async def delete_line(session: AsyncSession, line: RepairOrderLine) -> None:
    await session.delete(line)


async def page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
               status: str | None = None, vin: str | None = None, number: str | None = None,
               appointment_id: str | None = None):
    """One page of orders, newest first; `store_id` narrows to one store's."""
    stmt = select(RepairOrder)
    if store_id:
        stmt = stmt.where(RepairOrder.store_id == store_id)
    if status:
        stmt = stmt.where(RepairOrder.status == status)
    if vin:
        stmt = stmt.where(RepairOrder.vin == vin)
    if number:
        stmt = stmt.where(RepairOrder.number == number)
    if appointment_id:
        stmt = stmt.where(RepairOrder.appointment_id == appointment_id)
    return await paginate(session, stmt, RepairOrder.id, limit, cursor)
