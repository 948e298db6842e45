"""Store lifecycle: a dealer store starts active; a partner outlet starts onboarding
and is activated by the onboarding checklist. Suspension keeps the data."""
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, InvalidTransition, NotFound
from services.common.events.catalogue.network import StoreActivated, StoreCreated, StoreSuspended
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.network.regions import service as regions
from services.network.regions.schemas import StoreMove
from services.network.stores import repository
from services.network.stores.models import Store
from services.network.stores.schemas import StoreCreate, StoreList, StorePublic


def _store_fields(store: Store) -> dict:
    return dict(store_id=store.id, code=store.code, name=store.name, kind=store.kind, region=store.region,
                city=store.city, timezone=store.timezone, status=store.status)


async def create_store(session: AsyncSession, clock: Clock, data: StoreCreate,
                       principal: Principal | None = None) -> Store:
    if await repository.by_code(session, data.code):
        raise Conflict(f"store code {data.code} is taken", field="code")
    now = clock.now()
    active = data.kind == "dealer_store"
    store = Store(id=new_id(), code=data.code, name=data.name, kind=data.kind, region=data.region,
                  city=data.city, timezone=data.timezone, status="active" if active else "onboarding",
                  created_at=now, activated_at=now if active else None)
    session.add(store)
    if data.area_id is not None:
        await session.flush()  # the store exists before its stay in the area refers to it
        await regions.place(session, clock, principal or Principal(id="network", role="system"), store,
                            StoreMove(area_id=data.area_id, reason="placed when created"))
    await emit(session, StoreCreated(**_store_fields(store), created_at=now),
               subject=store.id, store_id=store.id, time=now)
    return store


async def get_visible(session: AsyncSession, principal: Principal, store_id: str, *, for_update: bool = False) -> Store:
    """The store if the caller may see it; another store is 404. `for_update` locks the row,
    so activation and checklist changes of one store are decided one at a time."""
    store = await (repository.get_for_update if for_update else repository.get)(session, store_id)
    if store is None or not principal.can_see_store(store.id) or not await regions.may_see_store(
            session, principal, store):
        raise NotFound("store not found")
    return store


async def list_stores(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                      status: str | None = None, kind: str | None = None) -> StoreList:
    """Every store for HQ; a store's own caller sees its own store only, a region manager
    the stores in its regions."""
    rows, next_cursor = await repository.page(session, limit=limit, cursor=cursor, only_store=principal.store_id,
                                              status=status, kind=kind, managed_by=regions.scoped_person(principal))
    return StoreList(items=[StorePublic.model_validate(r, from_attributes=True) for r in rows], next_cursor=next_cursor)


async def activate(session: AsyncSession, clock: Clock, store: Store) -> Store:
    if store.status == "active":
        raise InvalidTransition(store.status, "activate")
    now = clock.now()
    store.status, store.activated_at, store.suspended_at, store.suspension_reason = "active", now, None, None
    store.version += 1
    session.add(store)
    await emit(session, StoreActivated(**_store_fields(store), activated_at=now),
               subject=store.id, store_id=store.id, time=now)
    return store


async def suspend(session: AsyncSession, clock: Clock, store: Store, reason: str) -> Store:
    if store.status == "suspended":
        raise InvalidTransition(store.status, "suspend")
    now = clock.now()
    store.status, store.suspended_at, store.suspension_reason = "suspended", now, reason
    store.version += 1
    session.add(store)
    await emit(session, StoreSuspended(**_store_fields(store), reason=reason, suspended_at=now),
               subject=store.id, store_id=store.id, time=now)
    return store
