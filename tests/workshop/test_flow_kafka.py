"""From reception's approval on the real broker to the workshop's `ready` on the real
broker, over HTTP, with the service on PostgreSQL: the whole way a repair order goes
through the workshop."""
from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

from aiokafka import AIOKafkaConsumer

from services.common.clock import ManualClock
from services.common.kafka import ensure_topics
from services.common.ids import new_id
from services.workshop.main import create_app
from services.workshop.settings import WorkshopSettings
from tests.support.events import publish, store_created
from tests.support.platform import Caller, eventually, running
from tests.workshop.conftest import START
from tests.workshop.factories import approved, labor, part

PADS = "XB-45022-F10"


class TopicReader:
    """Reads a topic from the beginning into a list, in the background."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid.uuid4().hex}",
                                         auto_offset_reset="earliest", enable_auto_commit=False)
        self.events: list[dict] = []
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> "TopicReader":
        await self.consumer.start()
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for record in self.consumer:
            self.events.append(json.loads(record.value))

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.consumer.stop()

    def of(self, event_type: str, subject: str | None = None) -> list[dict]:
        return [e for e in self.events if e["type"] == event_type and (subject is None or e["subject"] == subject)]


async def test_approved_order_on_the_broker_becomes_ready_on_the_broker(kafka_bootstrap, pg_url, topic_prefix):
    settings = WorkshopSettings(database_url=pg_url, kafka_bootstrap_servers=kafka_bootstrap,
                                kafka_topic_prefix=topic_prefix, relay_poll_seconds=0.2)
    await ensure_topics(settings)
    store_id = new_id()
    clock = ManualClock(START)
    app = create_app(settings, clock=clock)

    async with TopicReader(kafka_bootstrap, f"{topic_prefix}workshop.events") as workshop_events, \
            running(app) as client:
        manager = Caller(client, "store_manager", store_id, "manager-1")
        technician = Caller(client, "technician", store_id, "tech-li")
        foreman = Caller(client, "technician", store_id, "foreman-wu")
        clerk = Caller(client, "parts_clerk", store_id, "clerk-1")

        await publish(kafka_bootstrap, f"{topic_prefix}network.events", store_created(store_id, code="SH-PD-01"))
        order = approved(store_id, [labor("BRK-0210"), part(PADS, "2")], approved_at=clock.now())
        await publish(kafka_bootstrap, f"{topic_prefix}reception.events", order)

        async def the_job():
            items = (await manager.get("/v1/jobs", params={"repair_order_id": order.subject})).json()["items"]
            return items[0] if items else None

        job = await eventually(the_job, message="no job made from the approval")
        assert job["status"] == "pending"
        (reservation,) = (await clerk.get("/v1/reservations", params={"repair_order_id": order.subject})).json()["items"]
        assert reservation["status"] == "backordered"
        await eventually(lambda: _backordered_on_broker(workshop_events, reservation["id"]))

        async def technician_created():
            r = await manager.post("/v1/technicians", json={"name": "Li Wei", "skills": ["brakes"],
                                                            "principal_id": "tech-li"})
            return r.json() if r.status_code == 201 else None

        tech = await eventually(technician_created, message="store never became known")
        assert (await manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": tech["id"]})).status_code == 200
        assert (await technician.post(f"/v1/jobs/{job['id']}/start")).status_code == 200
        clock.advance(minutes=54)
        assert (await technician.post(f"/v1/jobs/{job['id']}/complete", json={"notes": "pads and bleed"})).status_code == 200
        assert (await technician.post(f"/v1/jobs/{job['id']}/qc", json={"result": "pass"})).status_code == 409
        assert (await foreman.post(f"/v1/jobs/{job['id']}/qc", json={"result": "pass"})).status_code == 200

        receipt = await clerk.post("/v1/stock/receipts", json={"reference": "DN-1", "lines": [{"part_no": PADS, "qty": 2}]})
        assert receipt.json()["filled_reservations"] == [reservation["id"]]
        assert (await clerk.post(f"/v1/reservations/{reservation['id']}/issue")).status_code == 200

        ready = await eventually(lambda: _one(workshop_events.of("workshop.repair_order.ready", order.subject)),
                                 message="no ready event on the broker")
        assert ready["storeid"] == store_id
        assert ready["data"]["jobs"] == 1
        assert Decimal(ready["data"]["clocked_hours"]) == Decimal("0.90")
        assert Decimal(ready["data"]["flat_rate_hours"]) == Decimal("1.00")
        order_events = [e["type"] for e in workshop_events.events if e["subject"] == order.subject]
        assert order_events == ["workshop.repair_order.work_started", "workshop.repair_order.ready"]
        (issued,) = workshop_events.of("workshop.reservation.issued")
        assert issued["data"]["filled_from_stock"] is False and issued["data"]["reserved_at"]
        (passed,) = workshop_events.of("workshop.job.qc_passed")
        assert passed["data"]["inspector"] == "foreman-wu"
        assert passed["correlationid"]  # the request that caused it

        # The broker delivers the approval again: still one job, still one ready.
        consumer = app.state.consumer
        duplicates = consumer.duplicates
        await publish(kafka_bootstrap, f"{topic_prefix}reception.events", order)
        await eventually(lambda: _true(consumer.duplicates > duplicates), message="redelivery not seen")
        assert len((await manager.get("/v1/jobs", params={"repair_order_id": order.subject})).json()["items"]) == 1
        assert len(workshop_events.of("workshop.job.created")) == 1
        assert len(workshop_events.of("workshop.repair_order.ready")) == 1


async def _backordered_on_broker(reader: TopicReader, reservation_id: str) -> bool:
    return any(e["data"]["reservation_id"] == reservation_id for e in reader.of("workshop.reservation.backordered"))


async def _one(items: list):
    return items[0] if len(items) == 1 else None


async def _true(value: bool) -> bool:
    return value
