"""KPI rebuild: how fast network rebuilds its KPI projections from the four topics.

The topics are filled with whole repair-order lives (appointment booked and checked in,
order opened, settled and delivered, the job's quality check, a part issued, the callback
made and answered, a warranty claim submitted: ten KPI events each) across 2,000 stores and
three years, produced straight to Kafka in record batches. Each life's events are the
catalogue's own (built once per day through tests/network/factories.py and copied with
new ids), so the rebuild validates and folds what a real history holds.

Measured: the rebuild as the job runs it (read, fold, derive, one write transaction), in
this process; and for comparison the per-event path the rebuild used before (each event
applied by projection.project in a transaction of its own) over a sample of the same events."""
from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer
from sqlalchemy.engine import make_url

from services.common.db import Database
from services.common.events.envelope import CloudEvent
from services.common.kafka import ensure_topics
from services.common.migrations import upgrade
from services.network.kpis.projection import project
from services.network.kpis.rebuild import rebuild
from services.network.settings import NetworkSettings

STORES = 2000
DAYS = 3 * 365
FIRST_DAY = date(2024, 1, 1)
EVENTS_PER_LIFE = 10
ORDER = "ORDERXX"
STORE = "STOREXX"
BATCH_BYTES = 1024 * 1024


def store_id(n: int) -> str:
    return f"bench-store-{n:04d}"


def _life(day: date) -> list[tuple[str, str, str]]:
    """(service, subject, JSON) of one order's life on `day`, ids carrying ORDERXX and STOREXX."""
    from tests.network import factories as f

    s, o = STORE, ORDER
    at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=1)  # 09:00 in China
    lines = [f.labour("BRK-0500", "1.5", pay_type="customer", line_id=f"l1-{o}"),
             f.part("XB-57450-S01", 2, 12000, pay_type="customer", line_id=f"l2-{o}")]
    events = [
        ("reception", f.appointment_booked(s, f"ap-{o}", at, at - timedelta(days=2))),
        ("reception", f.appointment_checked_in(s, f"ap-{o}", at, at)),
        ("reception", f.order_opened(s, repair_order_id=f"ro-{o}", opened_at=at)),
        ("reception", f.order_settled(s, lines, repair_order_id=f"ro-{o}", opened_at=at,
                                      settled_at=at + timedelta(hours=5))),
        ("reception", f.order_delivered(s, lines, repair_order_id=f"ro-{o}", opened_at=at,
                                        settled_at=at + timedelta(hours=5), delivered_at=at + timedelta(hours=6))),
        ("workshop", f.job_qc_passed(s, f"jb-{o}", at + timedelta(hours=3), "1.5", "1.4")),
        ("workshop", f.reservation_issued(s, f"rs-{o}", at + timedelta(minutes=20), at + timedelta(minutes=40))),
        ("crm", f.callback_created(s, f"cb-{o}", at + timedelta(days=3), at + timedelta(hours=6))),
        ("crm", f.callback_completed(s, f"cb-{o}", at + timedelta(days=3), at + timedelta(days=2), overall=5)),
        ("network", f.claim_submitted(s, f"cl-{o}", at + timedelta(days=1))),
    ]
    out = []
    for k, (service, envelope) in enumerate(events):
        envelope.id = f"ev-{o}-{k}"
        out.append((service, envelope.subject, envelope.to_json()))
    return out


