"""Campaign claims draft themselves: a closed repair order that carries out a published
campaign completes it for the car, network announces it (`network.campaign.completed`, in
the same transaction) and drafts the store's campaign claim for the order's `campaign`
lines, once however often the order's events arrive; the store's warranty clerk submits
it, HQ reviews it and it is paid on the month's settlement."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from services.common.events.catalogue import reception
from services.common.events.envelope import CloudEvent
from services.common.tables import OutboxMessage
from tests.network.conftest import create_store
from tests.network.factories import labour, part
from tests.network.test_campaigns import published
from tests.network.test_claim_kinds import closed_order, settle
from tests.support.events import deliver, envelope_for
from tests.support.platform import Caller

CODE, SENSOR = "RC-2026-014", "XB-57450-S01"  # the recall of test_campaigns: RCL-2026-01, 0.5 h, one sensor
VIN = "LSVCP000000000007"


def campaign_work(pay_type: str = "campaign") -> list[dict]:
    code = {"campaign_code": CODE} if pay_type == "campaign" else {}
    return [labour("RCL-2026-01", "0.7", pay_type=pay_type, **code), part(SENSOR, 1, 72000, pay_type=pay_type, **code),
            labour("BRK-0500", "0.7")]


def delivered(settled: CloudEvent) -> CloudEvent:
    """The same order's delivery, an hour after its settlement."""
    data = settled.data
    at = settled.time + timedelta(hours=1)
    event = reception.RepairOrderDelivered(**{k: data[k] for k in (
        "repair_order_id", "number", "store_id", "customer", "vehicle", "mileage_km", "advisor", "opened_at",
        "settled_at", "lines", "totals")}, delivered_by="advisor-1", delivered_at=at)
    return envelope_for(event, subject=data["repair_order_id"], store_id=data["store_id"], time=at)


async def outbox(client, event_type: str) -> list[dict]:
    async with client.app.state.db.transaction() as session:
        stmt = sa.select(OutboxMessage.payload).where(OutboxMessage.event_type == event_type)
        rows = (await session.exec(stmt)).all()
    return [CloudEvent.model_validate_json(payload).data for (payload,) in rows]


async def claims_of(hq: Caller, store_id: str) -> list[dict]:
    return (await hq.get("/v1/claims", params={"store_id": store_id, "kind": "campaign"})).json()["items"]


async def test_a_completed_campaign_drafts_its_claim_once_and_the_clerk_submits_it_to_be_paid(client, clock, hq):
    store = await create_store(hq)
    campaign = await published(hq, [VIN])
    order = closed_order(store["id"], campaign_work(), vin=VIN)
    assert await deliver(client.app, order) == "applied"
    for again in (order, delivered(order)):  # redelivered, then the delivery of the same order
        await deliver(client.app, again)
    drafts = await claims_of(hq, store["id"])
    assert len(drafts) == 1
    draft = drafts[0]
    assert (draft["status"], draft["campaign_id"], draft["submission_count"], draft["submitter"]) == (
        "draft", campaign["id"], 0, None)
    # 0.5 h flat at 260 CNY whatever the order shows, and the sensor at 460 CNY x 1.15; the warranty line is not in it.
    assert [line["claimed_fen"] for line in draft["lines"]] == [13000, 52900]
    assert draft["amount_claimed_fen"] == 65900 and draft["pricing"]["code"] == CODE
    completed = await outbox(client, "network.campaign.completed")
    assert completed == [{"campaign_id": campaign["id"], "code": CODE, "kind": "recall", "vin": VIN,
                          "store_id": store["id"], "repair_order_id": order.data["repair_order_id"],
                          "completed_at": order.data["settled_at"]}]
    assert await outbox(client, "network.claim.submitted") == []
    # HQ reviews only what the store submitted.
    assert (await hq.post(f"/v1/claims/{draft['id']}/decision", json={"decision": "approve"})).status_code == 409
    clerk = Caller(client, "warranty_clerk", store_id=store["id"], principal_id="clerk-1", name="Sun Li")
    clock.advance(timedelta(hours=2))
    sent = [await clerk.post(f"/v1/claims/{draft['id']}/submit", headers={"Idempotency-Key": "submit-1"})
            for _ in range(2)]
    assert [r.status_code for r in sent] == [200, 200] and sent[0].json() == sent[1].json()
    assert sent[1].headers.get("idempotent-replayed") == "true"
    claim = sent[0].json()
    assert (claim["status"], claim["submission_count"], claim["submitter"]["name"]) == ("submitted", 1, "Sun Li")
    assert [h["action"] for h in claim["history"]] == ["drafted", "submitted"]
    assert claim["precheck"]["passed"] is True, claim["precheck"]
    assert len(await outbox(client, "network.claim.submitted")) == 1
    assert (await clerk.post(f"/v1/claims/{draft['id']}/submit")).status_code == 409
    assert (await hq.post(f"/v1/claims/{draft['id']}/decision", json={"decision": "approve"})).status_code == 200
    statement = await settle(client, clock, hq, store["id"])
    assert [(c["id"], c["kind"], c["amount_approved_fen"]) for c in statement["claims"]] == [
        (draft["id"], "campaign", 65900)]
    assert (await hq.get(f"/v1/claims/{draft['id']}")).json()["status"] == "settled"


async def test_a_campaign_done_on_other_pay_types_is_completed_without_a_draft(client, hq):
    store = await create_store(hq)
    await published(hq, [VIN])
    order = closed_order(store["id"], campaign_work(pay_type="warranty"), vin=VIN)
    assert await deliver(client.app, order) == "applied"
    assert len(await outbox(client, "network.campaign.completed")) == 1
    assert await claims_of(hq, store["id"]) == []


async def test_only_the_drafts_store_submits_it(client, hq):
    store, other = await create_store(hq), await create_store(hq)
    await published(hq, [VIN])
    assert await deliver(client.app, closed_order(store["id"], campaign_work(), vin=VIN)) == "applied"
    draft, = await claims_of(hq, store["id"])
    assert (await hq.post(f"/v1/claims/{draft['id']}/submit")).status_code == 403
    stranger = Caller(client, "warranty_clerk", store_id=other["id"])
    assert (await stranger.post(f"/v1/claims/{draft['id']}/submit")).status_code == 404
    assert (await claims_of(hq, store["id"]))[0]["status"] == "draft"
