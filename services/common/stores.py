"""The local store registry every service keeps from network's store events, and the
rules for which store a caller acts in."""
from __future__ import annotations

from typing import Any, Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from .consumer import EventHandlers, HandlerContext
from .errors import Conflict, NotFound, ValidationFailed
from .events.catalogue.network import StoreActivated, StoreCreated, StoreSuspended
from .events.envelope import CloudEvent
from .identity import Principal
from .tables import KnownStore

store_handlers = EventHandlers()


@store_handlers.on("network.store.created", "network.store.activated", "network.store.suspended")
async def keep_store(session: AsyncSession, event: StoreCreated | StoreActivated | StoreSuspended, envelope: CloudEvent,
                     ctx: HandlerContext[Any]) -> None:
    store = await session.get(KnownStore, event.store_id)
    if store is None:
        store = KnownStore(id=event.store_id, code=event.code, name=event.name, kind=event.kind,
                           timezone=event.timezone, status=event.status, updated_at=envelope.time)
        session.add(store)
        return
    if store.updated_at > envelope.time:
        return  # an older event arriving late must not undo a newer state
    store.code, store.name, store.kind = event.code, event.name, event.kind
    store.timezone, store.status, store.updated_at = event.timezone, event.status, envelope.time
    session.add(store)


async def get_store(session: AsyncSession, store_id: str) -> KnownStore:
    store = await session.get(KnownStore, store_id)
    if store is None:
        raise NotFound(f"store {store_id} is not known here")
    return store


class Zoned(Protocol):
    """A store as anything that knows its time zone: our registry's copy, or network's own store."""

    @property
    def timezone(self) -> str: ...


def store_zone(store: Zoned | None) -> ZoneInfo:
    return ZoneInfo(store.timezone if store else "Asia/Shanghai")


def acting_store_id(principal: Principal, requested: str | None) -> str:
    """The store a caller acts in: its own for store roles; HQ must name one."""
    if principal.store_id:
        if requested and requested != principal.store_id:
            raise NotFound("no such store")
        return principal.store_id
    if not requested:
        raise ValidationFailed("store_id", "HQ callers must name the store")
    if not principal.can_see_store(requested):
        raise NotFound("no such store")  # a region manager naming a store outside its regions
    return requested


async def active_store(session: AsyncSession, principal: Principal, requested: str | None = None) -> KnownStore:
    """The acting store, which must be known and active for new business to be written."""
    store = await get_store(session, acting_store_id(principal, requested))
    if store.status != "active":
        raise Conflict(f"store {store.code} is {store.status}", current_state=store.status)
    return store


def visible_store_filter(principal: Principal, column, requested: str | None = None):
    """A WHERE clause limiting a list to what the caller may see (None = no limit)."""
    if principal.store_id:
        return column == principal.store_id
    if principal.stores is not None:  # a region manager: its regions' stores, the named one among them
        if requested:
            return column == requested if requested in principal.stores else sa.false()
        return column.in_(sorted(principal.stores))
    if requested:
        return column == requested
    return None


def within_stores(principal: Principal) -> list[str] | None:
    """The stores a list may hold beyond its other filters: a region manager's (its regions'
    stores now), None for every other caller (store callers are bounded by `store_id`)."""
    return None if principal.stores is None else sorted(principal.stores)


def ensure_visible(principal: Principal, store_id: str | None, what: str = "object") -> None:
    """Another store's object is 404 to a store principal, never 403: its existence is not ours to reveal."""
    if not principal.can_see_store(store_id):
        raise NotFound(f"{what} not found")
