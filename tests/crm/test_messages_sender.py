"""Customer messages on the real PostgreSQL of the `crm` fixture, sent by the sender to the
providers' stand-ins (a real SMTP server, the SMS and WeChat HTTP stand-in): consent and
opt-out, quiet hours, fallback to the next channel, backoff after a rate limit, and what
the API shows. The store's clock starts Monday 2 March 2026, 10:00 in Shanghai."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.events.catalogue import workshop as ws
from services.common.ids import new_id
from services.crm.messages.sender import Sender
from services.crm.settings import CrmSettings
from tests.crm import factories as f
from tests.support.events import envelope_for
from tests.support.message_providers import stand_ins
from tests.support.platform import Caller, identity

SHANGHAI = ZoneInfo("Asia/Shanghai")
WANG = f.person("王先生", "13800138000")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def ready(store_id: str, repair_order_id: str, at: datetime):
    event = ws.RepairOrderReady(repair_order_id=repair_order_id, store_id=store_id, ready_at=at, jobs=1,
                                clocked_hours="1.0", flat_rate_hours="1.0")
    return envelope_for(event, subject=repair_order_id, store_id=store_id, time=at)


@pytest.fixture
async def providers():
    async with stand_ins() as running:
        yield running


@pytest.fixture
async def sender(crm, providers):
    settings = CrmSettings(database_url=str(crm.app.state.db.url), kafka_bootstrap_servers="127.0.0.1:9",
                           messages_backoff_seconds=30, messages_max_attempts=4, **providers.settings())
    made = Sender(crm.app.state.db, settings, crm.clock)
    yield made
    await made.close()


async def put(caller: Caller, url: str, json: dict):
    """PUT as `caller` (the shared Caller has no put; consent is the one PUT here)."""
    return await caller.client.put(url, json=json, headers=identity(caller.role, caller.store_id,
                                                                     caller.principal_id))


async def customer_id(crm, phone: str) -> str:
    return (await crm.agent.get("/v1/customers", params={"phone": phone})).json()["items"][0]["id"]


async def messages(crm, **params) -> list[dict]:
    r = await crm.agent.get("/v1/messages", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def an_open_order(crm, customer=WANG) -> str:
    order_id = new_id()
    await crm.deliver(f.opened(crm.store_id, crm.clock.now() - timedelta(hours=3), repair_order_id=order_id,
                               customer=customer))
    return order_id


async def test_a_ready_car_is_told_on_every_channel_the_customer_allows_once(crm, providers, sender):
    order_id = await an_open_order(crm)
    cid = await customer_id(crm, WANG.phone)
    r = await put(crm.agent, f"/v1/customers/{cid}/consent",
                            json={"email": {"address": "wang@example.cn", "service": True, "marketing": False}})
    assert r.status_code == 200, r.text
    await crm.deliver(ready(crm.store_id, order_id, crm.clock.now()))

    await sender.run_once()
    await sender.run_once()

    (sms,) = providers.arrived("sms")
    (mail,) = providers.arrived("email")
    assert sms.address == "13800138000" and sms.payload["template"] == "SMS_CAR_READY"
    assert sms.payload["params"]["plate"] == "沪A12345"
    assert mail.address == "wang@example.cn" and mail.payload["subject"].startswith("车辆已完工")
    assert "Your car 沪A12345 is ready for pick-up" in mail.payload["text"]
    sent = {m["channel"]: m for m in await messages(crm, about=order_id)}
    assert {c: m["status"] for c, m in sent.items()} == {"sms": "sent", "email": "sent"}
    assert sms.key == sent["sms"]["id"] and mail.key == sent["email"]["id"]
    # What API.md names for a message: channel, template, status, sent_at.
    assert {(m["template"], m["kind"]) for m in sent.values()} == {(sent["sms"]["kind"], sent["sms"]["kind"])}
    assert all(m["sent_at"] is not None for m in sent.values())
    detail = (await crm.agent.get(f"/v1/messages/{sent['sms']['id']}")).json()
    assert [(a["outcome"], a["settled_by"]) for a in detail["attempt_log"]] == [("accepted", "answer")]
    assert detail["body"].startswith("王先生您好,您的爱车沪A12345已完工")


async def test_an_sms_the_carrier_delivered_is_marked_delivered(crm, providers, sender):
    order_id = await an_open_order(crm)
    await crm.deliver(ready(crm.store_id, order_id, crm.clock.now()))
    await sender.run_once()
    crm.clock.advance(minutes=3)
    await sender.run_once()
    (message,) = await messages(crm, about=order_id)
    assert message["status"] == "delivered"


async def test_an_opt_out_holds_even_for_a_message_already_queued(crm, providers, sender):
    order_id = await an_open_order(crm)
    await crm.deliver(ready(crm.store_id, order_id, crm.clock.now()))
    (queued,) = await messages(crm, about=order_id)
    assert queued["status"] == "queued"
    cid = await customer_id(crm, WANG.phone)
    r = await put(crm.agent, f"/v1/customers/{cid}/consent", json={"sms": {"service": False, "marketing": False}})
    assert r.status_code == 200, r.text
    assert [c["effective_service"] for c in r.json()["channels"]] == [False, False, False]

    await sender.run_once()

    assert providers.arrived("sms") == []
    (skipped,) = await messages(crm, about=order_id)
    assert skipped["status"] == "skipped" and "does not allow service messages on sms" in skipped["status_reason"]
    # A later notice is not even queued.
    later = await an_open_order(crm)
    await crm.deliver(ready(crm.store_id, later, crm.clock.now()))
    (nothing,) = await messages(crm, about=later)
    assert nothing["status"] == "skipped"


async def maintenance_due(crm, phone: str) -> str:
    """A car sold 2025-09-15 whose first maintenance is due 2026-03-15; the daily job reminds it."""
    await crm.deliver(f.delivered(crm.store_id, local(2025, 12, 15, 15), customer=f.person("赵女士", phone),
                                  vehicle=f.car(vin=f"LSVMSG{phone[-11:]}", sold_at=date(2025, 9, 15)),
                                  mileage_km=600, lines=[f.labour("BRK-0210", "brake pads", "1.2", 36000)]))
    r = await crm.manager.post("/v1/jobs/maintenance_reminders/run")
    assert r.status_code == 200, r.text
    (reminder,) = (await crm.agent.get("/v1/reminders", params={"vin": f"LSVMSG{phone[-11:]}"})).json()["items"]
    return reminder["id"]


async def test_no_invitation_at_night_in_the_store_s_time_but_a_ready_car_is_told(crm, providers, sender):
    crm.clock.set(local(2026, 3, 2, 22, 30))
    reminder_id = await maintenance_due(crm, "13900000001")
    order_id = await an_open_order(crm)
    await crm.deliver(ready(crm.store_id, order_id, crm.clock.now()))

    await sender.run_once()

    assert [a.payload["template"] for a in providers.arrived("sms")] == ["SMS_CAR_READY"]
    (invitation,) = await messages(crm, about=reminder_id)
    assert invitation["status"] == "queued" and invitation["kind"] == "first_maintenance_invitation"
    assert datetime.fromisoformat(invitation["next_attempt_at"]) == local(2026, 3, 3, 9, 0)
    pending = (await crm.agent.get(f"/v1/reminders/{reminder_id}")).json()
    assert pending["status"] == "pending"

    crm.clock.set(local(2026, 3, 3, 9, 0))
    await sender.run_once()

    assert [a.payload["template"] for a in providers.arrived("sms")] == ["SMS_CAR_READY", "SMS_MAINTENANCE_INVITATION"]
    sent = (await crm.agent.get(f"/v1/reminders/{reminder_id}")).json()
    assert sent["status"] == "sent" and sent["channel"] == "sms" and sent["sent_by"] == "customer-messages"
    assert [e["data"]["reminder_id"] for e in await crm.emitted("crm.reminder.sent")] == [reminder_id]


async def test_marketing_opt_out_stops_invitations_but_not_service_messages(crm, providers, sender):
    phone = "13900000002"
    await crm.deliver(f.booked(crm.store_id, crm.clock.now() - timedelta(days=300), customer=f.person("赵女士", phone),
                               scheduled_at=crm.clock.now() - timedelta(days=290)))
    cid = await customer_id(crm, phone)
    customer = (await crm.agent.get(f"/v1/customers/{cid}")).json()
    r = await crm.agent.patch(f"/v1/customers/{cid}", json={"contact_preferences": {"marketing_opt_out": True}},
                              headers={"If-Match": f'"{customer["version"]}"'})
    assert r.status_code == 200, r.text
    order_id = await an_open_order(crm, f.person("赵女士", phone))
    await crm.deliver(ready(crm.store_id, order_id, crm.clock.now()))

    await sender.run_once()

    assert [a.payload["template"] for a in providers.arrived("sms")] == ["SMS_CAR_READY"]
    # The daily job does not remind a customer who opted out, so no invitation is even written.
    assert await messages(crm, kind="first_maintenance_invitation", customer_id=cid) == []


async def test_a_failing_sms_provider_falls_back_to_wechat(crm, providers, sender):
    booking = f.booked(crm.store_id, crm.clock.now(), customer=WANG, scheduled_at=local(2026, 3, 6, 9, 30))
    await crm.deliver(f.booked(crm.store_id, crm.clock.now() - timedelta(days=30), customer=WANG,
                               scheduled_at=crm.clock.now() - timedelta(days=29)))
    cid = await customer_id(crm, WANG.phone)
    r = await put(crm.agent, f"/v1/customers/{cid}/consent",
                            json={"wechat": {"openid": "oWANG0001", "service": True, "marketing": True}})
    assert r.status_code == 200, r.text
    providers.recorder.plan("sms", "isv.MOBILE_NUMBER_ILLEGAL")
    await crm.deliver(booking)

    await sender.run_once()

    assert providers.arrived("sms") == []
    (wechat,) = providers.arrived("wechat")
    assert wechat.address == "oWANG0001" and wechat.payload["template_id"] == "TM_BOOKING_CONFIRMED"
    assert wechat.payload["data"]["time3"] == {"value": "2026-03-06 09:30"}
    confirmation = {m["channel"]: m for m in await messages(crm, about=booking.subject, kind="booking_confirmed")}
    assert confirmation["sms"]["status"] == "failed" and "isv.MOBILE_NUMBER_ILLEGAL" in confirmation["sms"][
        "status_reason"]
    assert confirmation["wechat"]["status"] == "sent"
    assert confirmation["wechat"]["fallback_from"] == confirmation["sms"]["id"]
    # The day-before reminder waits for its day: 5 March, 10:00 in the store.
    (reminder,) = await messages(crm, about=booking.subject, kind="booking_reminder")
    assert reminder["status"] == "queued"
    assert datetime.fromisoformat(reminder["next_attempt_at"]) == local(2026, 3, 5, 10, 0)


async def test_a_rate_limited_provider_is_tried_again_later_backing_off(crm, providers, sender):
    order_id = await an_open_order(crm)
    providers.recorder.plan("sms", "isv.BUSINESS_LIMIT_CONTROL", "isv.BUSINESS_LIMIT_CONTROL")
    await crm.deliver(ready(crm.store_id, order_id, crm.clock.now()))
    start = crm.clock.now()

    await sender.run_once()
    (message,) = await messages(crm, about=order_id)
    assert message["status"] == "queued" and datetime.fromisoformat(message["next_attempt_at"]) == start + timedelta(
        seconds=30)
    await sender.run_once()  # not yet due: no call
    assert providers.recorder.calls["sms"] == 1

    crm.clock.advance(seconds=30)
    await sender.run_once()
    (message,) = await messages(crm, about=order_id)
    assert datetime.fromisoformat(message["next_attempt_at"]) == start + timedelta(seconds=30 + 60)

    crm.clock.advance(seconds=60)
    await sender.run_once()

    assert len(providers.arrived("sms")) == 1 and providers.recorder.calls["sms"] == 3
    detail = (await crm.agent.get(f"/v1/messages/{message['id']}")).json()
    assert detail["status"] == "sent"
    assert [a["outcome"] for a in detail["attempt_log"]] == ["rate_limited", "rate_limited", "accepted"]
    assert [a["error_code"] for a in detail["attempt_log"][:2]] == ["isv.BUSINESS_LIMIT_CONTROL"] * 2


async def test_a_car_collected_before_its_notice_went_is_not_told(crm, providers, sender):
    order_id = await an_open_order(crm)
    await crm.deliver(ready(crm.store_id, order_id, crm.clock.now()))
    await crm.deliver(f.delivered(crm.store_id, crm.clock.now(), repair_order_id=order_id, customer=WANG))
    await sender.run_once()
    assert [a.payload["template"] for a in providers.arrived("sms")] == ["SMS_CALLBACK_NOTICE"]
    (ready_notice,) = await messages(crm, about=order_id, kind="car_ready")
    assert ready_notice["status"] == "cancelled" and ready_notice["status_reason"] == "the order is delivered"


async def test_a_ready_word_before_the_order_is_held_until_reception_s_event(crm, providers, sender):
    order_id = new_id()
    await crm.deliver(ready(crm.store_id, order_id, crm.clock.now()))
    (held,) = await messages(crm, about=order_id)
    assert held["status"] == "held" and held["customer_id"] is None
    await sender.run_once()
    assert providers.arrived("sms") == []

    await crm.deliver(f.opened(crm.store_id, crm.clock.now() - timedelta(hours=2), repair_order_id=order_id,
                               customer=WANG))
    await sender.run_once()

    (sms,) = providers.arrived("sms")
    assert sms.payload["template"] == "SMS_CAR_READY"


async def test_each_event_twice_writes_each_notice_once(crm):
    order_id = await an_open_order(crm)
    event = ready(crm.store_id, order_id, crm.clock.now())
    await crm.deliver(event, event)
    assert len(await messages(crm, about=order_id)) == 1


async def test_a_store_sees_its_own_messages_and_hq_all(crm, providers, sender):
    order_id = await an_open_order(crm)
    await crm.deliver(ready(crm.store_id, order_id, crm.clock.now()))
    (message,) = await messages(crm, about=order_id)
    other = crm.as_("crm_agent", "agent-other", store_id=crm.other_store_id)
    assert (await other.get(f"/v1/messages/{message['id']}")).status_code == 404
    assert (await other.get("/v1/messages", params={"about": order_id})).json()["items"] == []
    assert [m["id"] for m in (await crm.hq.get("/v1/messages", params={"about": order_id})).json()["items"]] == [
        message["id"]]
    cid = await customer_id(crm, WANG.phone)
    assert (await put(other, f"/v1/customers/{cid}/consent",
                            json={"sms": {"service": False, "marketing": False}})).status_code == 404
    bad = await put(crm.agent, f"/v1/customers/{cid}/consent", json={"email": {"address": "not-an-address",
                                                                              "service": True, "marketing": True}})
    assert bad.status_code == 422 and "email" in bad.text