async def _produce(bootstrap: str, settings: NetworkSettings, lives: int) -> int:
    """`lives` order lives, spread evenly over the stores and days, in record batches."""
    templates = [_life(FIRST_DAY + timedelta(days=d)) for d in range(DAYS)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=BATCH_BYTES,
                                max_request_size=4 * BATCH_BYTES, acks=1)
    await producer.start()
    sent = 0
    try:
        partitions = {service: sorted(await producer.partitions_for(settings.topic(service)))
                      for service in ("reception", "workshop", "crm", "network")}
        batches: dict[tuple[str, int], object] = {}
        pending = []

        async def flush(service: str, partition: int) -> None:
            batch = batches.pop((service, partition))
            pending.append(await producer.send_batch(batch, settings.topic(service), partition=partition))
            if len(pending) >= 64:
                await asyncio.gather(*pending)
                pending.clear()

        for n in range(lives):
            order, store = f"{n:09d}", f"{n % STORES:04d}"
            for service, subject, text in templates[n % DAYS]:
                value = text.replace(ORDER, order).replace(STORE, store).encode()
                partition = partitions[service][n % len(partitions[service])]
                batch = batches.get((service, partition))
                if batch is None:
                    batch = batches[(service, partition)] = producer.create_batch()
                key = subject.replace(ORDER, order).encode()
                if batch.append(key=key, value=value, timestamp=None) is None:
                    await flush(service, partition)
                    batch = batches[(service, partition)] = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
                sent += 1
        for service, partition in list(batches):
            await flush(service, partition)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _stores(url: str) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute("""
            INSERT INTO stores (id, code, name, kind, region, city, timezone, status, created_at, version)
            SELECT 'bench-store-' || lpad(s::text, 4, '0'), 'BS-' || s, 'Bench store ' || s, 'dealer_store', 'East',
                   'Shanghai', 'Asia/Shanghai', 'active', now(), 1
            FROM generate_series(0, $1 - 1) s""", STORES)
    finally:
        await conn.close()


async def _rows(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(_dsn(url))
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                for t in ("kpi_entities", "kpi_facts", "kpi_daily", "kpi_person_daily")}
    finally:
        await conn.close()


async def _per_event(db: Database, settings: NetworkSettings, sample: list[bytes]) -> float:
    """The path the rebuild took before: each event validated as a CloudEvent and applied in
    a transaction of its own. Events per second."""
    from services.common.events.envelope import catalogue

    started = time.perf_counter()
    for raw in sample:
        envelope = CloudEvent.from_json(raw)
        async with db.transaction() as session:
            await project(session, catalogue[envelope.type].model_validate(envelope.data), envelope)
    return len(sample) / (time.perf_counter() - started)


def run(bootstrap: str, create_database, events: int = 1_000_000, sample: int = 2000) -> dict:
    from services import network

    url = create_database("bench_kpi_rebuild")
    upgrade(Path(network.__file__).parent / "migrations", url)
    settings = NetworkSettings(database_url=url, kafka_bootstrap_servers=bootstrap,
                               kafka_topic_prefix=f"kpirebuild{int(time.time())}.", kafka_topic_partitions=6)

    async def go() -> dict:
        await ensure_topics(settings)
        await _stores(url)
        started = time.perf_counter()
        produced = await _produce(bootstrap, settings, events // EVENTS_PER_LIFE)
        produce_seconds = time.perf_counter() - started
        db = Database(url)
        try:
            before = resource.getrusage(resource.RUSAGE_SELF)
            load = os.getloadavg()[0]
            result = await rebuild(db, settings)
            after = resource.getrusage(resource.RUSAGE_SELF)
            load = max(load, os.getloadavg()[0])
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            rows = await _rows(url)
            lives = [_life(FIRST_DAY + timedelta(days=d)) for d in range(sample // EVENTS_PER_LIFE)]
            raws = [text.replace(ORDER, f"s{d:08d}").replace(STORE, "0001").encode()
                    for d, life in enumerate(lives) for _, _, text in life]
            old_rate = await _per_event(db, settings, raws)
        finally:
            await db.dispose()
        rate = result.events_read / result.seconds
        reading = result.events_read / (result.seconds - result.write_seconds)
        return {
            "events": produced, "stores": STORES, "days": DAYS, "produce_seconds": round(produce_seconds, 1),
            "rebuild": result.model_dump(), "events_per_s": round(rate), "reading_events_per_s": round(reading),
            "write_seconds": result.write_seconds, "rows": rows,
            # The rebuild's own CPU (this process: Kafka client, validation, fold, COPY's encoding),
            # the figure a busy shared machine moves least; PostgreSQL's is apart.
            "cpu_seconds": round(cpu, 1), "events_per_cpu_s": round(result.events_read / cpu),
            "peak_rss_mb": after.ru_maxrss // 1024, "rss_before_mb": before.ru_maxrss // 1024,
            "load_average_max": round(load, 1),
            "per_event_path": {"events": len(raws), "events_per_s": round(old_rate, 1)},
            "speedup": round(rate / old_rate, 1),
            "target": "the rebuild reads and applies at least 20,000 events/s",
        }

    out = asyncio.run(go())
    print(json.dumps(out, indent=2))
    return out
