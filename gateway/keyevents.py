"""Invalidation of cached keys, and the latest word on signed-in people and their stores' states,
from network's events.

The gateway has no database and no offsets to keep: it reads `<prefix>network.events`
from the latest offset, with no consumer group, so every gateway replica sees every
event (a shared group would split the partitions and each replica would miss most
revocations). While this feed is not live, the key and person caches fall back to a TTL
of a couple of seconds, so a revocation or a leave still bites within seconds."""
from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer
from prometheus_client import Counter, Gauge

from services.common.events.envelope import CloudEvent
from services.common.kafka import ensure_topics
from services.common.logging import get_logger

from .keys import KeyCache
from .people import PeopleCache, StoreStates
from .settings import GatewaySettings

log = get_logger(__name__)
APPLIED = Counter("gateway_key_events_total", "network events applied to the key cache", ["type"])
LIVE = Gauge("gateway_key_events_live", "1 while the key invalidation feed is live")

PERSON_EVENTS = ("network.person.registered", "network.person.assignments_changed", "network.person.left")
HANDLED = ("network.api_key.revoked", "network.store.suspended", "network.store.activated", *PERSON_EVENTS)
# A partition that has not answered a fetch for this long means the feed is not live.
LIVE_WITHIN_SECONDS = 3.0


class KeyEventFeed:
    def __init__(self, settings: GatewaySettings, cache: KeyCache, people: PeopleCache | None = None,
                 stores: StoreStates | None = None) -> None:
        self.settings = settings
        self.cache = cache
        self.people = people
        self.stores = stores
        self.topic = settings.topic("network")
        self._consumer: AIOKafkaConsumer | None = None
        self.applied = 0

    def live(self) -> bool:
        consumer = self._consumer
        if consumer is None:
            return False
        partitions = consumer.assignment()
        if not partitions:
            return False
        now_ms = time.time() * 1000
        for tp in partitions:
            polled = consumer.last_poll_timestamp(tp)
            if polled is None or now_ms - polled > LIVE_WITHIN_SECONDS * 1000:
                return False
        return True

    def apply(self, envelope: CloudEvent) -> None:
        data = envelope.data
        if envelope.type == "network.api_key.revoked":
            hits = self.cache.key_revoked(str(data.get("key_id")))
        elif envelope.type == "network.store.suspended":
            hits = self.cache.store_suspended(str(data.get("store_id")))
            if self.stores is not None:
                self.stores.store_changed(str(data.get("store_id") or ""), str(data.get("status") or "suspended"))
        elif envelope.type == "network.store.activated":
            hits = self.cache.store_reactivated(str(data.get("store_id")))
            if self.stores is not None:
                self.stores.store_changed(str(data.get("store_id") or ""), str(data.get("status") or "active"))
        elif envelope.type in PERSON_EVENTS:
            if self.people is None:
                return
            hits = 0 if self.people.person_changed(data) is None else 1
        else:
            return
        self.applied += 1
        APPLIED.labels(envelope.type).inc()
        log.info("cache updated from event", event_type=envelope.type, subject=envelope.subject, entries=hits)

    async def run(self, stop: asyncio.Event) -> None:
        delay = 0.5
        while not stop.is_set():
            try:
                await self._consume(stop)
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("key event feed interrupted; retrying", error=repr(exc))
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except TimeoutError:
                    pass
                delay = min(delay * 2, 5.0)
            finally:
                LIVE.set(0)

    async def _consume(self, stop: asyncio.Event) -> None:
        # Subscribing to a topic that does not exist yet would leave us waiting for a
        # metadata refresh while its first events go by.
        await ensure_topics(self.settings, [self.topic])
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            metadata_max_age_ms=5000,
            fetch_max_wait_ms=250,
            client_id=f"{self.settings.kafka_topic_prefix}gateway-keys",
        )
        await consumer.start()
        self._consumer = consumer
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        self._apply_raw(record.value)
                LIVE.set(1 if self.live() else 0)
        finally:
            self._consumer = None
            await consumer.stop()

    def _apply_raw(self, raw: bytes | None) -> None:
        if not raw:
            return
        try:
            envelope = CloudEvent.from_json(raw)
        except Exception as exc:  # not ours to dead-letter; network's consumers do that
            log.warning("unreadable event on network topic", error=repr(exc))
            return
        if envelope.type in HANDLED:
            self.apply(envelope)
