"""Consumer runner: applies events effectively once.

One consumer group per service, no auto-commit. Each event is applied and its id
recorded in the inbox in one database transaction (the events a fetch brought share one
transaction, all or none, falling back to one by one); offsets are committed only after
that. Redelivery therefore changes nothing. Handler failures retry with backoff; an
event that keeps failing (or cannot be parsed) goes to `<topic>.dlq` with the error and
the consumer moves on. An unreachable database, or a provider a handler needs (its handler
raises a ConnectionError), is waited out, never dead-lettered; a stop meanwhile leaves the
event to the next start."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from . import context
from .clock import Clock
from .db import Database, is_connection_error
from .events.envelope import CloudEvent, Event, catalogue
from .kafka import make_producer
from .logging import get_logger
from .settings import PlatformSettings
from .tables import InboxEvent

log = get_logger(__name__)
APPLIED = Counter("events_applied_total", "Events applied by this service", ["service", "type"])
DEAD = Counter("events_dead_lettered_total", "Events sent to the dead-letter topic", ["service", "type"])

SettingsT = TypeVar("SettingsT", bound=PlatformSettings)


@dataclass(frozen=True)
class HandlerContext(Generic[SettingsT]):
    """What every handler is given of the service it runs in, besides the session and the
    event: the clock business time is read from, and the service's settings. An app's
    handlers are bound to its own (services.common.app), so a test's clock reaches them."""

    clock: Clock
    settings: SettingsT


# handler(session, event, envelope, ctx)
Handler = Callable[[AsyncSession, Any, CloudEvent, HandlerContext[Any]], Awaitable[None]]


class PoisonEvent(Exception):
    """An event that can never be applied as it is (bad shape, unknown reference)."""


Prefetch = Callable[[AsyncSession, list[Any]], Awaitable[None]]


