from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.network.onboarding.models import OnboardingItem


async def done_items(session: AsyncSession, store_id: str) -> dict[str, OnboardingItem]:
    rows = (await session.exec(select(OnboardingItem).where(OnboardingItem.store_id == store_id))).all()
    return {row.item_code: row for row in rows}


async def get(session: AsyncSession, store_id: str, item_code: str) -> OnboardingItem | None:
    return await session.get(OnboardingItem, (store_id, item_code))
