"""New-car intake over HTTP: the PDI sheet before delivery, the warranty registration at sale
(once per VIN), its correction with a reason, the cover that runs from it, and the events
CRM learns the car from. The clock stands at tests.network.factories.T0."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import col, select

from services.common import reference
from services.common.tables import OutboxMessage
from tests.network.conftest import create_store
from tests.network.factories import T0
from tests.support.platform import Caller

VIN = "LSVNB4180T2000123"
CHECKLIST = [item["code"] for item in reference.load("pdi_checklist")["items"]]
TODAY = T0.date().isoformat()


def sheet(**overrides) -> dict:
    items = [{"code": code, "ok": code != "exterior_paint"} for code in CHECKLIST]
    return {"inspected_on": TODAY, "items": items,
            "defects": [{"item_code": "exterior_paint", "description": "scratch on the rear bumper", "fixed": True,
                         "fix": "polished"}], **overrides}


def registration(store_id: str, **overrides) -> dict:
    return {"vin": VIN.lower(), "buyer": {"name": "周女士", "phone": "13912345678"}, "model": "Lavida 1.5L",
            "invoice_date": TODAY, "delivery_date": TODAY, "mileage_at_delivery_km": 12, "store_id": store_id,
            **overrides}


async def emitted(client, event_type: str) -> list[dict]:
    async with client.app.state.db.transaction() as session:
        stmt = select(OutboxMessage).where(OutboxMessage.event_type == event_type).order_by(col(OutboxMessage.id))
        return [json.loads(row.payload) for row in (await session.exec(stmt)).all()]


async def test_pdi_then_registration_gives_the_car_its_cover_and_tells_crm(client, hq):
    store = await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store["id"], "clerk-wu", name="吴文员", credential="token:clerk-wu")

    pdi = await clerk.post(f"/v1/vehicles/{VIN}/pdi", json=sheet())
    assert pdi.status_code == 201, pdi.text
    assert pdi.json()["all_fixed"] is True and pdi.json()["store_id"] == store["id"]
    assert (pdi.json()["recorded_by"], pdi.json()["recorded_by_name"]) == ("clerk-wu", "吴文员")

    done = await clerk.post("/v1/vehicles/registrations", json=registration(store["id"]))
    assert done.status_code == 201, done.text
    assert done.json()["vin"] == VIN and done.json()["registered_by_credential"] == "token:clerk-wu"

    again = await clerk.post("/v1/vehicles/registrations", json=registration(store["id"]))
    assert again.status_code == 409
    late_pdi = await clerk.post(f"/v1/vehicles/{VIN}/pdi", json=sheet())
    assert late_pdi.status_code == 409

    car = (await clerk.get(f"/v1/vehicles/{VIN}")).json()
    assert car["registered"] and car["registration"]["buyer"] == {"name": "周女士", "phone": "13912345678"}
    assert [len(s["defects"]) for s in car["pdi"]] == [1]
    # data/warranty_policy.json: basic 36 months, powertrain 60, from the invoice date.
    cover = {c["name"]: (c["valid_from"], c["valid_to"], c["km_limit"]) for c in car["warranty"]}
    assert cover["basic"] == ("2026-12-10", "2029-12-09", 100000)
    assert cover["powertrain"] == ("2026-12-10", "2031-12-09", 150000)
    assert cover["recall"] == (TODAY, None, None)
    assert car["first_maintenance"] == {"due_on": "2027-06-10", "due_km": 5000, "op_code": "MNT-0110"}

    [event] = await emitted(client, "network.vehicle.registered")
    data = event["data"]
    assert (event["subject"], data["store_id"], data["buyer"]["phone"]) == (VIN, store["id"], "13912345678")
    assert (data["registered_by"], data["registered_by_name"]) == ("clerk-wu", "吴文员")


async def test_a_correction_keeps_its_reason_and_what_changed(client, hq):
    store = await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store["id"], "clerk-wu")
    assert (await clerk.post("/v1/vehicles/registrations", json=registration(store["id"]))).status_code == 201

    nothing = await clerk.post(f"/v1/vehicles/{VIN}/registration/corrections",
                               json={"changes": {"mileage_at_delivery_km": 12}, "reason": "checked again"})
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "changes"
    fixed = await clerk.post(f"/v1/vehicles/{VIN}/registration/corrections",
                             json={"changes": {"buyer": {"name": "周女士", "phone": "13912345679"}},
                                   "reason": "last digit mistyped"})
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert body["version"] == 2 and body["buyer"]["phone"] == "13912345679"
    [correction] = body["corrections"]
    assert correction["reason"] == "last digit mistyped" and correction["corrected_by"] == "clerk-wu"
    assert correction["changes"]["buyer"]["from"]["phone"] == "13912345678"
    [event] = await emitted(client, "network.vehicle.registration_corrected")
    assert event["data"]["buyer"]["phone"] == "13912345679" and event["data"]["reason"] == "last digit mistyped"


async def test_bad_sheets_and_registrations_are_refused_naming_the_field(client, hq):
    store, other = await create_store(hq), await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store["id"], "clerk-wu")
    short = sheet(items=[{"code": CHECKLIST[0], "ok": True}], defects=[])
    assert (await clerk.post(f"/v1/vehicles/{VIN}/pdi", json=short)).json()["errors"][0]["field"] == "items"
    undescribed = sheet(defects=[])
    assert (await clerk.post(f"/v1/vehicles/{VIN}/pdi", json=undescribed)).json()["errors"][0]["field"] == "items.0.ok"
    assert (await clerk.post("/v1/vehicles/BADVIN/pdi", json=sheet())).json()["errors"][0]["field"] == "vin"

    for body, field in ((registration(other["id"]), "store_id"),
                        (registration(store["id"], invoice_date="2030-01-01"), "invoice_date"),
                        (registration(store["id"], delivery_date="2020-01-01"), "delivery_date")):
        refused = await clerk.post("/v1/vehicles/registrations", json=body)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, refused.text
    assert (await Caller(client, "technician", store["id"]).post(
        "/v1/vehicles/registrations", json=registration(store["id"]))).status_code == 403


async def test_another_store_sees_the_cover_but_not_the_buyer(client, hq):
    store, other = await create_store(hq), await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store["id"], "clerk-wu")
    assert (await clerk.post("/v1/vehicles/registrations", json=registration(store["id"]))).status_code == 201
    advisor = Caller(client, "service_advisor", other["id"])
    car = (await advisor.get(f"/v1/vehicles/{VIN}")).json()
    assert car["registration"]["buyer"] is None and car["warranty"]
    assert (await Caller(client, "warranty_clerk", other["id"]).post(
        f"/v1/vehicles/{VIN}/registration/corrections",
        json={"changes": {"mileage_at_delivery_km": 20}, "reason": "not ours"})).status_code == 404


async def test_the_contracts_registration_path_and_names_are_taken(client, hq):
    """`POST /v1/vehicles/{vin}/registration` with `delivered_at` (a moment: the day it fell on in
    China) and `mileage_km`, as API.md names them; `GET /v1/vehicles/{vin}/sanbao` answers as
    `/three-guarantees` does."""
    store = await create_store(hq)
    clerk = Caller(client, "warranty_clerk", store["id"], "clerk-wu", name="吴文员")
    body = {"buyer": {"name": "周女士", "phone": "13912345678"}, "invoice_date": TODAY,
            "delivered_at": f"{TODAY}T20:30:00-08:00", "mileage_km": 9, "store_id": store["id"]}
    done = await clerk.post(f"/v1/vehicles/{VIN}/registration", json=body)
    assert done.status_code == 201, done.text
    # 20:30 at UTC-8 is 12:30 the next day in China.
    next_day = (T0.date() + timedelta(days=1)).isoformat()
    assert (done.json()["vin"], done.json()["delivery_date"], done.json()["mileage_at_delivery_km"]) == (
        VIN, next_day, 9)
    assert (await clerk.post(f"/v1/vehicles/{VIN}/registration", json=body)).status_code == 409
    mismatch = await clerk.post("/v1/vehicles/LSVNB4180T2000999/registration", json={**body, "vin": VIN})
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["field"] == "vin"
    no_vin = await clerk.post("/v1/vehicles/registrations", json=body)
    assert no_vin.status_code == 422 and no_vin.json()["errors"][0]["field"] == "vin"
    assert (await hq.get(f"/v1/vehicles/{VIN}/sanbao")).json() == (
        await hq.get(f"/v1/vehicles/{VIN}/three-guarantees")).json()
