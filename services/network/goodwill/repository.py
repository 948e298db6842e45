from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.goodwill.models import GoodwillAuthorisation


async def get(session: AsyncSession, authorisation_id: str, *,
              for_update: bool = False) -> GoodwillAuthorisation | None:
    stmt = select(GoodwillAuthorisation).where(GoodwillAuthorisation.id == authorisation_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def page(session: AsyncSession, *, limit: int, cursor: str | None, store_id: str | None, status: str | None,
               vin: str | None, within: list[str] | None = None):
    stmt = select(GoodwillAuthorisation)
    if store_id:
        stmt = stmt.where(GoodwillAuthorisation.store_id == store_id)
    if status:
        stmt = stmt.where(GoodwillAuthorisation.status == status)
    if within is not None:  # a region manager: its regions' stores
        stmt = stmt.where(col(GoodwillAuthorisation.store_id).in_(within))
    if vin:
        stmt = stmt.where(GoodwillAuthorisation.vin == vin)
    return await paginate(session, stmt, GoodwillAuthorisation.id, limit, cursor)
