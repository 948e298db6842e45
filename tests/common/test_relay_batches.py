"""The relay hands rows to Kafka as record batches per partition: against the real broker,
every key lands where `producer.send` would have put it, in the order it was written, and
a payload larger than a whole batch still goes out."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import DefaultPartitioner

from services.common.db import Database
from services.common.events.catalogue.crm import ReminderSent
from services.common.events.envelope import CloudEvent
from services.common.kafka import ensure_topics, topic_for_type
from services.common.relay import OutboxRelay
from services.common.settings import PlatformSettings
from services.common.tables import OutboxMessage

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=timezone.utc)
KEYS = [f"LSVAU2180N218{n:04d}" for n in range(20)]


def rows(count: int, big_every: int = 0) -> list[dict]:
    out = []
    for i in range(count):
        vin = KEYS[i % len(KEYS)]
        event = CloudEvent.wrap(
            ReminderSent(reminder_id=f"rem-{i:05d}", store_id="store-1", vin=vin, kind="periodic_maintenance",
                         channel="sms", sent_at=NOW),
            subject=vin, store_id="store-1", time=NOW)
        payload = event.to_json()
        if big_every and i % big_every == big_every - 1:
            # Over the producer's 256 KiB batch, under its 1 MiB request limit.
            payload = payload[:-1] + ', "padding": "' + "x" * 300_000 + '"}'
        out.append({"event_id": event.id, "event_type": event.type, "key": vin, "payload": payload, "created_at": NOW})
    return out


async def test_each_key_lands_on_the_partition_send_would_choose_in_order_and_nothing_is_left(
        database_url, kafka_bootstrap, topic_prefix):
    settings = PlatformSettings(service_name="crm", database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap,
                                kafka_topic_prefix=topic_prefix, relay_batch_size=300)
    await ensure_topics(settings)
    written = rows(1500, big_every=500)
    db = Database(database_url)
    relay = OutboxRelay(db, settings)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(sa.insert(OutboxMessage.__table__), written)
        await relay._ensure_producer()
        assert await relay.publish_batch() == len(written)
        async with db.engine.connect() as conn:
            unsent = await conn.scalar(sa.select(sa.func.count()).select_from(OutboxMessage.__table__)
                                       .where(OutboxMessage.__table__.c.sent_at.is_(None)))
        assert unsent == 0
    finally:
        await relay.close()
        await db.dispose()

    topic = topic_for_type(settings, written[0]["event_type"])
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None, max_partition_fetch_bytes=2 * 1024 * 1024,
                                fetch_max_bytes=8 * 1024 * 1024)
    await consumer.start()
    received = []
    try:
        partitions = sorted(consumer.partitions_for_topic(topic))
        while len(received) < len(written):
            batches = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 30)
            for records in batches.values():
                received.extend(records)
    finally:
        await consumer.stop()

    assert len(received) == len(written)
    partitioner = DefaultPartitioner()
    by_key: dict[str, list[str]] = {}
    for record in sorted(received, key=lambda r: (r.partition, r.offset)):
        key = record.key.decode()
        assert record.partition == partitioner(record.key, partitions, partitions), key
        by_key.setdefault(key, []).append(record.value.decode())
    for key in KEYS:
        expected = [r["payload"] for r in written if r["key"] == key]
        assert by_key[key] == expected
    assert sum(len(value) > 300_000 for values in by_key.values() for value in values) == 3
