"""The whole path on the real broker and PostgreSQL: reception's delivered order arrives on
`<prefix>reception.events`, CRM (in this process, with its consumer and outbox relay)
makes the callback due in the store's call window, and announces it on `<prefix>crm.events`."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer

from services.common.clock import ManualClock
from services.common.kafka import ensure_topics
from services.crm.main import create_app
from services.crm.settings import CrmSettings
from tests.crm import factories as f
from tests.support.events import publish, store_created
from tests.support.platform import Caller, eventually, running

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


async def crm_events(settings: CrmSettings, wanted: set[str]) -> dict[str, dict]:
    """The crm.callback.created events on the broker, by callback id, once all wanted are there."""
    consumer = AIOKafkaConsumer(settings.topic("crm"), bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=None, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    seen: dict[str, dict] = {}
    try:
        async def all_there():
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    event = json.loads(record.value)
                    if event["type"] == "crm.callback.created":
                        seen[event["data"]["callback_id"]] = event
            return wanted <= set(seen)

        await eventually(all_there, timeout=30, message="callback.created not published")
    finally:
        await consumer.stop()
    return seen


async def test_a_delivered_order_gives_a_callback_due_in_the_shanghai_call_window_and_a_day_for_club_members(
        kafka_bootstrap, pg_url, topic_prefix):
    settings = CrmSettings(database_url=pg_url, kafka_bootstrap_servers=kafka_bootstrap,
                           kafka_topic_prefix=topic_prefix, relay_poll_seconds=0.2)
    app = create_app(settings, clock=ManualClock(local(2026, 3, 2, 9)))
    async with running(app) as client:
        await ensure_topics(settings)
        store = store_created(code="SH-PD-01", timezone_name="Asia/Shanghai")
        await publish(kafka_bootstrap, settings.topic("network"), store)
        agent = Caller(client, "crm_agent", store.subject, "agent-zhang")

        member = f.person("俱乐部会员", "13600000001")
        await publish(kafka_bootstrap, settings.topic("reception"), f.booked(store.subject, local(2026, 2, 20, 9),
                                                                             customer=member))

        async def member_known():
            items = (await agent.get("/v1/customers", params={"phone": member.phone})).json().get("items")
            return items and items[0]

        customer = await eventually(member_known, message="booking not consumed")
        r = await agent.patch(f"/v1/customers/{customer['id']}", json={"club_member": True},
                              headers={"If-Match": f'"{customer["version"]}"'})
        assert r.status_code == 200, r.text

        regular = f.delivered(store.subject, local(2026, 3, 2, 13, 0), customer=f.person("普通客户", "13600000002"),
                              vehicle=f.car(vin="LSVKAFKA000000001"))
        club = f.delivered(store.subject, local(2026, 3, 2, 19, 30), customer=member,
                           vehicle=f.car(vin="LSVKAFKA000000002"))
        await publish(kafka_bootstrap, settings.topic("reception"), regular, club)

        async def callback_for(order):
            items = (await agent.get("/v1/callbacks", params={"repair_order_id": order.subject})).json()["items"]
            return items and items[0]

        three_days = await eventually(lambda: callback_for(regular), message="no callback for the delivered order")
        one_day = await eventually(lambda: callback_for(club), message="no callback for the club member's order")

        # Due inside the last call window of day 3 (15:00-18:00 Shanghai), never later: 17:59, 09:59 UTC.
        assert datetime.fromisoformat(three_days["due_at"]) == datetime(2026, 3, 5, 9, 59, tzinfo=timezone.utc)
        assert three_days["due_at_local"] == "2026-03-05T17:59:00+08:00"
        # A club member's is inside the last window of day 1, however late the car left.
        assert datetime.fromisoformat(one_day["due_at"]) == datetime(2026, 3, 3, 9, 59, tzinfo=timezone.utc)
        assert one_day["due_at_local"] == "2026-03-03T17:59:00+08:00"
        assert {three_days["advisor_id"], one_day["advisor_id"]} == {"advisor-li"}

        announced = await crm_events(settings, {three_days["id"], one_day["id"]})
        assert announced[one_day["id"]]["data"]["due_at"] in ("2026-03-03T09:59:00Z", "2026-03-03T09:59:00+00:00")
        assert announced[three_days["id"]]["subject"] == three_days["id"]
        assert announced[three_days["id"]]["storeid"] == store.subject
