from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.part_returns.models import PartReturn


async def get(session: AsyncSession, return_id: str) -> PartReturn | None:
    return await session.get(PartReturn, return_id)


async def get_for_update(session: AsyncSession, return_id: str) -> PartReturn | None:
    return (await session.exec(select(PartReturn).where(PartReturn.id == return_id).with_for_update())).first()


async def of_claim(session: AsyncSession, claim_id: str) -> list[PartReturn]:
    stmt = select(PartReturn).where(PartReturn.claim_id == claim_id).order_by(PartReturn.id)
    return list((await session.exec(stmt)).all())


async def of_line(session: AsyncSession, claim_id: str, line_id: str) -> PartReturn | None:
    stmt = select(PartReturn).where(PartReturn.claim_id == claim_id, PartReturn.line_id == line_id)
    return (await session.exec(stmt)).first()


async def overdue(session: AsyncSession, store_id: str, now: datetime) -> list[PartReturn]:
    """A store's returns due and past their date, locked against a shipment at the same moment."""
    stmt = (select(PartReturn).where(PartReturn.store_id == store_id, PartReturn.status == "due",
                                     col(PartReturn.ship_by).is_not(None), col(PartReturn.ship_by) < now)
            .order_by(PartReturn.id).with_for_update())
    return list((await session.exec(stmt)).all())


async def page(session: AsyncSession, *, limit: int, cursor: str | None, store_id: str | None = None,
               status: str | None = None, within: list[str] | None = None):
    stmt = select(PartReturn)
    if store_id:
        stmt = stmt.where(PartReturn.store_id == store_id)
    if status:
        stmt = stmt.where(PartReturn.status == status)
    if within is not None:  # a region manager: its regions' stores
        stmt = stmt.where(col(PartReturn.store_id).in_(within))
    return await paginate(session, stmt, PartReturn.id, limit, cursor)
