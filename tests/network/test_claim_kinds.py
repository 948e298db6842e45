"""Claims of the other kinds over HTTP on PostgreSQL: a registered car's first maintenance
claimed and paid on the month's settlement, and a PDI claim from a PDI sheet's fixed
defects (no repair order), each amount against a hand computation. Closed orders reach
network as reception's events, delivered here in memory."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import select

from services.common.events.catalogue import reception
from services.common.events.envelope import CloudEvent
from services.common.ids import new_id
from services.common.tables import OutboxMessage
from tests.network.conftest import create_store
from tests.network.factories import T0, _order_common, labour, part
from tests.support.events import deliver, envelope_for
from tests.support.platform import Caller

PAY_TYPES = ("customer", "warranty", "insurance", "internal", "goodwill", "first_maintenance", "campaign")
OIL, FILTER = "XB-08880-430", "XB-15400-001"
PERIOD = "2026-12"  # T0's month in Shanghai


def closed_order(store_id: str, lines: list[dict], *, vin: str, model: str = "Sedan X", mileage_km: int = 4200,
                 opened_at: datetime | None = None, repair_order_id: str | None = None) -> CloudEvent:
    """reception.repair_order.settled with lines of any pay type, the totals theirs."""
    opened_at = opened_at or T0 - timedelta(days=2)
    settled_at = opened_at + timedelta(hours=6)
    common = _order_common(store_id, repair_order_id, vin, None, mileage_km, None)
    common["vehicle"]["model"] = model
    totals = {f"{pay}_fen": 0 for pay in PAY_TYPES}
    for line in lines:
        totals[f"{line['pay_type']}_fen"] += line["amount_fen"]
    totals["customer_due_fen"] = totals["customer_fen"]
    event = reception.RepairOrderSettled(**common, opened_at=opened_at, settled_at=settled_at, invoice_no="INV-1",
                                         lines=lines, totals=totals,
                                         payments=[{"method": "card", "amount_fen": totals["customer_fen"]}])
    return envelope_for(event, subject=common["repair_order_id"], store_id=store_id, time=settled_at)


def first_service() -> list[dict]:
    pay = "first_maintenance"
    return [labour("MNT-0110", "1.0", pay_type=pay), part(OIL, 1, 38000, pay_type=pay),
            part(FILTER, 1, 4500, pay_type=pay)]


def new_vin() -> str:
    return "LSVFM" + new_id()[-12:].upper().replace("I", "1").replace("O", "0").replace("Q", "9")


async def register(clerk: Caller, vin: str, delivered: str = "2026-07-01", model: str = "Sedan X") -> None:
    response = await clerk.post("/v1/vehicles/registrations", json={
        "vin": vin, "buyer": {"name": "Chen Jie", "phone": "13900002222"}, "model": model, "invoice_date": delivered,
        "delivery_date": delivered, "mileage_at_delivery_km": 10, "store_id": clerk.store_id})
    assert response.status_code == 201, response.text


async def settle(client, clock, hq: Caller, store_id: str) -> dict:
    """HQ issues the store's statement for the month (a minute after the decisions it takes
    in), the store confirms it, HQ pays it."""
    clock.advance(timedelta(minutes=1))
    issued = await hq.post("/v1/settlements", json={"store_id": store_id, "period": PERIOD})
    assert issued.status_code == 201, issued.text
    sid = issued.json()["id"]
    manager = Caller(client, "store_manager", store_id=store_id)
    assert (await manager.post(f"/v1/settlements/{sid}/confirm")).status_code == 200
    paid = await hq.post(f"/v1/settlements/{sid}/pay", json={"reference": "TRX-" + sid[-6:]})
    assert paid.status_code == 200, paid.text
    return paid.json()


async def test_a_registered_cars_first_maintenance_is_claimed_at_its_family_rate_and_paid_on_the_months_settlement(
        client, clock, hq):
    store = await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store_id=store["id"], principal_id="clerk-1", name="Sun Li")
    vin = new_vin()
    await register(clerk, vin)
    order = closed_order(store["id"], first_service(), vin=vin)
    assert await deliver(client.app, order) == "applied"
    answer = await clerk.post("/v1/claims", json={"kind": "first_maintenance",
                                                  "repair_order_id": order.data["repair_order_id"]})
    assert answer.status_code == 201, answer.text
    claim = answer.json()
    # Sedan family: 480 CNY flat, shared over 260 : 380 : 45 CNY of order amounts.
    assert claim["kind"] == "first_maintenance" and claim["amount_claimed_fen"] == 48000
    assert [line["claimed_fen"] for line in claim["lines"]] == [18219, 26628, 3153]
    assert claim["precheck"]["passed"] is True, claim["precheck"]
    assert claim["pricing"]["rule"] == "flat" and claim["pricing"]["due_on"] == "2027-01-01"
    assert claim["submitter"]["name"] == "Sun Li"
    approved = await hq.post(f"/v1/claims/{claim['id']}/decision", json={"decision": "approve"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    statement = await settle(client, clock, hq, store["id"])
    assert statement["claims"] == [{"id": claim["id"], "kind": "first_maintenance",
                                    "repair_order_id": order.data["repair_order_id"],
                                    "repair_order_number": claim["repair_order_number"], "amount_approved_fen": 48000}]
    assert statement["total_fen"] == 48000 and statement["status"] == "paid"
    assert (await hq.get(f"/v1/claims/{claim['id']}")).json()["status"] == "settled"
    # A second first maintenance of the same car is found (R13), so is one past 5,000 km (R12).
    again = closed_order(store["id"], first_service(), vin=vin, mileage_km=5600)
    assert await deliver(client.app, again) == "applied"
    second = (await clerk.post("/v1/claims", json={"kind": "first_maintenance",
                                                   "repair_order_id": again.data["repair_order_id"]})).json()
    assert [f["code"] for f in second["precheck"]["findings"]] == ["R12", "R13"]
    kinds = (await hq.get("/v1/claims", params={"store_id": store["id"], "kind": "first_maintenance"})).json()
    assert {c["id"] for c in kinds["items"]} == {claim["id"], second["id"]}


async def test_a_first_maintenance_claim_of_an_unregistered_car_or_an_order_without_such_lines(client, hq):
    store = await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store_id=store["id"])
    order = closed_order(store["id"], first_service(), vin=new_vin(), model="Lavida 1.5L")
    warranty_only = closed_order(store["id"], [labour("BRK-0500", "0.7")], vin=new_vin())
    for event in (order, warranty_only):
        assert await deliver(client.app, event) == "applied"
    claim = (await clerk.post("/v1/claims", json={"kind": "first_maintenance",
                                                  "repair_order_id": order.data["repair_order_id"]})).json()
    # No registration: R11; another family: 0.8 h x 260 + 240 x 1.15 + 28 x 1.15 CNY.
    assert claim["amount_claimed_fen"] == 20800 + 27600 + 3220
    assert [f["code"] for f in claim["precheck"]["findings"]] == ["R11"]
    refused = await clerk.post("/v1/claims", json={"kind": "first_maintenance",
                                                   "repair_order_id": warranty_only.data["repair_order_id"]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "repair_order_id"
    missing = await clerk.post("/v1/claims", json={"kind": "first_maintenance"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "repair_order_id"
    campaign = await clerk.post("/v1/claims", json={"kind": "campaign",
                                                    "repair_order_id": order.data["repair_order_id"]})
    assert campaign.status_code == 422 and campaign.json()["errors"][0]["field"] == "kind"


def pdi_sheet(defects: list[dict]) -> dict:
    from services.common import reference

    failed = {d["item_code"] for d in defects}
    items = [{"code": item["code"], "ok": item["code"] not in failed}
             for item in reference.load("pdi_checklist")["items"]]
    return {"inspected_on": "2026-12-09", "items": items, "defects": defects}


async def test_a_pdi_claim_prices_the_sheets_fixed_defects_by_flat_hours_and_settles_without_a_repair_order(
        client, clock, hq):
    store = await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store_id=store["id"])
    vin = new_vin()
    recorded = await clerk.post(f"/v1/vehicles/{vin}/pdi", json=pdi_sheet([
        {"item_code": "exterior_paint", "description": "scratch on the rear door", "fixed": True, "fix": "polished"},
        {"item_code": "lights", "description": "left indicator dead", "fixed": False},
        {"item_code": "battery_voltage", "description": "11.9 V", "fixed": True, "fix": "charged"},
        {"item_code": "documents", "description": "warranty booklet missing", "fixed": True}]))
    assert recorded.status_code == 201, recorded.text
    sheet = recorded.json()
    body = {"kind": "pdi", "vin": vin, "pdi_inspection_id": sheet["id"]}
    answer = await clerk.post("/v1/claims", json=body)
    assert answer.status_code == 201, answer.text
    claim = answer.json()
    # BDY-0100 3.5 h + ELE-0110 0.4 h at 260 CNY; the documents item has no operation (R15); the open defect waits.
    assert [(line["line_id"], line["op_code"], line["claimed_fen"]) for line in claim["lines"]] == [
        ("defect-0", "BDY-0100", 91000), ("defect-2", "ELE-0110", 10400), ("defect-3", None, 0)]
    assert claim["amount_claimed_fen"] == 101400
    assert claim["repair_order_id"] is None and claim["pdi_inspection_id"] == sheet["id"]
    assert [f["code"] for f in claim["precheck"]["findings"]] == ["R15"]
    twice = await clerk.post("/v1/claims", json=body)
    assert twice.status_code == 409 and [f["code"] for f in twice.json()["findings"]] == ["R05"] * 3
    other_store = await create_store(hq)
    stranger = Caller(client, "warranty_clerk", store_id=other_store["id"])
    unseen = await stranger.post("/v1/claims", json=body)
    assert unseen.status_code == 422 and unseen.json()["errors"][0]["field"] == "pdi_inspection_id"
    no_vin = await clerk.post("/v1/claims", json={"kind": "pdi", "pdi_inspection_id": sheet["id"]})
    assert no_vin.status_code == 422 and no_vin.json()["errors"][0]["field"] == "vin"
    assert (await hq.post(f"/v1/claims/{claim['id']}/decision", json={"decision": "approve"})).status_code == 200
    statement = await settle(client, clock, hq, store["id"])
    assert statement["claims"] == [{"id": claim["id"], "kind": "pdi", "repair_order_id": None,
                                    "repair_order_number": None, "amount_approved_fen": 101400}]
    # A post-audit debit of the paid PDI claim, which has no repair order, and the claim's kind in its events.
    debit = await hq.post(f"/v1/claims/{claim['id']}/chargeback", json={"reason_code": "C01", "amount_fen": 10400})
    assert debit.status_code == 201, debit.text
    async with client.app.state.db.transaction() as session:
        kinds = {(row.event_type, json.loads(row.payload)["data"].get("kind")) for row in (await session.exec(
            select(OutboxMessage).where(OutboxMessage.key == claim["id"]))).all()}
    assert kinds == {("network.claim.submitted", "pdi"), ("network.claim.decided", "pdi"),
                     ("network.claim.charged_back", "pdi")}
