from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.keys.models import ApiKey


async def by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    return (await session.exec(select(ApiKey).where(ApiKey.key_hash == key_hash))).first()


async def get(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def page(session: AsyncSession, *, limit: int, cursor: str | None, store_id: str | None = None):
    stmt = select(ApiKey)
    if store_id:
        stmt = stmt.where(ApiKey.store_id == store_id)
    return await paginate(session, stmt, ApiKey.id, limit, cursor)
