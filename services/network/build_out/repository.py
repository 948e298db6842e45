from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.applications.models import OutletApplication
from services.network.build_out.models import BuildOutPlan
from services.network.onboarding.models import OnboardingItem
from services.network.regions.models import Region, StoreMembership
from services.network.stores.models import Store


async def plan(session: AsyncSession, region_id: str, year: int, *, for_update: bool = False) -> BuildOutPlan | None:
    stmt = select(BuildOutPlan).where(BuildOutPlan.region_id == region_id, BuildOutPlan.year == year)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def plans(session: AsyncSession, year: int, region_ids: Sequence[str] | None) -> list[BuildOutPlan]:
    stmt = select(BuildOutPlan).where(BuildOutPlan.year == year)
    if region_ids is not None:
        stmt = stmt.where(col(BuildOutPlan.region_id).in_(region_ids))
    return list((await session.exec(stmt)).all())


async def regions(session: AsyncSession, region_ids: Sequence[str] | None) -> list[Region]:
    stmt = select(Region).order_by(col(Region.code))
    if region_ids is not None:
        stmt = stmt.where(col(Region.id).in_(region_ids))
    return list((await session.exec(stmt)).all())


async def applications(session: AsyncSession, since: datetime, until: datetime) -> list[OutletApplication]:
    """Applications submitted in [since, until)."""
    stmt = select(OutletApplication).where(OutletApplication.submitted_at >= since,
                                           OutletApplication.submitted_at < until)
    return list((await session.exec(stmt)).all())


async def stores(session: AsyncSession, store_ids: Sequence[str]) -> dict[str, Store]:
    rows = (await session.exec(select(Store).where(col(Store.id).in_(store_ids)))).all()
    return {s.id: s for s in rows}


async def done_items(session: AsyncSession, store_ids: Sequence[str]) -> dict[str, dict[str, datetime]]:
    """store id -> checklist item code -> when it was done."""
    stmt = select(OnboardingItem).where(col(OnboardingItem.store_id).in_(store_ids))
    out: dict[str, dict[str, datetime]] = {}
    for row in (await session.exec(stmt)).all():
        out.setdefault(row.store_id, {})[row.item_code] = row.completed_at
    return out


async def first_regions(session: AsyncSession, store_ids: Sequence[str]) -> dict[str, str]:
    """store id -> the region of its first placement: where it was built out."""
    stmt = (select(StoreMembership.store_id, StoreMembership.region_id)
            .where(col(StoreMembership.store_id).in_(store_ids))
            .order_by(col(StoreMembership.store_id), col(StoreMembership.from_day), col(StoreMembership.moved_at)))
    out: dict[str, str] = {}
    for store_id, region_id in (await session.exec(stmt)).all():
        out.setdefault(store_id, region_id)
    return out


async def onboarding_outlets(session: AsyncSession, *, region_id: str | None, within: list[str] | None, limit: int,
                             cursor: str | None):
    """Partner outlets in onboarding, now in `region_id` (if given) and among `within` (if given)."""
    stmt = select(Store).where(Store.kind == "partner_outlet", Store.status == "onboarding")
    if region_id is not None:
        stmt = stmt.where(Store.region_id == region_id)
    if within is not None:
        stmt = stmt.where(col(Store.id).in_(within))
    return await paginate(session, stmt, Store.id, limit, cursor)
