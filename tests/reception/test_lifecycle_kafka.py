"""A car from appointment to handover over HTTP, on PostgreSQL, with the workshop's events
fed through the real Kafka broker and reception's events read back from its topic."""
import json
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaConsumer
from sqlmodel import select

from services.common.kafka import ensure_topics
from services.common.tables import OutboxMessage
from services.reception.main import create_app
from tests.reception import factories
from tests.reception.conftest import reception_settings
from tests.support.events import publish, store_created
from tests.support.platform import Caller, eventually, running


@pytest.fixture
def settings(pg_url, kafka_bootstrap, topic_prefix):
    return reception_settings(pg_url, kafka_bootstrap_servers=kafka_bootstrap, kafka_topic_prefix=topic_prefix,
                              relay_poll_seconds=0.2, consumer_retry_base_seconds=0.05)


async def _topic_events(settings, at_least: int) -> list[dict]:
    """Every message on reception's topic, read from the start until at least `at_least`
    have come and nothing is left before the topic's end."""
    topic = settings.topic("reception")
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    records = []
    try:
        async def caught_up():
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            if len(records) < at_least or not consumer.assignment():
                return False
            end = await consumer.end_offsets(list(consumer.assignment()))
            for tp, offset in end.items():
                if await consumer.position(tp) < offset:
                    return False
            return True

        await eventually(caught_up, message=f"{topic} did not deliver {at_least} events")
        return [{**json.loads(r.value), "_key": r.key.decode()} for r in records]
    finally:
        await consumer.stop()


async def _outbox(app) -> list[OutboxMessage]:
    async with app.state.db.transaction() as session:
        return list((await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_a_car_goes_from_appointment_to_handover_with_workshop_events_over_kafka(settings, clock):
    await ensure_topics(settings)
    store = store_created(code="SH-PD-01")
    await publish(settings.kafka_bootstrap_servers, settings.topic("network"), store)
    app = create_app(settings, clock=clock)
    async with running(app) as client:
        advisor = Caller(client, "service_advisor", store.subject, "advisor-li")

        async def store_known():
            return (await advisor.get("/v1/appointments/availability?date=2026-12-01")).status_code == 200

        await eventually(store_known, message="the store never arrived from network's topic")

        async def ok(call, status=200) -> dict:
            r = await call
            assert r.status_code == status, r.text
            return r.json()

        appointment = await ok(advisor.post("/v1/appointments", json=factories.appointment(
            clock.now() + timedelta(hours=1), service_type="repair")), 201)
        order = await ok(advisor.post("/v1/repair-orders", json=factories.check_in(appointment_id=appointment["id"]),
                                      headers={"Idempotency-Key": "checkin-1"}), 201)
        url = f"/v1/repair-orders/{order['id']}"
        for line in (factories.labour("BRK-0210"), factories.part("XB-45022-F10"),
                     factories.labour("ELE-0110", pay_type="warranty"), factories.part("XB-31500-B60", pay_type="warranty")):
            await ok(advisor.post(f"{url}/lines", json=line), 201)
        await ok(advisor.post(f"{url}/estimate"))
        await ok(advisor.post(f"{url}/approve", json={"approved_by": "Zhang Wei", "channel": "in_person"}))
        order = await ok(advisor.post(f"{url}/lines", json=factories.labour("SUS-0320")), 201)
        await ok(advisor.post(f"{url}/approve", json={"approved_by": "Zhang Wei", "channel": "phone"}))

        clock.advance(minutes=20)
        await publish(settings.kafka_bootstrap_servers, settings.topic("workshop"),
                      factories.work_started(order, clock.now()))

        async def status_is(wanted: str):
            return (await advisor.get(url)).json()["status"] == wanted

        await eventually(lambda: status_is("in_progress"), message="work_started did not arrive")
        clock.advance(hours=2)
        ready = factories.ready(order, clock.now())
        # The same envelope twice, as a redelivering broker would.
        await publish(settings.kafka_bootstrap_servers, settings.topic("workshop"), ready, ready)
        await eventually(lambda: status_is("ready"), message="ready did not arrive")

        async def duplicate_skipped():
            return app.state.consumer.duplicates >= 1

        await eventually(duplicate_skipped, message="the redelivered event was not seen")
        order = await ok(advisor.get(url))
        assert [h["to_status"] for h in order["history"]].count("ready") == 1
        t = order["totals"]
        assert (t["customer_fen"], t["warranty_fen"]) == (38000 + 68000 + 38000, 15200 + 88000)
        assert t["customer_due_fen"] == t["customer_fen"] + t["tax_fen"] == 144000 + 18720
        order = await ok(advisor.post(f"{url}/settle", json={"payments": [
            {"method": "card", "amount_fen": 100000}, {"method": "wechat_pay", "amount_fen": 62720}]}))
        assert order["status"] == "settled" and order["invoice"]["number"] == "INV-SH-PD-01-20261201-0001"
        order = await ok(advisor.post(f"{url}/deliver", json={"delivered_by": "Li Na", "explained": True}))
        assert order["status"] == "delivered"
        assert [h["to_status"] for h in order["history"]] == [
            "open", "awaiting_approval", "approved", "approved", "in_progress", "ready", "settled", "delivered"]

        async def all_sent():
            rows = await _outbox(app)
            return rows if rows and all(r.sent_at is not None for r in rows) else None

        rows = await eventually(all_sent, message="the relay did not publish the outbox")

    published = await _topic_events(settings, at_least=len(rows))
    # Exactly the outbox, once each, keyed by the aggregate.
    assert sorted(e["id"] for e in published) == sorted(r.event_id for r in rows)
    assert all(e["_key"] == e["subject"] for e in published)
    by_subject: dict[str, list[str]] = {}
    for e in published:
        by_subject.setdefault(e["subject"], []).append(e["type"])
    assert by_subject == {
        appointment["id"]: ["reception.appointment.booked", "reception.appointment.checked_in"],
        order["id"]: ["reception.repair_order.opened", "reception.repair_order.approved",
                      "reception.repair_order.extra_work_proposed", "reception.repair_order.approved",
                      "reception.repair_order.settled",
                      "reception.repair_order.delivered"],
    }
    approvals = [e["data"] for e in published if e["type"] == "reception.repair_order.approved"]
    assert [len(a["lines"]) for a in approvals] == [4, 1] and approvals[1]["supplement"] is True
    assert approvals[1]["lines"][0]["op_code"] == "SUS-0320"
    settled = next(e["data"] for e in published if e["type"] == "reception.repair_order.settled")
    assert settled["totals"]["customer_due_fen"] == 162720 and len(settled["lines"]) == 5
    assert all(e["storeid"] == store.subject for e in published)
