"""The customer hears of a delay and of extra work found (issue 17), sent by the sender to
the providers' stand-ins (a real SMTP server, the SMS and WeChat HTTP stand-in) from CRM's
real PostgreSQL: each notice once, with the new time and reason or the work and its amount;
the link to approve the estimate by email and never by SMS; nothing to a customer who
opted out; and neither at night. The store's clock starts Monday 2 March 2026, 10:00 in Shanghai."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.events.catalogue import reception as rx
from services.crm.messages.policy import EXTRA_WORK_GATHER
from services.crm.messages.sender import Sender
from services.crm.settings import CrmSettings
from tests.crm import factories as f
from tests.crm.test_messages_sender import WANG, an_open_order, customer_id, messages, put
from tests.support.events import envelope_for
from tests.support.message_providers import stand_ins

SHANGHAI = ZoneInfo("Asia/Shanghai")
LINK = "https://service.dealer.example/estimates/{repair_order_id}"


def local(*, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def moved(store_id: str, order_id: str, at: datetime, promised_at: datetime, reason: str, moves: int = 1):
    event = rx.RepairOrderPromiseMoved(repair_order_id=order_id, number="RO-7", store_id=store_id, moved_at=at,
                                       promised_at=promised_at, previous_promised_at=at + timedelta(hours=1),
                                       reason=reason, moves=moves)
    return envelope_for(event, subject=order_id, store_id=store_id, time=at)


def extra_work(store_id: str, order_id: str, at: datetime, lines: list[rx.RepairOrderLine]):
    amount = sum(line.amount_fen for line in lines)
    event = rx.RepairOrderExtraWorkProposed(repair_order_id=order_id, number="RO-7", store_id=store_id,
                                            proposed_at=at, estimate_version=2, lines=lines, amount_fen=amount,
                                            customer_fen=amount, customer_due_fen=amount + 50000)
    return envelope_for(event, subject=order_id, store_id=store_id, time=at)


@pytest.fixture
async def providers():
    async with stand_ins() as running:
        yield running


@pytest.fixture
async def sender(crm, providers):
    settings = CrmSettings(database_url=str(crm.app.state.db.url), kafka_bootstrap_servers="127.0.0.1:9",
                           **providers.settings())
    made = Sender(crm.app.state.db, settings, crm.clock)
    yield made
    await made.close()


@pytest.fixture
def estimate_link(crm, monkeypatch):
    # The handlers read the service's own settings, as CRM_MESSAGES_ESTIMATE_LINK sets them.
    monkeypatch.setattr(crm.app.state.settings, "messages_estimate_link", LINK)
    return LINK


async def with_email(crm, phone: str = WANG.phone) -> None:
    cid = await customer_id(crm, phone)
    r = await put(crm.agent, f"/v1/customers/{cid}/consent", json={
        "email": {"address": "wang@example.cn", "service": True, "marketing": False}})
    assert r.status_code == 200, r.text


async def test_a_delay_reaches_the_customer_once_with_the_new_time_and_the_reason(crm, providers, sender):
    order_id = await an_open_order(crm)
    event = moved(crm.store_id, order_id, crm.clock.now(), local(day=3, hour=17), "刹车盘需订货 brake discs on order")

    await crm.deliver(event)
    await crm.deliver(event.model_copy(update={"id": "again"}))
    await sender.run_once()
    await sender.run_once()

    (sms,) = providers.arrived("sms")
    assert sms.address == WANG.phone and sms.payload["template"] == "SMS_ORDER_DELAYED"
    assert sms.payload["params"]["promised_at"] == "2026-03-03 17:00"
    assert sms.payload["params"]["reason"] == "刹车盘需订货 brake discs on order"
    (message,) = await messages(crm, about=order_id, kind="order_delayed")
    assert message["status"] == "sent"
    assert message["body"].startswith("王先生您好,您的爱车沪A12345")
    assert "调整为2026-03-03 17:00,原因:刹车盘需订货 brake discs on order" in message["body"]


async def test_a_second_move_before_the_first_notice_went_out_replaces_it(crm, providers, sender):
    order_id = await an_open_order(crm)
    await crm.deliver(moved(crm.store_id, order_id, crm.clock.now(), local(day=3, hour=17), "parts late"))
    await crm.deliver(moved(crm.store_id, order_id, crm.clock.now(), local(day=4, hour=12), "still later", moves=2))

    await sender.run_once()

    (sms,) = providers.arrived("sms")
    assert sms.payload["params"]["promised_at"] == "2026-03-04 12:00"
    statuses = sorted(m["status"] for m in await messages(crm, about=order_id, kind="order_delayed"))
    assert statuses == ["cancelled", "sent"]


async def test_extra_work_arrives_once_by_email_with_the_link_and_by_sms_without(crm, providers, sender,
                                                                                estimate_link):
    order_id = await an_open_order(crm)
    await with_email(crm)
    pads = f.labour("BRK-0210", "更换刹车片 brake pads", "1.2", 36000)
    disc = f.labour("BRK-0300", "更换刹车盘 brake discs", "1.0", 48000)
    await crm.deliver(extra_work(crm.store_id, order_id, crm.clock.now(), [pads]))
    crm.clock.advance(minutes=2)
    # The advisor adds a second line: one notice names both and their sum.
    both = extra_work(crm.store_id, order_id, crm.clock.now(), [pads, disc])
    await crm.deliver(both)
    await crm.deliver(both.model_copy(update={"id": "again"}))

    await sender.run_once()
    assert providers.arrived("sms") == [] and providers.arrived("email") == []

    crm.clock.advance(seconds=EXTRA_WORK_GATHER.total_seconds())
    await sender.run_once()
    await sender.run_once()

    link = LINK.format(repair_order_id=order_id)
    (sms,) = providers.arrived("sms")
    (mail,) = providers.arrived("email")
    assert sms.payload["template"] == "SMS_EXTRA_WORK"
    assert sms.payload["params"]["amount"] == "840.00"
    assert "link" not in sms.payload["params"] and "http" not in str(sms.payload["params"])
    sent = {m["channel"]: m for m in await messages(crm, about=order_id, kind="extra_work")}
    assert "http" not in sent["sms"]["body"] and "840.00" in sent["sms"]["body"]
    assert mail.address == "wang@example.cn" and mail.payload["subject"].startswith("维修中发现追加项目")
    assert "更换刹车片 brake pads、更换刹车盘 brake discs" in mail.payload["text"]
    assert "追加金额 840.00 元(不含税),追加后工单应付合计 1,340.00 元(含税)" in mail.payload["text"]
    assert f"查看并确认报价:{link}" in mail.payload["text"]
    assert f"Review and approve the estimate: {link}" in mail.payload["text"]


async def test_extra_work_by_wechat_opens_the_estimate(crm, providers, sender, estimate_link):
    order_id = await an_open_order(crm)
    cid = await customer_id(crm, WANG.phone)
    r = await put(crm.agent, f"/v1/customers/{cid}/consent", json={
        "sms": {"service": False, "marketing": False},
        "wechat": {"openid": "oWANG0001", "service": True, "marketing": False}})
    assert r.status_code == 200, r.text
    await crm.deliver(extra_work(crm.store_id, order_id, crm.clock.now(), [f.labour()]))
    crm.clock.advance(seconds=EXTRA_WORK_GATHER.total_seconds())

    await sender.run_once()

    (wechat,) = providers.arrived("wechat")
    assert wechat.payload["template_id"] == "TM_EXTRA_WORK"
    assert wechat.payload["url"] == LINK.format(repair_order_id=order_id)
    assert providers.arrived("sms") == []


async def test_a_customer_who_opted_out_hears_of_neither(crm, providers, sender, estimate_link):
    order_id = await an_open_order(crm)
    cid = await customer_id(crm, WANG.phone)
    r = await put(crm.agent, f"/v1/customers/{cid}/consent", json={"sms": {"service": False, "marketing": False}})
    assert r.status_code == 200, r.text

    await crm.deliver(moved(crm.store_id, order_id, crm.clock.now(), local(day=3, hour=17), "parts late"))
    await crm.deliver(extra_work(crm.store_id, order_id, crm.clock.now(), [f.labour()]))
    crm.clock.advance(seconds=EXTRA_WORK_GATHER.total_seconds())
    await sender.run_once()

    assert providers.arrived("sms") == providers.arrived("wechat") == providers.arrived("email") == []
    kinds = {m["kind"]: m["status"] for m in await messages(crm, about=order_id)}
    assert kinds == {"order_delayed": "skipped", "extra_work": "skipped"}


async def test_a_delay_found_at_night_is_told_in_the_morning(crm, providers, sender):
    crm.clock.set(local(day=2, hour=22, minute=40))
    order_id = await an_open_order(crm)
    await crm.deliver(moved(crm.store_id, order_id, crm.clock.now(), local(day=3, hour=17), "parts late"))

    await sender.run_once()

    assert providers.arrived("sms") == []
    (waiting,) = await messages(crm, about=order_id, kind="order_delayed")
    assert waiting["status"] == "queued"
    assert datetime.fromisoformat(waiting["next_attempt_at"]) == local(day=3, hour=9)

    crm.clock.set(local(day=3, hour=9))
    await sender.run_once()

    assert [a.payload["template"] for a in providers.arrived("sms")] == ["SMS_ORDER_DELAYED"]
