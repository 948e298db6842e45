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
added to it (`loaded_as_persistent`, `transient_to_pending`), and every assignment to an
attribute a lookup goes by (`set`); those reports are all that fill it. So the next event
of a batch sees a customer an earlier one added, or an ownership it closed, exactly as
the flush will write them. Keeping the rows also keeps them in the session's identity
map, which holds rows only weakly: `session.get` finds a store the batch loaded once (its
time zone is looked up for every callback).

Outside a batch (the API, a single event) there is none of this, and every lookup goes
to the database."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session
from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
_KEY = "crm.batch"
Index = dict[tuple[Any, ...], list[Any]]


class BatchRows:
    """The rows a batch's session holds, by table and by the attributes lookups go by, and
    which keys its preload asked the database about."""

    def __init__(self) -> None:
        self._rows: defaultdict[type, list[Any]] = defaultdict(list)
        # (table, attribute names) -> their values -> the rows that had those values when
        # they came in or when one of the attributes was assigned since; a lookup checks
        # each against its values now, so a row whose values moved on is not answered.
        self._indexes: defaultdict[type, dict[tuple[str, ...], Index]] = defaultdict(dict)
        # id() of rows (all kept alive in _rows, so an id is never reused while this lives).
        self._kept: set[int] = set()
        self._added: set[int] = set()  # added by this transaction, not loaded
        self._gone: set[int] = set()  # deleted, or expunged before they were written
        self._asked: defaultdict[str, set[Hashable]] = defaultdict(set)

    def find(self, model: type[T], **key: Any) -> list[T]:
        """The rows of `model` whose attributes are `key` now."""
        attrs = tuple(key)
        values = tuple(key.values())
        return [row for row in self._index(model, attrs).get(values, ())
                if id(row) not in self._gone and all(getattr(row, a) == v for a, v in zip(attrs, values, strict=True))]

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

    def _index(self, model: type, attrs: tuple[str, ...]) -> Index:
        index = self._indexes[model].get(attrs)
        if index is None:
            for attr in attrs:
                _watch(model, attr)
            index = self._indexes[model][attrs] = {}
            for row in self._rows[model]:
                index.setdefault(tuple(getattr(row, a) for a in attrs), []).append(row)
        return index

    def _keep(self, row: object, added: bool) -> None:
        if added:
            self._added.add(id(row))
        if id(row) in self._kept:  # back after a delete or expunge was undone
            self._gone.discard(id(row))
            return
        self._kept.add(id(row))
        self._rows[type(row)].append(row)
        for attrs, index in self._indexes[type(row)].items():
            index.setdefault(tuple(getattr(row, a) for a in attrs), []).append(row)

    def _assigned(self, row: object, attr: str, value: Any) -> None:
        for attrs, index in self._indexes[type(row)].items():
            if attr in attrs:
                bucket = index.setdefault(tuple(value if a == attr else getattr(row, a) for a in attrs), [])
                if not any(r is row for r in bucket):
                    bucket.append(row)

    def _drop(self, row: object) -> None:
        self._gone.add(id(row))
        self._added.discard(id(row))


_watched: set[tuple[type, str]] = set()


def _watch(model: type, attr: str) -> None:
    """Tell the batch of the row's session whenever `model.attr` is assigned (once per
    process; a row outside a batch costs the listener one dictionary lookup)."""
    if (model, attr) in _watched:
        return

    def assigned(row: object, value: Any, _old: Any, _initiator: Any) -> None:
        session = object_session(row)
        rows = session.info.get(_KEY) if session is not None else None
        if rows is not None:
            rows._assigned(row, attr, value)

    event.listen(getattr(model, attr), "set", assigned)
    _watched.add((model, attr))


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
    event.listen(sync, "deleted_to_persistent", lambda _, row: rows._keep(row, added=False))
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