@dataclass
class EventHandlers:
    """Which event types a service handles, and by which function."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    # Per event type, a function that loads in one go what a batch of such events will
    # look up. A type with one promises its handler reads only through that (and through
    # what the handler itself adds to it), so its events need no flush between them.
    prefetchers: dict[str, Prefetch] = field(default_factory=dict)
    # What every handler is given when it runs; a service's registry has none, the app's
    # copy of it has the app's.
    context: HandlerContext[Any] | None = None

    def on(self, *event_types: str):
        def register(fn: Handler) -> Handler:
            for t in event_types:
                if t not in catalogue:
                    raise ValueError(f"unknown event type {t}")
                self.handlers[t] = fn
            return fn

        return register

    def prefetch(self, *event_types: str):
        def register(fn: Prefetch) -> Prefetch:
            for t in event_types:
                if t not in self.handlers:
                    raise ValueError(f"no handler for {t} to prefetch for")
                self.prefetchers[t] = fn
            return fn

        return register

    def include(self, other: EventHandlers) -> None:
        self.handlers.update(other.handlers)
        self.prefetchers.update(other.prefetchers)

    def bound(self, context: HandlerContext[Any]) -> EventHandlers:
        """These handlers, given `context` when they run."""
        return EventHandlers(dict(self.handlers), dict(self.prefetchers), context)

    def subset(self, event_types: Iterable[str]) -> EventHandlers:
        """The handlers of these event types only, run with the same context."""
        wanted = set(event_types)
        return EventHandlers({t: h for t, h in self.handlers.items() if t in wanted},
                             {t: p for t, p in self.prefetchers.items() if t in wanted}, self.context)

    def running_context(self) -> HandlerContext[Any]:
        if self.context is None:
            raise RuntimeError("these handlers have no clock and settings to run with: apply events through an "
                               "app's handlers (app.state.handlers) or EventHandlers.bound(...)")
        return self.context

    @property
    def services(self) -> set[str]:
        return {t.split(".", 1)[0] for t in self.handlers}


class Outcome:
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


async def apply_event(db: Database, handlers: EventHandlers, envelope: CloudEvent, topic: str = "") -> str:
    """Apply one event in one transaction with its inbox record. Raises on failure."""
    handler = handlers.handlers.get(envelope.type)
    if handler is None:
        return Outcome.IGNORED
    payload = _payload(envelope)
    ctx = handlers.running_context()
    try:
        async with db.transaction() as session:
            return await _apply_in(session, handler, envelope, payload, topic, ctx)
    except sa.exc.IntegrityError:
        async with db.transaction() as session:
            if await session.get(InboxEvent, envelope.id) is not None:
                return Outcome.DUPLICATE
        raise


async def apply_events(db: Database, handlers: EventHandlers, envelopes: list[tuple[CloudEvent, str]]) -> list[str]:
    """Apply several events in order (each partition's in its order) in one transaction: all or none.
    Under load this is what keeps a consumer ahead: one claim for the lot, one lookup per
    table for the lot where the handler has a prefetcher, one flush, one commit. Raises on
    any failure, having applied nothing; the caller then applies the events one by one."""
    work = []
    for envelope, topic in envelopes:
        handler = handlers.handlers.get(envelope.type)
        work.append((envelope, topic, handler, _payload(envelope) if handler is not None else None))
    handled = [(envelope, topic) for envelope, topic, handler, _ in work if handler is not None]
    if not handled:
        return [Outcome.IGNORED] * len(work)
    ctx = handlers.running_context()
    outcomes = []
    async with db.transaction() as session:
        claimed = await _claim_all(session, db, handled)
        by_type: dict[str, list[Event]] = {}
        for envelope, _, _, payload in work:
            if payload is not None and envelope.id in claimed and envelope.type in handlers.prefetchers:
                by_type.setdefault(envelope.type, []).append(payload)
        for event_type, payloads in by_type.items():
            await handlers.prefetchers[event_type](session, payloads)
        for envelope, _, handler, payload in work:
            if handler is None or payload is None:
                outcomes.append(Outcome.IGNORED)
            elif envelope.id not in claimed:
                outcomes.append(Outcome.DUPLICATE)
            else:
                claimed.discard(envelope.id)  # the same event twice in one fetch: the second is a duplicate
                await _handle(session, handler, envelope, payload, ctx)
                if envelope.type not in handlers.prefetchers:
                    await session.flush()
                outcomes.append(Outcome.APPLIED)
    return outcomes


async def _claim_all(session: AsyncSession, db: Database, envelopes: list[tuple[CloudEvent, str]]) -> set[str]:
    """The ids of `envelopes` this transaction claimed, in one round trip; the rest are
    duplicates (applied before, or twice in the batch)."""
    if not envelopes:
        return set()
    now = datetime.now(UTC)
    rows = list({e.id: dict(event_id=e.id, event_type=e.type, source_topic=topic, applied_at=now)
                 for e, topic in envelopes}.values())
    # One statement for any number of rows (SQLAlchemy sends them as one multi-row INSERT):
    # a statement with the rows written into its VALUES is compiled anew every time.
    return {row[0] for row in (await session.exec(_claim_statement(), params=rows)).all()}


@functools.cache
def _claim_statement():
    table = InboxEvent.__table__
    return pg_insert(table).on_conflict_do_nothing(index_elements=[table.c.event_id]).returning(table.c.event_id)


def _payload(envelope: CloudEvent) -> Event:
    try:
        return catalogue[envelope.type].model_validate(envelope.data)
    except ValidationError as exc:
        raise PoisonEvent(f"payload does not match {envelope.type}: {exc}") from exc


async def _apply_in(session: AsyncSession, handler: Handler, envelope: CloudEvent, payload: Event, topic: str,
                    ctx: HandlerContext[Any]) -> str:
    # Claim the event id first, in one round trip: a duplicate inserts nothing; a
    # concurrent duplicate blocks on the row until the first commits, then inserts nothing.
    row = dict(event_id=envelope.id, event_type=envelope.type, source_topic=topic,
               applied_at=datetime.now(UTC))
    claimed = (await session.exec(_claim_statement(), params=row)).first()
    if claimed is None:
        return Outcome.DUPLICATE
    await _handle(session, handler, envelope, payload, ctx)
    await session.flush()
    return Outcome.APPLIED


async def _handle(session: AsyncSession, handler: Handler, envelope: CloudEvent, payload: Event,
                  ctx: HandlerContext[Any]) -> None:
    tokens = (
        context.correlation_id.set(envelope.correlationid or envelope.id),
        context.causation_id.set(envelope.id),
    )
    try:
        await handler(session, payload, envelope, ctx)
    finally:
        context.correlation_id.reset(tokens[0])
        context.causation_id.reset(tokens[1])


class EventConsumer:
    """`group` names a consumer group of the service's own besides its main one
    (`<service>.<group>`), for events whose handlers wait on something the others do not."""

    def __init__(self, db: Database, settings: PlatformSettings, handlers: EventHandlers, *,
                 group: str | None = None) -> None:
        self.db = db
        self.settings = settings
        self.handlers = handlers
        self.topics = sorted(settings.topic(s) for s in handlers.services)
        self.group_id = settings.consumer_group + (f".{group}" if group else "")
        self.client_id = f"{settings.service_name}-consumer" + (f"-{group}" if group else "")
        self.applied = 0
        self.duplicates = 0
        self.dead_lettered = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq_producer: AIOKafkaProducer | None = None

    def _make_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.group_id,
            client_id=self.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=500,
            session_timeout_ms=10000,
            heartbeat_interval_ms=1000,
            request_timeout_ms=15000,
            retry_backoff_ms=200,
            fetch_max_wait_ms=self.settings.consumer_fetch_max_wait_ms,
        )

    async def run(self, stop: asyncio.Event) -> None:
        if not self.topics:
            return
        backoff = 0.5
        while not stop.is_set():
            consumer = self._make_consumer()
            self._consumer = consumer
            committing = None
            try:
                await consumer.start()
                backoff = 0.5
                while not stop.is_set():
                    batch = await consumer.getmany(timeout_ms=500, max_records=500)
                    if not batch:
                        continue
                    # Every partition's records, each partition's in order: applied together, so a
                    # steady trickle on several partitions still makes batches worth one transaction.
                    records = [record for part in batch.values() for record in part]
                    size = max(1, self.settings.consumer_batch_size)
                    for start in range(0, len(records), size):
                        await self._handle_records(records[start:start + size], stop)
                    # The offsets go to the broker while the next fetch is applied: a commit is a
                    # round trip to the group coordinator (a few ms, at times a hundred) that the
                    # next batch need not wait for. Commits stay in order: each waits for the last,
                    # and a failure other than a rebalance restarts the consumer, as before.
                    if committing is not None:
                        await committing
                    committing = asyncio.ensure_future(
                        self._commit_batch(consumer, {tp: part[-1].offset + 1 for tp, part in batch.items()}))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer restarting", error=repr(exc), backoff=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self._consumer = None
                if committing is not None:
                    # The last batch's commit (or one left behind by a failure): settled, its error
                    # read, before the consumer stops.
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(committing, 10)
                try:
                    await asyncio.wait_for(consumer.stop(), 10)
                except Exception:
                    pass
        await self._close_dlq()

    async def commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        await consumer.commit(offsets)

    async def _commit_batch(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self.commit(consumer, offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # A rebalance took a partition meanwhile: its new owner redelivers these and the
            # inbox skips them. aiokafka rejoins by itself; restarting the consumer would leave
            # and rejoin the group, forcing yet another rebalance on the others.
            log.info("offset commit lost to a rebalance", error=repr(exc), partitions=sorted(str(tp) for tp in offsets))

    async def _handle_records(self, records: list, stop: asyncio.Event) -> None:
        if len(records) > 1:
            try:
                envelopes = [(CloudEvent.from_json(r.value), r.topic) for r in records]
                outcomes = await apply_events(self.db, self.handlers, envelopes)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Nothing of the batch was applied: one by one, each with its retries, its
                # dead-lettering and its waiting out of a database outage.
                log.info("batch not applied whole, applying one by one", error=repr(exc), events=len(records))
            else:
                for record, (envelope, _), outcome in zip(records, envelopes, outcomes, strict=True):
                    self._count(record, envelope, outcome)
                return
        for record in records:
            await self._handle_record(record, stop)

    def _count(self, record, envelope: CloudEvent, outcome: str) -> None:
        if outcome == Outcome.APPLIED:
            self.applied += 1
            APPLIED.labels(self.settings.service_name, envelope.type).inc()
        elif outcome == Outcome.DUPLICATE:
            self.duplicates += 1

    async def _handle_record(self, record, stop: asyncio.Event) -> None:
        try:
            envelope = CloudEvent.from_json(record.value)
        except Exception as exc:
            await self.dead_letter(record, f"unreadable envelope: {exc}", attempts=1)
            return
        attempt = 0
        delay = self.settings.consumer_retry_base_seconds
        while True:
            attempt += 1
            try:
                self._count(record, envelope, await apply_event(self.db, self.handlers, envelope, record.topic))
                return
            except Exception as exc:
                if is_connection_error(exc):
                    if stop.is_set():
                        # Stopping while the database (or a provider a handler needs) is away: the
                        # event stays unapplied and its offset uncommitted, so it is applied after the
                        # restart instead of being dead-lettered by the retries below.
                        raise
                    log.warning("database or provider unreachable, waiting", error=repr(exc), event_id=envelope.id)
                    await asyncio.sleep(min(delay, 5.0))
                    delay = min(delay * 2, 5.0)
                    attempt -= 1
                    continue
                poison = isinstance(exc, PoisonEvent)
                if poison or attempt >= self.settings.consumer_max_attempts:
                    log.error("event dead-lettered", event_id=envelope.id, type=envelope.type, error=repr(exc))
                    await self.dead_letter(record, "".join(traceback.format_exception_only(exc)).strip(), attempt)
                    DEAD.labels(self.settings.service_name, envelope.type).inc()
                    return
                log.warning("event failed, retrying", event_id=envelope.id, attempt=attempt, error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def dead_letter(self, record, error: str, attempts: int) -> None:
        producer = self._dlq_producer
        if producer is None:
            producer = self._dlq_producer = make_producer(self.settings, client_id=f"{self.settings.service_name}-dlq")
            await producer.start()
        headers = [
            ("dlq.error", error[:4000].encode()),
            ("dlq.consumer", self.settings.service_name.encode()),
            ("dlq.original_topic", record.topic.encode()),
            ("dlq.original_partition", str(record.partition).encode()),
            ("dlq.original_offset", str(record.offset).encode()),
            ("dlq.attempts", str(attempts).encode()),
        ]
        await producer.send_and_wait(record.topic + ".dlq", value=record.value, key=record.key, headers=headers)
        self.dead_lettered += 1

    async def _close_dlq(self) -> None:
        if self._dlq_producer is not None:
            await self._dlq_producer.stop()
            self._dlq_producer = None


async def replay_dead_letters(db: Database, settings: PlatformSettings, handlers: EventHandlers) -> dict[str, int]:
    """Apply this service's dead letters once more (after a fix). Events already applied
    are skipped by the inbox; ones that fail again are dead-lettered again."""
    topics = [settings.topic(s) + ".dlq" for s in sorted(handlers.services)]
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"{settings.consumer_group}.dlq-replay",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    runner = EventConsumer(db, settings, handlers)
    counts = {"replayed": 0, "skipped": 0, "failed": 0}
    await consumer.start()
    try:
        partitions = consumer.assignment()
        while not partitions:
            await consumer.getmany(timeout_ms=200)
            partitions = consumer.assignment()
        end = await consumer.end_offsets(list(partitions))
        while True:
            positions = {tp: await consumer.position(tp) for tp in partitions}
            if all(positions[tp] >= end[tp] for tp in partitions):
                break
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                # Dead letters written after the start (ours included) wait for the next replay.
                records = [r for r in records if r.offset < end[tp]]
                if not records:
                    continue
                for record in records:
                    headers = dict(record.headers or [])
                    if headers.get("dlq.consumer", b"").decode() != settings.service_name:
                        counts["skipped"] += 1
                        continue
                    try:
                        # Inside the try: an unreadable dead letter must not stop the replay of the rest.
                        envelope = CloudEvent.from_json(record.value)
                        topic = headers.get("dlq.original_topic", b"").decode()
                        outcome = await apply_event(db, handlers, envelope, topic)
                        counts["replayed" if outcome == Outcome.APPLIED else "skipped"] += 1
                    except Exception as exc:
                        counts["failed"] += 1
                        original = SimpleNamespace(
                            topic=headers.get("dlq.original_topic", b"").decode() or tp.topic.removesuffix(".dlq"),
                            partition=record.partition, offset=record.offset, value=record.value, key=record.key,
                        )
                        await runner.dead_letter(original, repr(exc), 1)
                await consumer.commit({tp: records[-1].offset + 1})
    finally:
        await consumer.stop()
        await runner._close_dlq()
    return counts
