from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.tables import KnownStore


async def store(session: AsyncSession, store_id: str) -> KnownStore | None:
    """The store as the store registry knows it (None: not known here yet)."""
    return await session.get(KnownStore, store_id)
