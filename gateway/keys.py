"""API keys at the gateway: introspection by network, cached by the key's SHA-256.

The raw key is never kept: it lives only for the duration of the request that carried
it. Entries are refreshed after a short TTL, dropped or turned inactive at once by
network's events (see keyevents.py), and, while network cannot answer, a key seen
recently keeps working for a bounded time so the platform keeps serving."""
from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from prometheus_client import Counter

from services.common.logging import get_logger

log = get_logger(__name__)
LOOKUPS = Counter("gateway_key_lookups_total", "API-key lookups by where the answer came from", ["source"])
_CACHE_HITS = LOOKUPS.labels("cache")  # once per proxied request: labels() is not free

# Tokens network issues are "ak_" + urlsafe base64; anything else cannot be a key.
_TOKEN = re.compile(r"^[A-Za-z0-9_\-.~+/=]{8,200}$")


def key_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    return bool(_TOKEN.match(token))


@dataclass(frozen=True)
class KeyInfo:
    """What network said about a key, and when (monotonic seconds)."""

    active: bool
    fetched: float
    id: str | None = None
    role: str | None = None
    store_id: str | None = None
    name: str = ""
    # The person the key is issued to, whom it acts as; none for a machine's key.
    person_id: str | None = None
    person_name: str = ""
    store_status: str | None = None
    reason: str | None = None

    @classmethod
    def from_introspection(cls, body: dict, fetched: float) -> KeyInfo:
        return cls(active=bool(body.get("active")), fetched=fetched, id=body.get("id"), role=body.get("role"),
                   store_id=body.get("store_id"), name=body.get("name") or "", person_id=body.get("person_id"),
                   person_name=body.get("person_name") or "", store_status=body.get("store_status"),
                   reason=body.get("reason"))


class IntrospectionFailed(Exception):
    """Network could not say (down, timing out, or answering something unusable)."""


class NetworkUnavailable(Exception):
    """The key is not known here and network cannot be asked."""


Introspect = Callable[[str], Awaitable[dict]]


class KeyCache:
    def __init__(self, introspect: Introspect, *, ttl: float, fallback_ttl: float, stale: float,
                 max_entries: int = 100_000, feed_live: Callable[[], bool] = lambda: False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._introspect = introspect
        self.ttl, self.fallback_ttl, self.stale = ttl, fallback_ttl, stale
        self.max_entries = max_entries
        self.feed_live = feed_live
        self.clock = clock
        self._entries: OrderedDict[str, KeyInfo] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[KeyInfo]] = {}
        # Which invalidation (a running count) last touched a key or store: an
        # introspection that started before it may carry the old truth and is not trusted.
        self._invalidations = 0
        self._key_events: dict[str, tuple[int, float]] = {}
        self._store_events: dict[str, tuple[int, float]] = {}

    # -- lookups -------------------------------------------------------------------

    def fresh_for(self) -> float:
        return self.ttl if self.feed_live() else self.fallback_ttl

    async def resolve(self, token: str) -> tuple[KeyInfo, str]:
        """(what we know of the key, where it came from: cache | network | stale)."""
        digest = key_hash(token)
        now = self.clock()
        entry = self._entries.get(digest)
        if entry is not None and now - entry.fetched < self.fresh_for():
            self._entries.move_to_end(digest)
            _CACHE_HITS.inc()
            return entry, "cache"
        try:
            info = await self._fetch_once(digest, token)
        except IntrospectionFailed as exc:
            entry = self._entries.get(digest)
            if entry is not None and self.clock() - entry.fetched <= self.stale:
                LOOKUPS.labels("stale").inc()
                log.warning("network cannot introspect; serving a cached key", key_id=entry.id, error=str(exc))
                return entry, "stale"
            LOOKUPS.labels("unavailable").inc()
            raise NetworkUnavailable(str(exc)) from exc
        LOOKUPS.labels("network").inc()
        return info, "network"

    async def _fetch_once(self, digest: str, token: str) -> KeyInfo:
        """One introspection per key at a time; concurrent callers share its answer."""
        pending = self._inflight.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[KeyInfo] = asyncio.get_running_loop().create_future()
        self._inflight[digest] = future
        try:
            info = await self._fetch(digest, token)
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
            self._inflight.pop(digest, None)

    async def _fetch(self, digest: str, token: str) -> KeyInfo:
        for _ in range(3):
            started = self._invalidations
            body = await self._introspect(token)
            info = KeyInfo.from_introspection(body, fetched=self.clock())
            if not self._invalidated_since(info, started):
                self._store(digest, info)
                return info
        # Events keep overtaking us: answer with the last truth, but do not cache it.
        return info

    def _invalidated_since(self, info: KeyInfo, started: int) -> bool:
        return (info.id is not None and self._key_events.get(info.id, (-1, 0.0))[0] >= started) or (
            info.store_id is not None and self._store_events.get(info.store_id, (-1, 0.0))[0] >= started)

    def _note(self, book: dict[str, tuple[int, float]], name: str) -> None:
        book[name] = (self._invalidations, self.clock())
        self._invalidations += 1

    def _store(self, digest: str, info: KeyInfo) -> None:
        self._entries[digest] = info
        self._entries.move_to_end(digest)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    # -- invalidation by events ------------------------------------------------------

    def key_revoked(self, key_id: str) -> int:
        self._note(self._key_events, key_id)
        return self._mark(lambda e: e.id == key_id, reason="revoked")

    def store_suspended(self, store_id: str) -> int:
        self._note(self._store_events, store_id)
        return self._mark(lambda e: e.store_id == store_id, reason="store suspended", store_status="suspended")

    def store_reactivated(self, store_id: str) -> int:
        """The store works again: forget what we knew, so its keys are asked about anew."""
        self._note(self._store_events, store_id)
        gone = [d for d, e in self._entries.items() if e.store_id == store_id]
        for digest in gone:
            del self._entries[digest]
        return len(gone)

    def _mark(self, match: Callable[[KeyInfo], bool], **changes) -> int:
        # Turned inactive rather than dropped: if network is down right now, the key
        # must still be refused, not treated as unknown.
        now = self.clock()
        hits = [d for d, e in self._entries.items() if match(e)]
        for digest in hits:
            self._entries[digest] = replace(self._entries[digest], active=False, fetched=now, **changes)
        self._prune_events(now)
        return len(hits)

    def _prune_events(self, now: float) -> None:
        # Introspections last seconds at most; older marks can no longer matter.
        horizon = now - 60
        for book in (self._key_events, self._store_events):
            for name in [n for n, (_, t) in book.items() if t < horizon]:
                del book[name]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
