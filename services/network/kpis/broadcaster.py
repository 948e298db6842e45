"""In-process fan-out of KPI changes to /v1/kpis/stream subscribers.

A projection transaction notes which (store, local day) figures it changed; only after
it commits are they handed to the broadcaster of the app owning that database, so a
subscriber never hears of a change that was rolled back."""
from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date
from weakref import WeakKeyDictionary

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlmodel.ext.asyncio.session import AsyncSession

RESYNC = "resync"
_CHANGES = "kpi_changes"
_by_engine: WeakKeyDictionary[Engine, KpiBroadcaster] = WeakKeyDictionary()

Change = tuple[str, date]


class KpiBroadcaster:
    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._subscribers: set[asyncio.Queue] = set()
        self.published = 0

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
        item = changes if changes == RESYNC else frozenset(changes)
        self.published += 1
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                # Too slow to follow change by change: drop the backlog, tell it to reload.
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(RESYNC)


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
