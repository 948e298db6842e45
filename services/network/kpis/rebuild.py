"""Rebuild the KPI projections from the topics: read every service's topic from the
beginning, fold the KPI events into each entity's state in memory, derive the facts and
per-day sums once per entity, and replace the four tables with them in one transaction.

Why in memory and not event by event: the live path (projection.project) reads and writes
an entity, its facts and its day's sums for every event, a dozen round trips each; over a
history of millions of events that was about 50 events/s. Folding first touches each
entity once, and the tables are written with COPY (bench/kpi_rebuild.py measures it).

Consistency: readers see the old figures until the new ones commit, never a half-built
projection. The live consumer may run meanwhile; whatever it applied before the write
transaction is in the topics below the end offsets read inside that transaction (taken
after the tables are locked), and whatever it applies after waits for the lock and lands
on the rebuilt tables, where the projection's last-writer-wins fields make applying it
again harmless. The inbox is bypassed on purpose, as every event in it is read again."""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from services.common.db import Database
from services.common.events.envelope import catalogue
from services.common.kafka import SERVICES, ensure_topics
from services.common.logging import get_logger
from services.common.settings import PlatformSettings
from services.network.kpis import repository
from services.network.kpis.broadcaster import RESYNC, KpiBroadcaster
from services.network.kpis.models import KpiDaily, KpiEntity, KpiFact, KpiPersonDaily
from services.network.kpis.projection import EXTRACTORS, Touch, derive, micros
from services.network.kpis.schemas import RebuildResult

log = get_logger(__name__)
# (events read, events in the topics when the rebuild started)
Progress = Callable[[int, int], None]
# Records handled between two yields to the event loop: the rebuild runs in a serving
# process, whose requests must not wait on it for more than a few milliseconds at a time.
SLICE = 500
# A broker answer of up to this much per partition: large fetches, few round trips.
FETCH_BYTES = 16 * 1024 * 1024
MAX_LOGGED_SKIPS = 20

class RebuildStopped(Exception):
    """The service is stopping: the rebuild ends with nothing written."""


def _envelope_of(event_type: str) -> type[BaseModel]:
    """The envelope of one KPI event type, as far as the rebuild reads it."""
    this_type: Any = Literal[event_type]  # a type made at run time, which type checkers cannot follow
    return create_model(f"KpiEnvelope_{event_type.replace('.', '_')}", __config__=ConfigDict(extra="ignore"),
                        id=(str, ...), time=(datetime, ...), type=(this_type, ...), data=(catalogue[event_type], ...))


# Every KPI event's envelope in one validator, told apart by `type` in pydantic's core.
_ANY_KPI_ENVELOPE: Any = Annotated[Union[tuple(_envelope_of(t) for t in EXTRACTORS)],  # noqa: UP007
                                   Field(discriminator="type")]
_ENVELOPES: TypeAdapter = TypeAdapter(_ANY_KPI_ENVELOPE)
# The top-level "type" as CloudEvent.to_json writes it: ahead of "data", so the first match
# is the envelope's own.
_TYPE = re.compile(rb'"type"\s*:\s*"([^"]{1,200})"')
_NOT_KPI = re.compile(r"union_tag_invalid|does not match any of the expected tags")


def _type_of(raw: bytes) -> str | None:
    """The event's type read off its JSON without parsing it, so the many events that feed
    no KPI cost a regex search; None when it cannot be read that way."""
    found = _TYPE.search(raw)
    return found.group(1).decode() if found else None


Fact = tuple[str, date, int, str | None]  # metric, local day, amount, person credited


@dataclass(slots=True)
class _Entity:
    kind: str
    store_id: str
    values: dict[str, Any] = field(default_factory=dict)
    stamps: dict[str, list] = field(default_factory=dict)
    updated_at: datetime | None = None
    facts: dict[str, Fact] = field(default_factory=dict)


