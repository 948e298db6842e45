"""Ownership transfer (过户): the old owner keeps their history (their order and its callback,
their span of ownership), the new owner gets the car, its open reminder and the callback of
the next visit. CRM's today is Monday 2 March 2026 (Shanghai)."""
from __future__ import annotations

from datetime import date, timedelta

from services.common.events.catalogue import network as nw
from tests.crm import factories as f
from tests.crm.conftest import START
from tests.support.events import envelope_for

VIN = "LSVSOLDON00000001"
OLD_PHONE, NEW_PHONE = "13800000011", "13900000022"
BRAKES = [f.labour("BRK-0210", "Replace front brake pads", "1.2", 36000)]
# API.md's names, `papers_ref` and `transferred_on` (`papers_reference` and `transfer_date` are taken too).
TRANSFER = {"new_owner": {"name": "郑先生", "phone": "139-0000-0022"}, "papers_ref": "沪A-GH-2026-001873",
            "transferred_on": "2026-03-01", "reason": "sold privately"}


async def seed(crm) -> str:
    """Sold on 1 November 2025 to the old owner, who had the brakes done at 4,500 km ten days
    ago: the first maintenance (5,000 km) is due within days, so the job reminds them."""
    sold = START - timedelta(days=121)
    await crm.deliver(envelope_for(nw.VehicleRegistered(
        vin=VIN, store_id=crm.store_id, buyer=nw.Buyer(name="冯先生", phone=OLD_PHONE), invoice_date=date(2025, 11, 1),
        delivery_date=date(2025, 11, 1), mileage_at_delivery_km=8, first_maintenance_due_on=date(2026, 5, 1),
        first_maintenance_due_km=5000, registered_by="clerk-wu", registered_at=sold,
    ), subject=VIN, store_id=crm.store_id, time=sold))
    await crm.deliver(f.delivered(crm.store_id, START - timedelta(days=10), repair_order_id="ro-old-owner",
                                  vehicle=f.car(vin=VIN, sold_at=date(2025, 11, 1)),
                                  customer=f.person("冯先生", OLD_PHONE), mileage_km=4500, lines=BRAKES))
    r = await crm.manager.post("/v1/jobs/maintenance_reminders/run")
    assert r.json()["stores"][0]["result"]["made"] == 1
    old = (await crm.agent.get("/v1/customers", params={"phone": OLD_PHONE})).json()["items"]
    return old[0]["id"]


async def test_after_a_transfer_the_old_owner_keeps_their_history_and_the_new_owner_gets_the_calls(crm):
    old_id = await seed(crm)
    crm.clock.set(START + timedelta(hours=1))
    agent = crm.as_("crm_agent", "agent-zhang")
    agent.name, agent.credential = "张坐席", "token:agent-zhang"

    done = await agent.post(f"/v1/vehicles/{VIN.lower()}/transfer", json=TRANSFER)
    assert done.status_code == 201, done.text
    transfer = done.json()
    new_id = transfer["to_customer_id"]
    assert (transfer["from_customer_id"], transfer["reminders_moved"]) == (old_id, 1) and new_id != old_id
    assert (transfer["transferred_by"], transfer["transferred_by_name"], transfer["transferred_by_credential"]) == (
        "agent-zhang", "张坐席", "token:agent-zhang")

    # The old owner's order, callback and span of ownership stay theirs.
    old = (await crm.agent.get(f"/v1/customers/{old_id}")).json()
    assert [(v["vin"], v["current"]) for v in old["vehicles"]] == [(VIN, False)]
    old_callbacks = (await crm.agent.get("/v1/callbacks", params={"repair_order_id": "ro-old-owner"})).json()["items"]
    assert [c["customer_id"] for c in old_callbacks] == [old_id]
    history = (await crm.agent.get(f"/v1/vehicles/{VIN}/history")).json()
    assert [v["repair_order_id"] for v in history["items"]] == ["ro-old-owner"]
    assert [(o["customer_id"], o["until"] is None) for o in history["owners"]] == [(old_id, False), (new_id, True)]

    # The pending reminder now goes to the new owner; nothing open is left addressed to the old one.
    reminders = (await crm.agent.get("/v1/reminders", params={"vin": VIN})).json()["items"]
    assert [(r["kind"], r["customer_id"]) for r in reminders] == [("first_maintenance", new_id)]
    assert (await crm.agent.get("/v1/reminders", params={"customer_id": old_id})).json()["items"] == []

    # The new owner brings the car in: that visit's callback is theirs.
    crm.clock.set(START + timedelta(days=2))
    await crm.deliver(f.delivered(crm.store_id, START + timedelta(days=2), repair_order_id="ro-new-owner",
                                  vehicle=f.car(vin=VIN, sold_at=date(2025, 11, 1)),
                                  customer=f.person("郑先生", NEW_PHONE), mileage_km=5100))
    new_callbacks = (await crm.agent.get("/v1/callbacks", params={"repair_order_id": "ro-new-owner"})).json()["items"]
    assert [c["customer_id"] for c in new_callbacks] == [new_id]

    [event] = await crm.emitted("crm.vehicle.transferred")
    assert event["subject"] == VIN and event["data"]["from_customer_id"] == old_id
    assert (event["data"]["to_customer_id"], event["data"]["transferred_by"]) == (new_id, "agent-zhang")


async def test_a_transfer_to_the_present_owner_or_dated_ahead_is_refused_naming_the_field(crm):
    await seed(crm)
    same = await crm.agent.post(f"/v1/vehicles/{VIN}/transfer",
                                json={**TRANSFER, "new_owner": {"name": "冯先生", "phone": OLD_PHONE}})
    assert same.status_code == 422 and same.json()["errors"][0]["field"] == "new_owner.phone"
    ahead = await crm.agent.post(f"/v1/vehicles/{VIN}/transfer", json={**TRANSFER, "transferred_on": "2026-03-20"})
    assert ahead.status_code == 422 and ahead.json()["errors"][0]["field"] == "transferred_on"
    first_names = {k: v for k, v in TRANSFER.items() if k not in ("papers_ref", "transferred_on")}
    ahead = await crm.agent.post(f"/v1/vehicles/{VIN}/transfer", json={
        **first_names, "papers_reference": "沪A-GH-2026-001873", "transfer_date": "2026-03-20"})
    assert ahead.status_code == 422 and ahead.json()["errors"][0]["field"] == "transferred_on"


async def test_another_store_cannot_transfer_a_car_that_is_not_its_own(crm):
    await seed(crm)
    other = crm.as_("crm_agent", "agent-bj", store_id=crm.other_store_id)
    assert (await other.post(f"/v1/vehicles/{VIN}/transfer", json=TRANSFER)).status_code == 404
    assert (await crm.hq.post(f"/v1/vehicles/{VIN}/transfer", json=TRANSFER)).status_code == 201
