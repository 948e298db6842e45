"""In-process fan-out of KPI changes to /v1/kpis/stream subscribers.

A projection transaction notes which (store, local day) figures it changed; only after
it commits are they handed to the broadcaster of the app owning that database, so a
subscriber never hears of a change that was rolled back."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlmodel.ext.asyncio.session import AsyncSession

RESYNC = "resync"
_CHANGES = "kpi_changes"
# Figures of recent changes kept for subscribers still to read them: a subscriber further
# behind than this many (store, day) figures computes its own.
SHARED_FIGURES = 4096
_by_engine: WeakKeyDictionary[Engine, KpiBroadcaster] = WeakKeyDictionary()

Change = tuple[str, date]


class KpiBroadcaster:
    """Each subscriber's queue gets `(number, changes)` per committed projection
    transaction, or RESYNC."""

    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._subscribers: set[asyncio.Queue] = set()
        self.published = 0
        self._figures: dict[tuple[int, str, date], asyncio.Task] = {}

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(self.queue_size)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, changes: Iterable[Change] | str) -> None:
        self.published += 1
        item = changes if changes == RESYNC else (self.published, frozenset(changes))
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                # Too slow to follow change by change: drop the backlog, tell it to reload.
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(RESYNC)


    def figures(self, number: int, store_id: str, day: date, load: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
        """A store's figures for a day as of change `number`, loaded once for every subscriber
        that hears of that change (500 dashboards are one query, not 500)."""
        key = (number, store_id, day)
        task = self._figures.get(key)
        if task is None:
            task = self._figures[key] = asyncio.ensure_future(load())
            while len(self._figures) > SHARED_FIGURES:
                del self._figures[next(iter(self._figures))]
        # Shielded: a subscriber leaving mid-load does not cancel the others' figures.
        return asyncio.shield(task)


def attach(engine: Engine, broadcaster: KpiBroadcaster) -> None:
    _by_engine[engine] = broadcaster


def broadcaster_for(session: AsyncSession) -> KpiBroadcaster | None:
    return _by_engine.get(session.get_bind().engine)


def note_change(session: AsyncSession, store_id: str, day: date) -> None:
    changes: set[Change] | None = session.info.get(_CHANGES)
    if changes is None:
        changes = session.info[_CHANGES] = set()
        broadcaster = broadcaster_for(session)
        if broadcaster is not None:
            sa_event.listen(session.sync_session, "after_commit", lambda _: broadcaster.publish(changes), once=True)
    changes.add((store_id, day))
