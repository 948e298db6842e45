from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.reception.roadside.models import RoadsideRequest


async def get(session: AsyncSession, roadside_id: str, *, for_update: bool = False) -> RoadsideRequest | None:
    stmt = select(RoadsideRequest).where(RoadsideRequest.id == roadside_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
               status: str | None = None, vin: str | None = None):
    """One page of requests, newest first; `store_id` narrows to one store's."""
    stmt = select(RoadsideRequest)
    if store_id:
        stmt = stmt.where(RoadsideRequest.store_id == store_id)
    if status:
        stmt = stmt.where(RoadsideRequest.status == status)
    if vin:
        stmt = stmt.where(RoadsideRequest.vin == vin)
    return await paginate(session, stmt, RoadsideRequest.id, limit, cursor)
