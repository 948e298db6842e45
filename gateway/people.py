"""Signed-in staff at the gateway: the person behind a token, from network's staff
directory, the store they act for, and whether that store is suspended.

A token says who signed in (`person_id`); what they may do comes from the directory: are
they still with the group, which stores they work in and their role in each. The gateway
keeps what network said about each person it has seen, asks network (GET /v1/people/{id},
as its system identity) about a person it has not, and applies network's person events as
they come (keyevents.py): each carries the whole person, so a person who leaves is refused
within moments, whatever token they still hold. As for keys, entries are asked about again
after a TTL (short while the event feed is not live), and while network cannot answer a
person seen recently keeps working for a bounded time.

A store's state is kept the same way (StoreStates): network's store events say at once when
one is suspended or reactivated, and a store not heard of is asked about (GET
/v1/stores/{id}). A suspended store's keys are refused through their introspection; its
signed-in people are refused here, for that store only."""
from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from prometheus_client import Counter

from services.common.identity import HQ_ROLES, STORE_ROLES
from services.common.logging import get_logger

from .keys import IntrospectionFailed, NetworkUnavailable

log = get_logger(__name__)
LOOKUPS = Counter("gateway_person_lookups_total", "Staff directory lookups by where the answer came from", ["source"])
STORE_LOOKUPS = Counter("gateway_store_lookups_total", "Store state lookups by where the answer came from",
                        ["source"])
SUSPENDED = "suspended"

ACTIVE = "active"


@dataclass(frozen=True)
class Assignment:
    store_id: str
    role: str


@dataclass(frozen=True)
class PersonInfo:
    """What the directory says about a person, and when we heard it (monotonic seconds)."""

    id: str
    found: bool
    fetched: float
    name: str = ""
    status: str = ""
    assignments: tuple[Assignment, ...] = ()
    # An HQ role (hq_admin, hq_analyst, region_manager) when the directory gives people one.
    hq_role: str | None = None

    @property
    def active(self) -> bool:
        return self.found and self.status == ACTIVE

    @classmethod
    def from_directory(cls, person_id: str, body: Mapping[str, Any] | None, fetched: float) -> PersonInfo:
        """From network's answer about a person (None: no such person) or a person event."""
        if body is None:
            return cls(id=person_id, found=False, fetched=fetched)
        assignments = tuple(
            Assignment(str(a["store_id"]), str(a["role"])) for a in body.get("assignments") or ()
            if isinstance(a, Mapping) and a.get("store_id") and a.get("role") in STORE_ROLES)
        hq_role = body.get("hq_role")
        return cls(id=person_id, found=True, fetched=fetched, name=str(body.get("name") or ""),
                   status=str(body.get("status") or ""), assignments=assignments,
                   hq_role=hq_role if hq_role in HQ_ROLES else None)


@dataclass(frozen=True)
class StoreState:
    """What network says of a store's state, and when we heard it (monotonic seconds)."""

    id: str
    found: bool
    fetched: float
    status: str = ""

    @property
    def suspended(self) -> bool:
        return self.status == SUSPENDED

    @classmethod
    def from_directory(cls, store_id: str, body: Mapping[str, Any] | None, fetched: float) -> StoreState:
        """From network's answer about a store (None: no such store) or a store event."""
        if body is None:
            return cls(id=store_id, found=False, fetched=fetched)
        return cls(id=store_id, found=True, fetched=fetched, status=str(body.get("status") or ""))


class StoreNotChosen(Exception):
    """The request does not say, or may not say, which store the person acts for."""

    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.detail, self.extra = status, detail, extra


STORE_HEADER = "X-Store-Id"


def acting_as(person: PersonInfo, wanted: str | None) -> tuple[str, str | None]:
    """(role, store) the person acts as on this request. `wanted` is the X-Store-Id header:
    it picks one of the person's stores; without it, a person of one store acts for that
    store, and an HQ person as HQ. A person of several stores must name one."""
    if wanted:
        for assignment in person.assignments:
            if assignment.store_id == wanted:
                return assignment.role, assignment.store_id
        raise StoreNotChosen(403, f"you are not assigned to store {wanted}", store_id=wanted)
    if person.hq_role:
        return person.hq_role, None
    if len(person.assignments) == 1:
        only = person.assignments[0]
        return only.role, only.store_id
    if not person.assignments:
        raise StoreNotChosen(403, "you are assigned to no store")
    stores = [a.store_id for a in person.assignments]
    raise StoreNotChosen(400, f"you work in several stores: name one in the {STORE_HEADER} header", stores=stores,
                         errors=[{"field": STORE_HEADER, "in": "header",
                                  "message": f"required: one of {', '.join(stores)}"}])


