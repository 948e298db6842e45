"""A batch of events applied in one transaction, and the lookups its handlers make.

The consumer applies the events of a fetch in one transaction
(`services.common.consumer.apply_events`). Looking up every delivery's customer, vehicle,
owners, order, first callback and churn episode one at a time was most of what a
delivery cost to apply, so the batch's preload (`customers.service.preload_for_orders`)
asks the database once per table for the whole batch, and the repository functions that
ran those queries note which keys they asked about. A later lookup of such a key is
answered from the rows in the session, matched on their values as they are now: the
database has no other row for that key than the ones the preload loaded and the ones
this transaction adds, and both are in the session.

Nobody writes to this by hand. SQLAlchemy reports every row loaded into the session or
added to it (`loaded_as_persistent`, `transient_to_pending`), and those reports are all
that fill it; so the next event of a batch sees a customer an earlier one added, or an
ownership it closed, exactly as the flush will write them. Keeping the rows also keeps
them in the session's identity map, which holds rows only weakly: `session.get` finds a
store the batch loaded once (its time zone is looked up for every callback).

Outside a batch (the API, a single event) there is none of this, and every lookup goes
to the database."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
_KEY = "crm.batch"


class BatchRows:
    """The rows a batch's session holds, by table, and which keys its preload asked about."""

    def __init__(self) -> None:
        self._rows: defaultdict[type, list[Any]] = defaultdict(list)
        self._added: set[int] = set()  # id() of the rows this transaction added (kept alive in _rows)
        self._asked: defaultdict[str, set[Hashable]] = defaultdict(set)

    def of(self, model: type[T]) -> list[T]:
        return self._rows[model]

    def added(self, row: object) -> bool:
        """Whether this transaction added `row`, rather than loading it."""
        return id(row) in self._added

    def asked(self, lookup: str, key: Hashable) -> bool:
        return key in self._asked[lookup]

    def not_asked(self, lookup: str, keys: Iterable[K]) -> set[K]:
        asked = self._asked[lookup]
        return {key for key in keys if key not in asked}

    def ask(self, lookup: str, keys: Iterable[Hashable]) -> None:
        """Record that every row answering `lookup` for `keys` is now in the session."""
        self._asked[lookup].update(keys)

    def _keep(self, row: object, added: bool) -> None:
        self._rows[type(row)].append(row)
        if added:
            self._added.add(id(row))

    def _drop(self, row: object) -> None:
        rows = self._rows[type(row)]
        self._rows[type(row)] = [r for r in rows if r is not row]
        self._added.discard(id(row))


def batch_rows(session: AsyncSession) -> BatchRows | None:
    return session.info.get(_KEY)


def begin(session: AsyncSession) -> BatchRows:
    """Keep the session's rows from now until the end of its transaction (a session is one
    transaction: `Database.transaction`)."""
    rows = batch_rows(session)
    if rows is not None:
        return rows
    rows = session.info[_KEY] = BatchRows()
    sync: Session = session.sync_session
    for row in list(sync.identity_map.values()):
        rows._keep(row, added=False)
    for row in sync.new:
        rows._keep(row, added=True)
    event.listen(sync, "loaded_as_persistent", lambda _, row: rows._keep(row, added=False))
    event.listen(sync, "transient_to_pending", lambda _, row: rows._keep(row, added=True))
    event.listen(sync, "pending_to_transient", lambda _, row: rows._drop(row))
    event.listen(sync, "persistent_to_deleted", lambda _, row: rows._drop(row))
    return rows


async def answering(session: AsyncSession, lookup: str, key: Hashable) -> BatchRows | None:
    """The batch's rows when its preload asked the database about `key` for `lookup`: the
    answer is among them. Otherwise None, and the caller asks the database; inside a batch,
    the rows its events added are flushed first, since its handlers may run without
    autoflush."""
    rows = batch_rows(session)
    if rows is None:
        return None
    if rows.asked(lookup, key):
        return rows
    await session.flush()
    return None
