from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.workshop.orders.models import WorkshopOrder


async def get(session: AsyncSession, order_id: str) -> WorkshopOrder | None:
    return await session.get(WorkshopOrder, order_id)


async def get_for_update(session: AsyncSession, order_id: str) -> WorkshopOrder | None:
    stmt = select(WorkshopOrder).where(WorkshopOrder.id == order_id).with_for_update()
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


async def page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
               status: str | None = None, vin: str | None = None):
    """One page of orders; each filter given narrows it."""
    stmt = select(WorkshopOrder)
    if store_id:
        stmt = stmt.where(WorkshopOrder.store_id == store_id)
    if status:
        stmt = stmt.where(WorkshopOrder.status == status)
    if vin:
        stmt = stmt.where(WorkshopOrder.vin == vin)
    return await paginate(session, stmt, WorkshopOrder.id, limit, cursor)
