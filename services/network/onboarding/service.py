"""The onboarding checklist of a partner outlet and its activation, which only a complete
checklist allows. An outlet follows the checklist's version in force on the day it applied
(China's calendar; a store made without an application: the day it was made), so a later
version does not move the goal posts of an outlet half-way through (policies/, seeded from
data/onboarding_checklist.json)."""
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import InvalidTransition, NotFound
from services.common.identity import Principal
from services.network.calendar import HQ_ZONE
from services.network.certifications import service as certifications
from services.network.onboarding import repository
from services.network.onboarding.models import OnboardingItem
from services.network.onboarding.schemas import Checklist, ChecklistItem
from services.network.policies import service as policies
from services.network.policies.bodies import PolicyName
from services.network.stores import service as stores
from services.network.stores.models import Store

FACILITY_AUDIT_ITEM = "facility_audit_passed"


async def checklist_in_force(session: AsyncSession, store: Store) -> policies.InForce:
    """The checklist's version the store follows."""
    since = await repository.applied_at(session, store.id) or store.created_at
    return await policies.in_force(session, PolicyName.ONBOARDING_CHECKLIST, since.astimezone(HQ_ZONE).date())


async def checklist_items(session: AsyncSession, store: Store) -> list[dict]:
    return (await checklist_in_force(session, store)).body["items"]


async def checklist(session: AsyncSession, store: Store) -> Checklist:
    done = await repository.done_items(session, store.id)
    version = await checklist_in_force(session, store)
    items = []
    for item in version.body["items"]:
        row = done.get(item["code"])
        items.append(ChecklistItem(
            code=item["code"], title=item["title"], done=row is not None,
            completed_at=row.completed_at if row else None, completed_by=row.completed_by if row else None,
            completed_by_name=row.completed_by_name if row else None,
            completed_by_credential=row.completed_by_credential if row else None, note=row.note if row else None,
        ))
    return Checklist(store_id=store.id, store_status=store.status, complete=all(i.done for i in items),
                     checklist_version=version.version, items=items)


async def complete_item(session: AsyncSession, clock: Clock, store: Store, item_code: str, by: Principal,
                        note: str | None = None, *, at: datetime | None = None) -> OnboardingItem:
    if item_code not in {item["code"] for item in await checklist_items(session, store)}:
        raise NotFound(f"no checklist item {item_code}")
    if store.status != "onboarding":
        raise InvalidTransition(store.status, "complete onboarding items")
    existing = await repository.get(session, store.id, item_code)
    if existing is not None:
        raise InvalidTransition("done", f"complete {item_code}")
    row = OnboardingItem(store_id=store.id, item_code=item_code, completed_at=at or clock.now(), completed_by=by.id,
                         completed_by_name=by.name or by.id, completed_by_credential=by.credential or None, note=note)
    session.add(row)
    return row


async def tick_off(session: AsyncSession, clock: Clock, store: Store, item_code: str, by: Principal,
                   note: str | None = None) -> Checklist:
    """HQ ticks an item off by hand; answers the checklist as it now stands."""
    await complete_item(session, clock, store, item_code, by, note)
    await session.flush()  # the new row is written before the checklist is read back
    return await checklist(session, store)


async def activate(session: AsyncSession, clock: Clock, store: Store) -> Store:
    """Onboarding (or suspended) → active. A partner outlet must have its checklist done;
    dealer stores are the group's own and have no checklist."""
    if store.status == "active":
        raise InvalidTransition(store.status, "activate")
    if store.kind == "partner_outlet":
        done = await repository.done_items(session, store.id)
        missing = [item["code"] for item in await checklist_items(session, store) if item["code"] not in done]
        if missing:
            raise InvalidTransition(store.status, "activate", missing_items=missing)
        if store.status == "onboarding":
            # Onboarding finishes only with the certified staff the outlet's kinds require.
            await certifications.ensure_store_certified(session, clock, store)
    return await stores.activate(session, clock, store)
