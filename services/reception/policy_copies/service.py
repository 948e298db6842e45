"""Reception's copies of the brand's labour operations and parts prices, and the catalogue a
repair order is priced by.

Network publishes a version as its changes from the version before (services/common/
policy_copies.py): `network.policy.version_published` (part 1, with the effective day and
how many changes there are) and, past MAX_PUBLISHED_CHANGES, `network.policy.version_changes`
parts 2..n. Each part is kept as it comes, in any order; a version is built and marked
complete once all its parts are here and the version before it is complete, so a version
that overtakes its predecessor waits for it. Every write is an insert that ignores a row it
already has, so a redelivered event changes nothing twice; the handlers of one policy take a
lock on its version 1 so two parts applied at once cannot both miss the last one.

A repair order is priced by the versions in force on its opening day in China's calendar
(as network prices its claim), falling back to version 1 (data/)."""
from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import policy_copies as copies
from services.common.consumer import PoisonEvent
from services.common.events.catalogue import network as nw
from services.reception.policy_copies import repository
from services.reception.vehicle_notices.service import BRAND_ZONE


async def version_published(session: AsyncSession, event: nw.PolicyVersionPublished) -> None:
    if event.name not in copies.COPIED:
        return
    await repository.lock(session, event.name)
    if await _complete(session, event.name, event.version):
        return
    await repository.announce(session, dict(
        name=event.name, version=event.version, effective_from=event.effective_from, change_count=event.change_count,
        parts=copies.parts_needed(event.change_count, nw.MAX_PUBLISHED_CHANGES)))
    await repository.keep_part(session, event.name, event.version, 1, _changes(event.changes))
    await _complete_what_can_be(session, event.name)


async def version_changes(session: AsyncSession, event: nw.PolicyVersionChangesPart) -> None:
    if event.name not in copies.COPIED:
        return
    if not 2 <= event.part <= event.parts:
        raise PoisonEvent(f"policy {event.name} version {event.version}: part {event.part} of {event.parts}")
    await repository.lock(session, event.name)
    if await _complete(session, event.name, event.version):
        return
    await repository.keep_part(session, event.name, event.version, event.part, _changes(event.changes))
    await _complete_what_can_be(session, event.name)


async def _complete(session: AsyncSession, name: str, version: int) -> bool:
    """A part of a version built already (a redelivery) is not kept again."""
    row = await repository.copy(session, name, version)
    return row is not None and row.complete


def _changes(changes: list[nw.PolicyChange]) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in changes]


async def _complete_what_can_be(session: AsyncSession, name: str) -> None:
    latest = await repository.latest_complete(session, name)
    while latest is not None and latest.document is not None:
        following = await repository.copy(session, name, latest.version + 1)
        if following is None or following.complete:
            return
        parts = await repository.parts_of(session, name, following.version)
        if [p.part for p in parts] != list(range(1, following.parts + 1)):
            return
        changes = [change for part in parts for change in part.changes]
        if len(changes) != following.change_count:
            raise PoisonEvent(f"policy {name} version {following.version}: {len(changes)} changes in its parts, "
                              f"{following.change_count} announced")
        try:
            following.document = copies.apply_changes(latest.document, changes)
        except copies.ChangeMismatch as exc:
            raise PoisonEvent(f"policy {name} version {following.version}: {exc}") from None
        following.complete = True
        session.add(following)
        await session.flush()
        await repository.drop_parts(session, name, following.version)
        latest = following


def opening_day(opened_at: datetime) -> date:
    """The brand's day an order was opened on: its prices are the versions in force that day."""
    return opened_at.astimezone(BRAND_ZONE).date()


async def catalogue_on(session: AsyncSession, day: date) -> copies.Catalogue:
    operations = await repository.in_force(session, copies.LABOUR_OPERATIONS, day)
    prices = await repository.in_force(session, copies.PARTS_PRICES, day)
    first = copies.first_catalogue()
    return copies.Catalogue(
        operations=copies.operations_by_code(operations.document) if operations and operations.document
        else first.operations,
        parts=copies.parts_by_number(prices.document) if prices and prices.document else first.parts,
        operations_version=operations.version if operations else 1,
        parts_version=prices.version if prices else 1,
    )
