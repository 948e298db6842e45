"""Relay throughput against a raw aiokafka producer on the same broker.

Both publish the same envelopes (same sizes, same keys) with the same producer settings
(idempotent, acks=all). The raw producer only sends; the relay also reads the outbox
from PostgreSQL and marks rows sent, which is the price of never losing an event."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from services.common.db import Database
from services.common.events.catalogue.crm import ReminderSent
from services.common.events.envelope import CloudEvent
from services.common.kafka import ensure_topics, make_producer
from services.common.migrations import upgrade
from services.common.relay import OutboxRelay
from services.common.settings import PlatformSettings
from services.common.tables import OutboxMessage

BENCH_MIGRATIONS = Path(__file__).parent / "migrations"


def envelopes(count: int, keys: int = 64) -> list[CloudEvent]:
    now = datetime.now(timezone.utc)
    out = []
    for i in range(count):
        key = f"vin-{i % keys:04d}"
        out.append(CloudEvent.wrap(
            ReminderSent(reminder_id=f"r{i}", store_id="bench-store", vin=key, kind="periodic_maintenance",
                         channel="sms", sent_at=now),
            subject=key, store_id="bench-store", time=now))
    return out


async def raw_producer(settings: PlatformSettings, events: list[CloudEvent]) -> float:
    topic = settings.topic("crm")
    producer = make_producer(settings)
    await producer.start()
    try:
        payloads = [(e.to_json().encode(), e.subject.encode()) for e in events]
        start = time.perf_counter()
        futures = [await producer.send(topic, value=v, key=k) for v, k in payloads]
        await asyncio.gather(*futures)
        return time.perf_counter() - start
    finally:
        await producer.stop()


async def relay(settings: PlatformSettings, events: list[CloudEvent]) -> float:
    """From the commit of `events` into the outbox to the broker's acknowledgement of the
    last one. The relay is already running, leading and connected, as in production: the
    raw producer's timing does not include its start either."""
    db = Database(settings.database_url)
    worker = OutboxRelay(db, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        while worker._producer is None:
            await asyncio.sleep(0.01)
        now = datetime.now(timezone.utc)
        rows = [{"event_id": e.id, "event_type": e.type, "key": e.subject, "payload": e.to_json(), "created_at": now}
                for e in events]
        async with db.engine.begin() as conn:
            await conn.execute(sa.insert(OutboxMessage.__table__), rows)
        start = time.perf_counter()
        worker.wake()
        while worker.published < len(events):
            await asyncio.sleep(0.002)
        return time.perf_counter() - start
    finally:
        stop.set()
        await task
        await db.dispose()


async def run_async(bootstrap: str, database_url: str, count: int, rounds: int) -> dict:
    settings = PlatformSettings(service_name="bench", database_url=database_url, kafka_bootstrap_servers=bootstrap,
                                kafka_topic_prefix=f"bench{int(time.time())}.")
    await ensure_topics(settings)
    await raw_producer(settings, envelopes(500))  # warm the broker and the JIT
    raw_times, relay_times = [], []
    for _ in range(rounds):
        raw_times.append(await raw_producer(settings, envelopes(count)))
        relay_times.append(await relay(settings, envelopes(count)))
    raw_rate = count / min(raw_times)
    relay_rate = count / min(relay_times)
    return {
        "events": count,
        "rounds": rounds,
        "raw_producer_events_per_s": round(raw_rate),
        "relay_events_per_s": round(relay_rate),
        "relay_vs_raw": round(relay_rate / raw_rate, 3),
        "target": "relay at least 50 % of the raw producer",
    }


def run(bootstrap: str, create_database, count: int = 20000, rounds: int = 3) -> dict:
    url = create_database("bench_relay")
    upgrade(BENCH_MIGRATIONS, url)
    return asyncio.run(run_async(bootstrap, url, count, rounds))
