from sqlmodel.ext.asyncio.session import AsyncSession

from services.reception.stores.models import StoreSettings


async def get(session: AsyncSession, store_id: str, *, for_update: bool = False) -> StoreSettings | None:
    return await session.get(StoreSettings, store_id, with_for_update=for_update)


def save(session: AsyncSession, settings: StoreSettings) -> None:
    session.add(settings)
