"""Build and deliver events in tests: straight into a service's handlers (unit tests,
in-memory) or onto the real broker (integration tests)."""
from __future__ import annotations

from datetime import datetime, timezone

from aiokafka import AIOKafkaProducer

from services.common.consumer import Outcome, apply_event
from services.common.events.catalogue.network import StoreCreated
from services.common.events.envelope import CloudEvent, Event
from services.common.ids import new_id


def envelope_for(event: Event, *, subject: str, store_id: str | None, time: datetime | None = None) -> CloudEvent:
    return CloudEvent.wrap(event, subject=subject, store_id=store_id, time=time or datetime.now(timezone.utc))


def store_created(store_id: str | None = None, code: str = "SH-PD-01", kind: str = "dealer_store",
                  status: str = "active", timezone_name: str = "Asia/Shanghai") -> CloudEvent:
    sid = store_id or new_id()
    return envelope_for(
        StoreCreated(store_id=sid, code=code, name=f"Store {code}", kind=kind, region="East", city="Shanghai",
                     timezone=timezone_name, status=status, created_at=datetime.now(timezone.utc)),
        subject=sid, store_id=sid,
    )


async def deliver(app, envelope: CloudEvent) -> str:
    """Apply one event through the service's own handlers and inbox, without Kafka."""
    return await apply_event(app.state.db, app.state.handlers, envelope)


async def publish(bootstrap: str, topic: str, *envelopes: CloudEvent) -> None:
    """Put events on the real broker the way a relay would (key = subject)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for env in envelopes:
            await producer.send_and_wait(topic, value=env.to_json().encode(), key=env.subject.encode())
    finally:
        await producer.stop()
