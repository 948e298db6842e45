from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.network.applications.models import OutletApplication
from services.network.onboarding.models import OnboardingItem


async def done_items(session: AsyncSession, store_id: str) -> dict[str, OnboardingItem]:
    rows = (await session.exec(select(OnboardingItem).where(OnboardingItem.store_id == store_id))).all()
    return {row.item_code: row for row in rows}


async def get(session: AsyncSession, store_id: str, item_code: str) -> OnboardingItem | None:
    return await session.get(OnboardingItem, (store_id, item_code))


async def applied_at(session: AsyncSession, store_id: str) -> datetime | None:
    """When the outlet applied: the submission of the application its store was made from."""
    stmt = (select(OutletApplication.submitted_at).where(OutletApplication.store_id == store_id)
            .order_by(col(OutletApplication.submitted_at)).limit(1))
    return (await session.exec(stmt)).first()
