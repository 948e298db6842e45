"""Cached keys are invalidated by network's events on the real broker, not by a TTL:
the cache here is told to keep keys for five minutes, and network keeps saying the key
is fine; only the events can make the gateway refuse it."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from services.common.events.catalogue.network import ApiKeyRevoked, StoreActivated, StoreSuspended
from tests.gateway.fakes import gateway
from tests.support.events import envelope_for, publish
from tests.support.platform import eventually


def store_event(cls, store_id: str, **extra):
    now = datetime.now(timezone.utc)
    return envelope_for(cls(store_id=store_id, code="SH-01", name="Store", kind="dealer_store",
                            status=extra.pop("status"), **extra), subject=store_id, store_id=store_id, time=now)


async def test_revocation_and_suspension_events_bite_within_seconds(kafka_bootstrap, topic_prefix):
    long = dict(key_events=True, kafka_bootstrap_servers=kafka_bootstrap, kafka_topic_prefix=topic_prefix,
                key_cache_ttl_seconds=300, key_cache_fallback_ttl_seconds=300)
    async with gateway(**long) as rig:
        feed = rig.app.state.feed
        await eventually(lambda: _true(feed.live()), timeout=30, message="key event feed never became live")
        topic = f"{topic_prefix}network.events"
        advisor = rig.key("service_advisor", "store-a", key_id="key-advisor")
        manager = rig.key("store_manager", "store-b", key_id="key-manager")
        other = rig.key("service_advisor", "store-c", key_id="key-other")
        for key in (advisor, manager, other):
            assert (await rig.client.get("/api/reception/v1/appointments", headers=rig.bearer(key))).status_code == 200

        now = datetime.now(timezone.utc)
        started = time.monotonic()
        await publish(kafka_bootstrap, topic, envelope_for(
            ApiKeyRevoked(key_id="key-advisor", role="service_advisor", store_id="store-a", revoked_at=now),
            subject="key-advisor", store_id="store-a"))

        async def refused(key: str, status: int):
            r = await rig.client.get("/api/reception/v1/appointments", headers=rig.bearer(key))
            return r.status_code == status

        await eventually(lambda: refused(advisor, 401), timeout=5, message="revoked key still accepted after 5 s")
        assert time.monotonic() - started < 5

        await publish(kafka_bootstrap, topic, store_event(StoreSuspended, "store-b", status="suspended",
                                                          reason="audit", suspended_at=now))
        await eventually(lambda: refused(manager, 403), timeout=5, message="suspended store's key still accepted")
        # Other keys are untouched, and network was not asked again about them.
        assert (await rig.client.get("/api/reception/v1/appointments", headers=rig.bearer(other))).status_code == 200

        await publish(kafka_bootstrap, topic, store_event(StoreActivated, "store-b", status="active", activated_at=now))
        await eventually(lambda: refused(manager, 200), timeout=5, message="reactivated store's key still refused")
        assert feed.applied == 3


async def _true(value):
    return value
