"""Reception's copies of the brand's labour operations and parts prices, and the catalogue a
repair order is priced by.

Network publishes a version as its changes from the version before:
`network.policy.version_published` (part 1, with the effective day and how many changes
there are) and, past MAX_PUBLISHED_CHANGES, `network.policy.version_changes` parts 2..n.
services/common/policy_copy_store.py keeps them (any order, redelivery safe, a version
waiting for its predecessor) in reception's tables.

A repair order is priced by the versions in force on its opening day in China's calendar
(as network prices its claim), falling back to version 1 (data/)."""
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.events.catalogue import network as nw
from services.common.policy_copies import Catalogue
from services.common.policy_copy_store import PolicyCopyStore
from services.reception.policy_copies.models import PolicyCopy, PolicyCopyPart
from services.reception.vehicle_notices.service import BRAND_ZONE

store = PolicyCopyStore(PolicyCopy, PolicyCopyPart)


async def version_published(session: AsyncSession, event: nw.PolicyVersionPublished) -> None:
    await store.published(session, event)


async def version_changes(session: AsyncSession, event: nw.PolicyVersionChangesPart) -> None:
    await store.part(session, event)


def opening_day(opened_at: datetime) -> date:
    """The brand's day an order was opened on: its prices are the versions in force that day."""
    return opened_at.astimezone(BRAND_ZONE).date()


async def catalogue_on(session: AsyncSession, day: date) -> Catalogue:
    return await store.catalogue_on(session, day)
