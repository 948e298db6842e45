"""Campaign invitations (issue 17) on the real PostgreSQL of the `crm` fixture, sent by the
sender to the providers' stand-ins: network's chunk of a published campaign's affected VINs
invites the current owner of each car CRM knows, once even when the chunk comes twice; a
VIN CRM has never seen is skipped and counted; a service campaign is marketing (consent,
quiet hours) while a recall is a safety notice that needs no marketing consent. The
store's clock starts Monday 2 March 2026, 10:00 in Shanghai."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.events.catalogue import network as nw
from services.common.ids import new_id
from services.crm.messages import service as messages_service
from services.crm.messages.sender import Sender
from services.crm.settings import CrmSettings
from tests.crm import factories as f
from tests.crm.test_messages_sender import customer_id, messages, put
from tests.support.events import envelope_for
from tests.support.message_providers import stand_ins

SHANGHAI = ZoneInfo("Asia/Shanghai")
WANG = f.person("王先生", "13800138000")
ZHAO = f.person("赵女士", "13900000003")
WANG_CAR = "LSVAA4182E2100001"
ZHAO_CAR = "LSVAA4182E2100002"
UNKNOWN = "LSVZZ999999999999"  # sold and serviced outside the group: CRM never saw it


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def chunk(vins: list[str], *, kind: str = "recall", campaign_id: str = "campaign-rc-014",
          code: str = "RC-2026-014", at: datetime | None = None):
    at = at or local(2026, 3, 2, 9, 30)
    event = nw.CampaignVinsAffected(
        campaign_id=campaign_id, code=code, kind=kind, title_zh="前排安全带预紧器检查",
        title_en="Front seat-belt pretensioner inspection", op_code="RCL-2026-01", starts_on=date(2026, 3, 1),
        ends_on=date(2026, 6, 30), chunk=1, chunks=1, vins=vins, published_at=at)
    return envelope_for(event, subject=campaign_id, store_id=None, time=at)


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


async def a_serviced_car(crm, owner=WANG, vin: str = WANG_CAR, plate: str = "沪A12345") -> None:
    """A car serviced a month ago (too long ago for its thank-you or callback notices)."""
    await crm.deliver(f.delivered(crm.store_id, crm.clock.now() - timedelta(days=30), repair_order_id=new_id(),
                                  customer=owner, vehicle=f.car(vin=vin, plate=plate)))


async def test_an_affected_car_s_owner_is_invited_once_even_when_the_chunk_comes_twice(crm, providers, sender):
    await a_serviced_car(crm)
    event = chunk([WANG_CAR, UNKNOWN])

    assert await crm.deliver(event) == ["applied"]
    assert await crm.deliver(event) == ["duplicate"]
    # Kafka may also hand the same chunk back under a new event id (a replay of the outbox).
    assert await crm.deliver(event.model_copy(update={"id": new_id()})) == ["applied"]
    await sender.run_once()
    await sender.run_once()

    (sms,) = providers.arrived("sms")
    assert sms.address == WANG.phone and sms.payload["template"] == "SMS_CAMPAIGN_INVITATION"
    assert sms.payload["params"]["code"] == "RC-2026-014"
    (invitation,) = await messages(crm, kind="campaign_invitation")
    assert invitation["status"] == "sent" and invitation["category"] == "service"
    assert invitation["customer_id"] == await customer_id(crm, WANG.phone)
    assert invitation["about"] == "campaign-rc-014"
    detail = (await crm.agent.get(f"/v1/messages/{invitation['id']}")).json()
    assert detail["body"].startswith("王先生您好,您的爱车沪A12345在召回范围内(前排安全带预紧器检查")
    assert "is covered by recall RC-2026-014" in detail["body"]


async def test_a_car_crm_does_not_know_is_skipped_and_counted(crm):
    await a_serviced_car(crm)
    event = chunk([UNKNOWN, WANG_CAR, "LSVZZ999999999998"]).data
    async with crm.app.state.db.transaction() as session:
        invited, unknown = await messages_service.campaign_invitations(
            session, nw.CampaignVinsAffected.model_validate(event), crm.clock.now())
    assert (invited, unknown) == (1, 2)

    assert await crm.deliver(chunk([UNKNOWN], campaign_id="campaign-other", code="RC-2026-015")) == ["applied"]
    assert [m["about"] for m in await messages(crm, kind="campaign_invitation")] == ["campaign-rc-014"]


async def test_a_service_campaign_needs_marketing_consent_and_a_recall_does_not(crm, providers, sender):
    await a_serviced_car(crm)
    await a_serviced_car(crm, ZHAO, ZHAO_CAR, "沪B54321")
    wang = await customer_id(crm, WANG.phone)
    r = await put(crm.agent, f"/v1/customers/{wang}/consent", json={"sms": {"service": True, "marketing": False}})
    assert r.status_code == 200, r.text

    await crm.deliver(chunk([WANG_CAR, ZHAO_CAR]))
    await crm.deliver(chunk([WANG_CAR, ZHAO_CAR], kind="service", campaign_id="campaign-sv-003", code="SV-2026-003"))
    await sender.run_once()

    arrived = sorted((a.address, a.payload["params"]["code"]) for a in providers.arrived("sms"))
    assert arrived == [(WANG.phone, "RC-2026-014"), (ZHAO.phone, "RC-2026-014"), (ZHAO.phone, "SV-2026-003")]
    zhao = await customer_id(crm, ZHAO.phone)
    service_campaign = {m["customer_id"]: m for m in await messages(crm, about="campaign-sv-003")}
    assert service_campaign[zhao]["status"] == "sent" and service_campaign[zhao]["category"] == "marketing"
    assert service_campaign[wang]["status"] == "skipped"
    assert service_campaign[wang]["status_reason"] == "no channel the customer allows for this message"


async def test_a_service_campaign_published_at_night_waits_for_the_morning(crm, providers, sender):
    await a_serviced_car(crm, ZHAO, ZHAO_CAR, "沪B54321")
    crm.clock.set(local(2026, 3, 2, 22, 30))
    await crm.deliver(chunk([ZHAO_CAR], kind="service", campaign_id="campaign-sv-003", code="SV-2026-003",
                            at=crm.clock.now()))

    await sender.run_once()

    assert providers.arrived("sms") == []
    (waiting,) = await messages(crm, kind="campaign_invitation")
    assert waiting["status"] == "queued" and datetime.fromisoformat(waiting["next_attempt_at"]) == local(2026, 3, 3, 9)
    crm.clock.set(local(2026, 3, 3, 9, 0))
    await sender.run_once()
    assert [a.payload["params"]["code"] for a in providers.arrived("sms")] == ["SV-2026-003"]
