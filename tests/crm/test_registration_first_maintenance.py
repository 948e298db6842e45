"""A new car registered at its sale (network.vehicle.registered) with no visit yet: CRM puts
the buyer and the car on file at the selling store, and the maintenance reminders job finds
it when its first maintenance comes within 14 days. CRM's today is Monday 2 March 2026."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from services.common.events.catalogue import network as nw
from services.common.events.envelope import CloudEvent
from tests.crm.conftest import START
from tests.support.events import envelope_for

VIN = "LSVNEWCAR00000001"


def registered(store_id: str, delivery_date: date, *, at: datetime = START, phone: str = "139 1234 5678",
               name: str = "周女士") -> CloudEvent:
    event = nw.VehicleRegistered(
        vin=VIN, store_id=store_id, buyer=nw.Buyer(name=name, phone=phone), model="Lavida 1.5L",
        invoice_date=delivery_date, delivery_date=delivery_date, mileage_at_delivery_km=12,
        first_maintenance_due_on=date(2026, 9, 2),  # network's own reading; CRM keeps its schedule
        first_maintenance_due_km=5000, registered_by="clerk-wu", registered_by_name="吴文员",
        registered_by_credential="token:clerk-wu", registered_at=at,
    )
    return envelope_for(event, subject=VIN, store_id=store_id, time=at)


async def run_reminders(crm) -> dict:
    r = await crm.manager.post("/v1/jobs/maintenance_reminders/run")
    assert r.status_code == 200, r.text
    return r.json()["stores"][0]["result"]


async def test_a_car_registered_at_sale_with_no_visit_gets_its_first_maintenance_reminder(crm):
    await crm.deliver(registered(crm.store_id, date(2026, 3, 2)))

    customers = (await crm.agent.get("/v1/customers", params={"phone": "13912345678"})).json()["items"]
    assert [(c["name"], c["store_id"], c["last_visit_at"]) for c in customers] == [("周女士", crm.store_id, None)]
    assert [(v["vin"], v["sold_at"], v["current"]) for v in customers[0]["vehicles"]] == [(VIN, "2026-03-02", True)]
    assert await run_reminders(crm) == {"made": 0, "expired": 0}

    # Nothing is known of its mileage, so it runs at the policy's assumed 1,200 km a month:
    # 5,000 km in 5000 / 1200 * 30.4375 = 126.8 days, rounded to 127: 7 July 2026, sooner than
    # the 6 months (2 September). Reminded 14 days ahead: from 23 June.
    crm.clock.set(START + timedelta(days=110))  # 20 June
    assert await run_reminders(crm) == {"made": 0, "expired": 0}
    crm.clock.set(START + timedelta(days=114))  # 24 June
    assert await run_reminders(crm) == {"made": 1, "expired": 0}
    reminders = (await crm.agent.get("/v1/reminders", params={"vin": VIN})).json()["items"]
    assert [(r["kind"], r["op_code"], r["due_on"], r["due_km"], r["customer_id"], r["store_id"])
            for r in reminders] == [("first_maintenance", "MNT-0110", "2026-07-07", 5000, customers[0]["id"],
                                     crm.store_id)]


async def test_the_same_registration_delivered_twice_puts_one_customer_and_one_car_on_file(crm):
    event = registered(crm.store_id, date(2026, 3, 2))
    await crm.deliver(event, event)
    customers = (await crm.agent.get("/v1/customers", params={"phone": "13912345678"})).json()["items"]
    assert len(customers) == 1 and len(customers[0]["vehicles"]) == 1


async def test_a_corrected_delivery_date_moves_the_first_maintenance(crm):
    await crm.deliver(registered(crm.store_id, date(2026, 3, 2)))
    later = START + timedelta(hours=2)
    corrected = nw.VehicleRegistrationCorrected(
        vin=VIN, store_id=crm.store_id, buyer=nw.Buyer(name="周女士", phone="13912345678"), model="Lavida 1.5L",
        invoice_date=date(2026, 2, 20), delivery_date=date(2026, 2, 20), mileage_at_delivery_km=12,
        first_maintenance_due_on=date(2026, 8, 20), first_maintenance_due_km=5000,
        changes={"delivery_date": {"from": "2026-03-02", "to": "2026-02-20"}}, reason="typed the wrong day",
        corrected_by="clerk-wu", corrected_at=later)
    await crm.deliver(envelope_for(corrected, subject=VIN, store_id=crm.store_id, time=later))
    history = (await crm.agent.get(f"/v1/vehicles/{VIN}/history")).json()
    assert history["sold_at"] == "2026-02-20"
