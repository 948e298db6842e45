"""Kafka plumbing: topic names, topic creation, producer settings."""
from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from .logging import get_logger
from .settings import PlatformSettings

SERVICES = ("reception", "workshop", "crm", "network")
log = get_logger(__name__)


def all_topics(settings: PlatformSettings) -> list[str]:
    topics = [settings.topic(s) for s in SERVICES]
    return topics + [t + ".dlq" for t in topics]


def topic_for_type(settings: PlatformSettings, event_type: str) -> str:
    return settings.topic(event_type.split(".", 1)[0])


def make_producer(settings: PlatformSettings, **overrides) -> AIOKafkaProducer:
    options = dict(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
        client_id=f"{settings.service_name}-producer",
    )
    options.update(overrides)
    return AIOKafkaProducer(**options)


async def ensure_topics(settings: PlatformSettings, topics: list[str] | None = None) -> None:
    """Create our topics if missing (the broker does not auto-create them)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in (topics or all_topics(settings)) if t not in existing]
        if not wanted:
            return
        new = [
            NewTopic(
                name=t,
                num_partitions=settings.kafka_topic_partitions,
                replication_factor=settings.kafka_replication_factor,
            )
            for t in wanted
        ]
        try:
            await admin.create_topics(new)
        except TopicAlreadyExistsError:
            pass
        log.info("topics created", topics=wanted)
    finally:
        await admin.close()


async def ensure_topics_with_retry(settings: PlatformSettings, stop: asyncio.Event | None = None) -> None:
    delay = 0.5
    while True:
        try:
            await ensure_topics(settings)
            return
        except Exception as exc:  # broker not up yet: keep trying, readiness says so meanwhile
            log.warning("cannot create topics yet", error=repr(exc))
            if stop is not None and stop.is_set():
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def broker_reachable(settings: PlatformSettings, timeout: float = 2.0) -> bool:
    """Some broker of the bootstrap list accepts connections (in a cluster, one of them may be down)."""
    for server in settings.kafka_bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host or "127.0.0.1", int(port)), timeout)
            writer.close()
            return True
        except Exception:
            continue
    return False