class Fold:
    """Entity states folded from envelopes, with the same last-writer-wins rule per field
    as projection.merge, and the facts and per-day sums derived from them."""

    def __init__(self, zones: dict[str, str]) -> None:
        self.zones = {store: ZoneInfo(name) for store, name in zones.items()}
        self.default_zone = ZoneInfo(repository.DEFAULT_ZONE)
        self.entities: dict[str, _Entity] = {}
        self.changed: set[str] = set()  # entities whose facts are not derived yet
        self.daily: dict[tuple[str, date, str], int] = {}
        self.person_daily: dict[tuple[str, str, date, str], int] = {}
        self.applied = self.skipped = 0

    def zone(self, store_id: str) -> ZoneInfo:
        return self.zones.get(store_id, self.default_zone)

    def add(self, raw: bytes) -> None:
        """One record from a topic, validated as the consumer validates it (envelope and data,
        by the event's own model) but straight from its JSON, in pydantic's core."""
        kind = _type_of(raw)
        if kind is not None and kind not in EXTRACTORS:
            return
        try:
            envelope = _ENVELOPES.validate_json(raw)
            stamp = [micros(envelope.time), envelope.id]
        except (ValidationError, ValueError, TypeError) as exc:
            if kind is None and _NOT_KPI.search(repr(exc)):
                return  # an event of another type, whose type the peek could not read
            self.skipped += 1
            if self.skipped <= MAX_LOGGED_SKIPS:
                log.warning("kpi rebuild skipped an unreadable event", error=repr(exc)[:500])
            return
        touched = EXTRACTORS[envelope.type](envelope.data)
        if touched is None:
            return
        self.applied += 1
        for touch in touched if isinstance(touched, list) else [touched]:
            self._merge(touch, stamp, envelope.time)

    def _merge(self, touch: Touch, stamp: list, moment: datetime) -> None:
        key = touch.key
        if touch.month_of is not None:
            key = f"{key}:{datetime.fromisoformat(touch.month_of).astimezone(self.zone(touch.store_id)):%Y-%m}"
        entity = self.entities.get(key)
        if entity is None:
            entity = self.entities[key] = _Entity(touch.kind, touch.store_id)
        values, stamps = entity.values, entity.stamps
        for name, value in touch.fields.items():
            previous = stamps.get(name)
            if previous is None or stamp > previous:
                values[name], stamps[name] = value, stamp
        if entity.updated_at is None or moment > entity.updated_at:
            entity.updated_at = moment
        self.changed.add(key)

    def derive_changed(self, budget: int = SLICE) -> bool:
        """Derives the facts of up to `budget` changed entities, moving the per-day sums by
        the difference; True once none is left."""
        for _ in range(min(budget, len(self.changed))):
            key = self.changed.pop()
            entity = self.entities[key]
            for fact in entity.facts.values():
                self._count(entity, fact, -1)
            derived = derive(entity.kind, entity.values, self.zone(entity.store_id))
            entity.facts = {suffix: (str(metric), day, value, person)
                            for suffix, (metric, day, value, person) in derived.items()}
            for fact in entity.facts.values():
                self._count(entity, fact, 1)
        return not self.changed

    def _count(self, entity: _Entity, fact: Fact, sign: int) -> None:
        metric, day, value, person = fact
        k = (entity.store_id, day, metric)
        self.daily[k] = self.daily.get(k, 0) + sign * value
        if person is not None:
            p = (entity.store_id, person, day, metric)
            self.person_daily[p] = self.person_daily.get(p, 0) + sign * value

    def rows(self) -> dict[type, tuple[list[str], Iterable[tuple[Any, ...]]]]:
        """The four tables' records, generated as COPY reads them."""

        def entities() -> Iterable[tuple[Any, ...]]:
            for key, e in self.entities.items():
                yield key, e.kind, e.store_id, json.dumps({"v": e.values, "t": e.stamps}), e.updated_at

        def facts() -> Iterable[tuple[Any, ...]]:
            for key, e in self.entities.items():
                for suffix, (metric, day, value, person) in e.facts.items():
                    yield f"{key}:{suffix}", key, e.store_id, day, metric, value, person

        return {
            KpiEntity: (["key", "kind", "store_id", "state", "updated_at"], entities()),
            KpiFact: (["key", "entity_key", "store_id", "day", "metric", "value", "person_id"], facts()),
            KpiDaily: (["store_id", "day", "metric", "value"],
                       ((*k, v) for k, v in self.daily.items() if v)),
            KpiPersonDaily: (["store_id", "person_id", "day", "metric", "value"],
                             ((*k, v) for k, v in self.person_daily.items() if v)),
        }


async def _partitions(settings: PlatformSettings) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=15000)
    await admin.start()
    try:
        described = await admin.describe_topics([settings.topic(s) for s in SERVICES])
    finally:
        await admin.close()
    return [TopicPartition(topic["topic"], p["partition"]) for topic in sorted(described, key=lambda t: t["topic"])
            for p in sorted(topic["partitions"], key=lambda p: p["partition"])]


