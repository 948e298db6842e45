"""Database plumbing: one engine per service, one transaction per request or event.

Services and repositories never commit; the transaction boundary does, so an outbox row
exists if and only if the change it describes does."""
from __future__ import annotations

import asyncio
import copy
import functools
import time as _time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

OUTBOX_WRITTEN = "outbox_written"


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes: a naive value is refused rather than guessed at."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.astimezone(UTC)


def empty_dict() -> dict:
    """Default factory for JSON columns. pydantic inspects a factory's signature each time
    a table row is built; for the builtin `dict` that means parsing its text signature,
    measured at about a tenth of the cost of applying an event."""
    return {}


def empty_list() -> list:
    """See empty_dict."""
    return []


# Values that are never mutated in place, so a default of one of these types is shared,
# not copied, between rows.
_IMMUTABLE = (str, int, float, bool, bytes, Decimal, datetime, date, time, timedelta, type(None), frozenset, tuple)
# (name, default, factory): with `factory` true the default is called for each row. The
# default's type is the field's, which differs from field to field.
_FieldDefault = tuple[str, Any, bool]
_RowPlan = tuple[frozenset[str], tuple[_FieldDefault, ...]]
_ROW_PLANS: dict[type[SQLModel], _RowPlan] = {}


def _row_plan(cls: type[SQLModel]) -> _RowPlan:
    """The model's field names, and for each optional field either its default (shared,
    being immutable) or a function making a fresh one, worked out once per class."""
    plan = _ROW_PLANS.get(cls)
    if plan is None:
        defaults: list[_FieldDefault] = []
        for name, field in cls.model_fields.items():
            if field.default_factory is not None:
                defaults.append((name, field.default_factory, True))
            elif field.is_required():
                continue
            elif isinstance(field.default, _IMMUTABLE):
                defaults.append((name, field.default, False))
            else:
                defaults.append((name, functools.partial(copy.deepcopy, field.default), True))
        plan = _ROW_PLANS[cls] = (frozenset(cls.model_fields), tuple(defaults))
    return plan


def _new_row(self, **values) -> None:
    """A new table row: the given values and every other field's default, as SQLModel's
    own constructor makes it (table models are not validated), without its per-field path
    through pydantic's and SQLAlchemy's attribute setters. That path was about a third of
    the CPU CRM spent applying a delivery. SQLAlchemy's instrumentation has created the
    row's state before this runs, and a new row's INSERT takes its values from `__dict__`.
    Unlike SQLModel's, a name that is not a field is an error, not silently dropped."""
    cls = type(self)
    fields, defaults = _row_plan(cls)
    if not values.keys() <= fields:
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(values.keys() - fields))}")
    given = set(values)
    for name, default, factory in defaults:
        if name not in given:
            values[name] = default() if factory else default
    self.__dict__.update(values)
    object.__setattr__(self, "__pydantic_fields_set__", given)
    object.__setattr__(self, "__pydantic_extra__", None)
    object.__setattr__(self, "__pydantic_private__", None)


class ServiceModel(SQLModel):
    """Base of every service's models. Its rows are built by `_new_row`. A service's own base
    subclasses it with a registry of its own, so each service's tables stay its own even when
    several services are imported into one process (tests, tools):

        class NetworkModel(ServiceModel, registry=registry()): ...
    """

    __init__ = _new_row


def table_of(model: type[SQLModel]) -> sa.Table:
    """A table model's Core table, for statements on the table itself (upserts, bulk updates).
    SQLModel does not declare `__table__` to type checkers; the mapper's local table is it."""
    table = sa.inspect(model).local_table
    if not isinstance(table, sa.Table):
        raise TypeError(f"{model.__name__} is not mapped to one table")
    return table


# A pooled connection unused for longer than this is checked before it is handed out.
IDLE_BEFORE_PING_SECONDS = 1.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Hand out only live connections, without paying a check for every transaction.

    SQLAlchemy's `pool_pre_ping` pings on every checkout, and for asyncpg its ping is three
    round trips (BEGIN, an empty query, ROLLBACK): more than many transactions' own
    statements. A connection back in the pool less than a second ago was working then; one
    that has waited longer (across a database restart, say) gets one empty query first, and
    a dead one is replaced before anyone sees it. A connection that dies in use fails its
    transaction either way: the consumer applies the event again, an API request answers
    503, and SQLAlchemy then drops every connection older than that failure."""

    @sa_event.listens_for(engine.sync_engine, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info["returned_at"] = _time.monotonic()

    @sa_event.listens_for(engine.sync_engine, "checkout")
    def _check(dbapi_connection, record, proxy) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or _time.monotonic() - returned_at < IDLE_BEFORE_PING_SECONDS:
            return
        try:
            await_only(dbapi_connection.driver_connection.execute(";"))
        except Exception as exc:
            # The pool discards this connection and checks out another (a new one if need be).
            raise sa.exc.DisconnectionError(f"pooled connection is gone: {exc!r}") from exc


class Database:
    """One service's PostgreSQL database (asyncpg), pooled."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        if not url.startswith("postgresql"):
            raise ValueError(f"PostgreSQL is the platform's one database; got {make_url(url).drivername!r}")
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size)
        _ping_when_idle(self.engine)
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._outbox_listeners: list[Callable[[], None]] = []

    def on_outbox_commit(self, callback: Callable[[], None]) -> None:
        self._outbox_listeners.append(callback)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        if session.info.get(OUTBOX_WRITTEN):
            for callback in self._outbox_listeners:
                callback()

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


_UNREACHABLE_MARKERS = ("connection", "closed", "refused", "shutting down", "starting up", "terminat",
                        "timeout", "recovery mode")
# TargetServerAttributeNotMatched: a multi-host URL with target_session_attrs=read-write found
# no primary (it died and its standby is not promoted yet); ReadOnlySQLTransactionError: a
# connection made before a switchover reached the old primary, now a standby.
_UNREACHABLE_TYPES = {"ConnectionDoesNotExistError", "CannotConnectNowError", "AdminShutdownError",
                      "ConnectionFailureError", "InterfaceError", "ConnectionResetError", "ConnectionRefusedError",
                      "TargetServerAttributeNotMatched", "ReadOnlySQLTransactionError"}


def is_connection_error(exc: BaseException) -> bool:
    """Errors that mean 'the database is unreachable right now', worth retrying forever."""
    if isinstance(exc, (OSError, ConnectionError, asyncio.TimeoutError)):
        return True
    if type(exc).__name__ in _UNREACHABLE_TYPES:
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = getattr(exc, "orig", None)
        names = {type(orig).__name__, type(getattr(orig, "__cause__", None)).__name__}
        if names & _UNREACHABLE_TYPES:
            return True
        if isinstance(exc, sa.exc.IntegrityError):
            return False
        text = str(exc).lower()
        return any(marker in text for marker in _UNREACHABLE_MARKERS)
    return False
