"""Signed-in staff at the gateway: the person behind a token, from network's staff
directory, and the store they act for.

A token says who signed in (`person_id`); what they may do comes from the directory: are
they still with the group, which stores they work in and their role in each. The gateway
keeps what network said about each person it has seen, asks network (GET /v1/people/{id},
as its system identity) about a person it has not, and applies network's person events as
they come (keyevents.py): each carries the whole person, so a person who leaves is refused
within moments, whatever token they still hold. As for keys, entries are asked about again
after a TTL (short while the event feed is not live), and while network cannot answer a
person seen recently keeps working for a bounded time."""
from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from services.common.identity import HQ_ROLES, STORE_ROLES
from services.common.logging import get_logger

from .keys import IntrospectionFailed, NetworkUnavailable

log = get_logger(__name__)
LOOKUPS = Counter("gateway_person_lookups_total", "Staff directory lookups by where the answer came from", ["source"])

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


class PeopleCache:
    """Persons by id, bounded LRU; `fetch(person_id)` asks network (None: no such person,
    IntrospectionFailed: network cannot say)."""

    def __init__(self, fetch: Fetch, *, ttl: float, fallback_ttl: float, stale: float, max_entries: int = 100_000,
                 feed_live: Callable[[], bool] = lambda: False, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch_person = fetch
        self.ttl, self.fallback_ttl, self.stale = ttl, fallback_ttl, stale
        self.max_entries = max_entries
        self.feed_live = feed_live
        self.clock = clock
        self._entries: OrderedDict[str, PersonInfo] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[PersonInfo]] = {}
        # Persons an event came about while network was being asked about them: that
        # answer may be older than the event, which is already cached.
        self._overtaken: set[str] = set()

    def fresh_for(self) -> float:
        return self.ttl if self.feed_live() else self.fallback_ttl

    async def resolve(self, person_id: str) -> tuple[PersonInfo, str]:
        """(what we know of the person, where it came from: cache | network | stale)."""
        entry = self._entries.get(person_id)
        if entry is not None and self.clock() - entry.fetched < self.fresh_for():
            self._entries.move_to_end(person_id)
            LOOKUPS.labels("cache").inc()
            return entry, "cache"
        try:
            info = await self._fetch_once(person_id)
        except IntrospectionFailed as exc:
            entry = self._entries.get(person_id)
            if entry is not None and self.clock() - entry.fetched <= self.stale:
                LOOKUPS.labels("stale").inc()
                log.warning("network cannot say who this is; serving a cached person", person_id=person_id,
                            error=str(exc))
                return entry, "stale"
            LOOKUPS.labels("unavailable").inc()
            raise NetworkUnavailable(str(exc)) from exc
        LOOKUPS.labels("network").inc()
        return info, "network"

    async def _fetch_once(self, person_id: str) -> PersonInfo:
        """One question per person at a time; concurrent callers share its answer."""
        pending = self._inflight.get(person_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[PersonInfo] = asyncio.get_running_loop().create_future()
        self._inflight[person_id] = future
        try:
            info = PersonInfo.from_directory(person_id, await self._fetch_person(person_id), self.clock())
            if person_id in self._overtaken:
                info = self._entries.get(person_id, info)
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
            self._inflight.pop(person_id, None)
            self._overtaken.discard(person_id)

    def _store(self, info: PersonInfo) -> None:
        self._entries[info.id] = info
        self._entries.move_to_end(info.id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def person_changed(self, data: Mapping[str, Any]) -> PersonInfo | None:
        """A person event (registered, assignments changed, left): the whole person as they
        now stand, kept as the latest truth."""
        person_id = data.get("person_id")
        if not isinstance(person_id, str) or not person_id:
            return None
        info = PersonInfo.from_directory(person_id, data, self.clock())
        if person_id in self._inflight:
            self._overtaken.add(person_id)
        self._store(info)
        return info

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