class _Reader:
    """Reads assigned partitions up to given end offsets, handing each record to a Fold."""

    def __init__(self, consumer: AIOKafkaConsumer, fold: Fold, progress: Progress | None,
                 should_stop: Callable[[], bool]) -> None:
        self.consumer, self.fold, self.progress, self.should_stop = consumer, fold, progress, should_stop
        self.read = self.total = 0

    async def read_to(self, end: dict[TopicPartition, int]) -> None:
        remaining = {tp for tp, offset in end.items() if offset > await self.consumer.position(tp)}
        while remaining:
            if self.should_stop():
                raise RebuildStopped
            batch = await self.consumer.getmany(*remaining, timeout_ms=500)
            for tp, records in batch.items():
                handled = 0
                for record in records:
                    if record.offset >= end[tp]:
                        break
                    self.fold.add(record.value)
                    self.read += 1
                    handled += 1
                    if handled % SLICE == 0:
                        await asyncio.sleep(0)
                if self.progress is not None:
                    self.progress(self.read, self.total)
            for tp in list(remaining):
                if await self.consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)


async def _derive(fold: Fold) -> None:
    while not fold.derive_changed():
        await asyncio.sleep(0)


async def rebuild(db: Database, settings: PlatformSettings, *, broadcaster: KpiBroadcaster | None = None,
                  progress: Progress | None = None, should_stop: Callable[[], bool] = lambda: False
                  ) -> RebuildResult:
    """Rebuilds the projections; `should_stop` is asked between fetches (a stopping
    service ends the rebuild with nothing written)."""
    started = time.monotonic()
    await ensure_topics(settings)
    async with db.transaction() as session:
        zones = await repository.store_zones(session)
    fold = Fold(zones)
    # No consumer group: partitions are assigned and nothing is committed, so nothing is
    # left behind on the broker.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
        client_id=f"{settings.service_name}-kpi-rebuild", enable_auto_commit=False, auto_offset_reset="earliest",
        max_poll_records=None, max_partition_fetch_bytes=FETCH_BYTES, fetch_max_bytes=4 * FETCH_BYTES,
        request_timeout_ms=30000)
    reader = _Reader(consumer, fold, progress, should_stop)
    await consumer.start()
    try:
        partitions = await _partitions(settings)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        reader.total = sum(end.values())
        await reader.read_to(end)
        await _derive(fold)
        written = time.monotonic()
        async with db.transaction() as session:
            await repository.lock_projection(session)
            # What arrived while the history was read: from here on the live consumer waits.
            caught_up = await consumer.end_offsets(partitions)
            reader.total += sum(caught_up.values()) - sum(end.values())
            await reader.read_to(caught_up)
            await _derive(fold)
            await repository.replace_projection(session, fold.rows())
        written = time.monotonic() - written
    finally:
        await consumer.stop()
    if broadcaster is not None:
        broadcaster.publish(RESYNC)
    result = RebuildResult(events_read=reader.read, events_applied=fold.applied, events_skipped=fold.skipped,
                           entities=len(fold.entities), seconds=round(time.monotonic() - started, 3),
                           write_seconds=round(written, 3))
    log.info("kpi projections rebuilt", **result.model_dump())
    return result


def cli(argv: list[str] | None = None) -> None:
    """`python -m services.network rebuild-kpis`"""
    from tqdm import tqdm

    from services.common.clock import SystemClock
    from services.common.errors import Conflict
    from services.common.logging import configure_logging
    from services.common.migrations import upgrade
    from services.network.kpis import jobs
    from services.network.main import spec
    from services.network.settings import NetworkSettings

    parser = argparse.ArgumentParser(
        prog="python -m services.network rebuild-kpis",
        description="Rebuild network's KPI projections from the four services' topics, as a rebuild job "
                    "(one at a time, shown by GET /v1/kpis/rebuild/jobs/{id}). Safe while the service runs.")
    parser.parse_args(argv)
    settings = NetworkSettings()
    configure_logging("network", settings.log_level)
    upgrade(spec.migrations_dir, settings.database_url)

    async def run() -> str:
        db = Database(settings.database_url)
        bar = tqdm(unit="event", desc="rebuilding KPIs")

        def show(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        runner = jobs.RebuildJobs(db, settings, SystemClock(), progress=show)
        try:
            async with db.transaction() as session:
                job = await runner.open(session, "cli")
            await runner.run(job.id)
            async with db.transaction() as session:
                return (await runner.get(session, job.id)).model_dump_json()
        except Conflict as exc:
            raise SystemExit(f"{exc.detail}: {exc.extra}") from exc
        finally:
            bar.close()
            await db.dispose()

    print(asyncio.run(run()))
