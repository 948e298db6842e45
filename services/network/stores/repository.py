from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.regions import repository as regions
from services.network.stores.models import Store


async def get(session: AsyncSession, store_id: str) -> Store | None:
    return await session.get(Store, store_id)


async def get_for_update(session: AsyncSession, store_id: str) -> Store | None:
    return (await session.exec(select(Store).where(Store.id == store_id).with_for_update())).first()


async def by_code(session: AsyncSession, code: str) -> Store | None:
    return (await session.exec(select(Store).where(Store.code == code))).first()


async def page(session: AsyncSession, *, limit: int, cursor: str | None, only_store: str | None = None,
               status: str | None = None, kind: str | None = None, managed_by: str | None = None):
    """`managed_by`: a region manager's person id; only the stores in the regions they manage now."""
    stmt = select(Store)
    if only_store:
        stmt = stmt.where(Store.id == only_store)
    if managed_by is not None:
        stmt = stmt.where(col(Store.region_id).in_(regions.managed_regions(managed_by)))
    if status:
        stmt = stmt.where(Store.status == status)
    if kind:
        stmt = stmt.where(Store.kind == kind)
    return await paginate(session, stmt, Store.id, limit, cursor)
