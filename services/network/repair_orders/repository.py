from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.network.repair_orders.models import ClosedRepairOrder


async def get(session: AsyncSession, repair_order_id: str) -> ClosedRepairOrder | None:
    return await session.get(ClosedRepairOrder, repair_order_id)


async def get_for_update(session: AsyncSession, repair_order_id: str) -> ClosedRepairOrder | None:
    stmt = select(ClosedRepairOrder).where(ClosedRepairOrder.id == repair_order_id).with_for_update()
    return (await session.exec(stmt)).first()
