"""The workshop's copy of the brand's labour operations, and the flat hours a job is given.

Kept from network's `network.policy.version_published` and `network.policy.version_changes`
by services/common/policy_copy_store.py (any order, redelivery safe, a version waiting for
its predecessor). A job from a labour line that carries no sold hours takes the operation's
flat hours, and its category, from the version in force on its order's opening day in
China's calendar (as reception priced the line and network prices the claim), version 1
(data/labor_operations.json) where none is."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.events.catalogue import network as nw
from services.common.policy_copies import LABOUR_OPERATIONS, Catalogue
from services.common.policy_copy_store import PolicyCopyStore
from services.workshop.policy_copies.models import PolicyCopy, PolicyCopyPart

# The brand's versions take effect on China's days, whichever store does the work.
BRAND_ZONE = ZoneInfo("Asia/Shanghai")

store = PolicyCopyStore(PolicyCopy, PolicyCopyPart, names=(LABOUR_OPERATIONS,))


async def version_published(session: AsyncSession, event: nw.PolicyVersionPublished) -> None:
    await store.published(session, event)


async def version_changes(session: AsyncSession, event: nw.PolicyVersionChangesPart) -> None:
    await store.part(session, event)


def brand_day(moment: datetime) -> date:
    return moment.astimezone(BRAND_ZONE).date()


async def catalogue_on(session: AsyncSession, day: date) -> Catalogue:
    return await store.catalogue_on(session, day)
