"""Rebuild the KPI projections from the topics: reset them, then read every service's
topic from the beginning with a fresh consumer group and apply the KPI events again.

The inbox is bypassed on purpose (every event in it was applied before the reset); the
projection itself is idempotent and order-independent, so the live consumer may keep
running meanwhile and the figures end up the same as a first reading gives."""
from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from services.common.db import Database
from services.common.events.envelope import CloudEvent, catalogue
from services.common.ids import new_id
from services.common.kafka import SERVICES, ensure_topics
from services.common.logging import get_logger
from services.common.settings import PlatformSettings
from services.network.kpis import repository
from services.network.kpis.broadcaster import RESYNC, KpiBroadcaster
from services.network.kpis.projection import KPI_EVENT_TYPES, project
from services.network.kpis.schemas import RebuildResult

log = get_logger(__name__)
Progress = Callable[[int, int], None]


async def _apply(db: Database, envelope: CloudEvent) -> bool:
    event = catalogue[envelope.type].model_validate(envelope.data)
    for attempt in (1, 2, 3):
        try:
            async with db.transaction() as session:
                await project(session, event, envelope)
            return True
        except IntegrityError:
            # The live consumer created the same entity a moment ago; read it and merge.
            if attempt == 3:
                raise
    return False


async def _partitions(settings: PlatformSettings) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=15000)
    await admin.start()
    try:
        described = await admin.describe_topics([settings.topic(s) for s in SERVICES])
    finally:
        await admin.close()
    return [TopicPartition(topic["topic"], p["partition"]) for topic in sorted(described, key=lambda t: t["topic"])
            for p in sorted(topic["partitions"], key=lambda p: p["partition"])]


async def rebuild(db: Database, settings: PlatformSettings, *, broadcaster: KpiBroadcaster | None = None,
                  progress: Progress | None = None) -> RebuildResult:
    started = time.monotonic()
    await ensure_topics(settings)
    async with db.transaction() as session:
        await repository.reset(session)
    if broadcaster is not None:
        broadcaster.publish(RESYNC)
    group = f"{settings.consumer_group}.kpi-rebuild.{new_id()}"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group,
        client_id=f"{settings.service_name}-kpi-rebuild",
        enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500, request_timeout_ms=15000,
    )
    read = applied = skipped = 0
    await consumer.start()
    try:
        partitions = await _partitions(settings)
        # Assigned, not subscribed: no group rebalance to wait for; the group only records offsets.
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        total = sum(end.values())
        remaining = {tp for tp in partitions if end[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= end[tp]:
                        break
                    read += 1
                    try:
                        envelope = CloudEvent.from_json(record.value)
                        if envelope.type in KPI_EVENT_TYPES and await _apply(db, envelope):
                            applied += 1
                    except (ValidationError, ValueError) as exc:
                        skipped += 1
                        log.warning("kpi rebuild skipped an unreadable event", topic=tp.topic, offset=record.offset,
                                    error=repr(exc)[:500])
                if records:
                    await consumer.commit({tp: min(records[-1].offset + 1, end[tp])})
                if progress is not None:
                    progress(read, total)
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    if broadcaster is not None:
        broadcaster.publish(RESYNC)
    result = RebuildResult(consumer_group=group, events_read=read, events_applied=applied, events_skipped=skipped,
                           seconds=round(time.monotonic() - started, 3))
    log.info("kpi projections rebuilt", **result.model_dump())
    return result


def cli(argv: list[str] | None = None) -> None:
    """`python -m services.network rebuild-kpis`"""
    from tqdm import tqdm

    from services.common.logging import configure_logging
    from services.common.migrations import upgrade
    from services.network.main import spec
    from services.network.settings import NetworkSettings

    parser = argparse.ArgumentParser(
        prog="python -m services.network rebuild-kpis",
        description="Reset network's KPI projections and rebuild them from the four services' topics "
                    "(read from the beginning with a fresh consumer group). Safe while the service runs.")
    parser.parse_args(argv)
    settings = NetworkSettings()
    configure_logging("network", settings.log_level)
    upgrade(spec.migrations_dir, settings.database_url)

    async def run() -> RebuildResult:
        db = Database(settings.database_url)
        bar = tqdm(unit="event", desc="rebuilding KPIs")

        def show(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            return await rebuild(db, settings, progress=show)
        finally:
            bar.close()
            await db.dispose()

    print(asyncio.run(run()).model_dump_json())