Fetch = Callable[[str], Awaitable[Mapping[str, Any] | None]]


class _Entry(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def fetched(self) -> float: ...


E = TypeVar("E", bound=_Entry)


class _Directory(Generic[E]):
    """What network said about people or stores, by id, bounded LRU; `fetch(id)` asks network
    (None: no such one, IntrospectionFailed: network cannot say); events overrule answers."""

    _lookups: Counter = LOOKUPS
    _what = "person"

    def __init__(self, fetch: Fetch, *, ttl: float, fallback_ttl: float, stale: float, max_entries: int = 100_000,
                 feed_live: Callable[[], bool] = lambda: False, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch_one = fetch
        self.ttl, self.fallback_ttl, self.stale = ttl, fallback_ttl, stale
        self.max_entries = max_entries
        self.feed_live = feed_live
        self.clock = clock
        self._entries: OrderedDict[str, E] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[E]] = {}
        # Ids an event came about while network was being asked about them: that answer
        # may be older than the event, which is already cached.
        self._overtaken: set[str] = set()

    def _parse(self, key: str, body: Mapping[str, Any] | None, fetched: float) -> E:
        raise NotImplementedError

    def fresh_for(self) -> float:
        return self.ttl if self.feed_live() else self.fallback_ttl

    async def resolve(self, key: str) -> tuple[E, str]:
        """(what we know of it, where it came from: cache | network | stale)."""
        entry = self._entries.get(key)
        if entry is not None and self.clock() - entry.fetched < self.fresh_for():
            self._entries.move_to_end(key)
            self._lookups.labels("cache").inc()
            return entry, "cache"
        try:
            info = await self._fetch_once(key)
        except IntrospectionFailed as exc:
            entry = self._entries.get(key)
            if entry is not None and self.clock() - entry.fetched <= self.stale:
                self._lookups.labels("stale").inc()
                log.warning(f"network cannot answer; serving a cached {self._what}", id=key, error=str(exc))
                return entry, "stale"
            self._lookups.labels("unavailable").inc()
            raise NetworkUnavailable(str(exc)) from exc
        self._lookups.labels("network").inc()
        return info, "network"

    async def _fetch_once(self, key: str) -> E:
        """One question per id at a time; concurrent callers share its answer."""
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[E] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            info = self._parse(key, await self._fetch_one(key), self.clock())
            if key in self._overtaken:
                info = self._entries.get(key, info)
            else:
                self._store(info)
            future.set_result(info)
            return info
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so nobody is warned about an unread error
            raise
        finally:
            self._inflight.pop(key, None)
            self._overtaken.discard(key)

    def _store(self, info: E) -> None:
        self._entries[info.id] = info
        self._entries.move_to_end(info.id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def _heard(self, key: str, data: Mapping[str, Any]) -> E:
        """What an event says, kept as the latest truth."""
        info = self._parse(key, data, self.clock())
        if key in self._inflight:
            self._overtaken.add(key)
        self._store(info)
        return info

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class PeopleCache(_Directory[PersonInfo]):
    """Persons by id."""

    def _parse(self, key: str, body: Mapping[str, Any] | None, fetched: float) -> PersonInfo:
        return PersonInfo.from_directory(key, body, fetched)

    def person_changed(self, data: Mapping[str, Any]) -> PersonInfo | None:
        """A person event (registered, assignments changed, left): the whole person as they
        now stand."""
        person_id = data.get("person_id")
        if not isinstance(person_id, str) or not person_id:
            return None
        return self._heard(person_id, data)


class StoreStates(_Directory[StoreState]):
    """Stores' states by id, for refusing a suspended store's signed-in people."""

    _lookups = STORE_LOOKUPS
    _what = "store state"

    def _parse(self, key: str, body: Mapping[str, Any] | None, fetched: float) -> StoreState:
        return StoreState.from_directory(key, body, fetched)

    def store_changed(self, store_id: str, status: str) -> StoreState | None:
        """network.store.suspended or .activated: the store's state as it now stands."""
        if not store_id:
            return None
        return self._heard(store_id, {"status": status})
