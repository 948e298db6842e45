"""The Three Guarantees (三包) validity period runs from the warranty registration's invoice
date, the order's `sold_at` only standing in when network holds no registration; a correction of
the invoice date works the car out again; reception is told a car's figures
(network.three_guarantees.updated) once per change. The clock stands at tests.network.factories.T0
(2026-12-10); orders go through network's own handlers and inbox."""
from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa

from services.common import reference
from services.common.ids import new_id
from services.common.tables import OutboxMessage
from services.network.three_guarantees import policy
from tests.network import factories as f
from tests.network.conftest import create_store
from tests.network.test_three_guarantees import at, delivered, settled, vin
from tests.support.events import deliver
from tests.support.platform import Caller

UPDATED = "network.three_guarantees.updated"
# What reception's vehicle record says, deliberately not the invoice date: the registration wins.
RECEPTION_SOLD_AT = date(2025, 1, 1)


async def updates(client, vin_: str) -> list[dict]:
    """The car's network.three_guarantees.updated events in the outbox, oldest first."""
    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(sa.select(OutboxMessage.payload).where(OutboxMessage.event_type == UPDATED)
                                   .order_by(OutboxMessage.id))).all()
    found = [json.loads(p) for (p,) in rows]
    return [e for e in found if e["subject"] == vin_]


def registration(car: str, store_id: str, invoice_date: str) -> dict:
    return {"vin": car, "buyer": {"name": "周女士", "phone": "13912345678"}, "invoice_date": invoice_date,
            "delivery_date": invoice_date, "mileage_at_delivery_km": 12, "store_id": store_id}


async def register(clerk: Caller, car: str, store_id: str, invoice_date: str) -> None:
    response = await clerk.post("/v1/vehicles/registrations", json=registration(car, store_id, invoice_date))
    assert response.status_code == 201, response.text


async def two_electrical_repairs(client, store_id: str, car: str) -> None:
    """Opened on 2026-03-10 and 2026-03-11 (China), a day each, warranty-paid."""
    await deliver(client.app, delivered(store_id, car, at("2026-03-10", 9), at("2026-03-10", 17),
                                        [f.labour("ELE-0320", "1.8")], sold_at=RECEPTION_SOLD_AT))
    await deliver(client.app, delivered(store_id, car, at("2026-03-11", 9), at("2026-03-11", 17),
                                        [f.labour("ELE-0600", "1.2")], sold_at=RECEPTION_SOLD_AT))


async def test_a_repair_on_the_last_day_of_the_validity_counts_and_the_next_days_does_not(client, hq):
    store = (await create_store(hq))["id"]
    clerk = Caller(client, "warranty_clerk", store)
    car, unregistered = vin(), vin()
    # Invoiced 2024-03-10: 24 months (both revisions) make 2026-03-10 the last day (民法典 art. 201-202:
    # the period starts the next day and ends on the corresponding day of its last month).
    await register(clerk, car, store, "2024-03-10")
    await two_electrical_repairs(client, store, car)
    await two_electrical_repairs(client, store, unregistered)

    body = (await Caller(client, "service_advisor", store_id=store).get(f"/v1/vehicles/{car}/three-guarantees")).json()
    assert (body["sale_date"], body["sale_date_source"], body["valid_until"], body["selling_store_id"]) == (
        "2024-03-10", "warranty_registration", "2026-03-10", store)
    assert body["validity"] == "expired"  # today is 2026-12-10
    assert body["policy"]["effective_from"] == "2022-01-01"  # invoiced after 2022-01-01: the 2021 revision
    assert [(r["opened_at"][:10], r["counted"]) for r in body["repairs"]] == [
        ("2026-03-10", True), ("2026-03-11", False)]  # 2026-03-10 09:00 China is 01:00 UTC
    assert (body["cumulative_repair_days"], body["same_problem_repairs"]) == (1, {"electrical": 1})

    # With no registration the orders' vehicle record stands in: sold 2025-01-01, both count.
    fallback = (await hq.get(f"/v1/vehicles/{unregistered}/three-guarantees")).json()
    assert (fallback["sale_date"], fallback["sale_date_source"], fallback["valid_until"]) == (
        "2025-01-01", "repair_order_vehicle", "2027-01-01")
    assert (fallback["validity"], fallback["same_problem_repairs"]) == ("in_validity", {"electrical": 2})


async def test_a_correction_of_the_invoice_date_recomputes_the_cars_figures(client, hq):
    store = (await create_store(hq))["id"]
    clerk = Caller(client, "warranty_clerk", store)
    car = vin()
    await register(clerk, car, store, "2024-03-20")  # mistyped: the invoice says 2024-03-10
    await two_electrical_repairs(client, store, car)
    before = (await hq.get(f"/v1/vehicles/{car}/three-guarantees")).json()
    assert (before["valid_until"], before["same_problem_repairs"]) == ("2026-03-20", {"electrical": 2})

    fixed = await clerk.post(f"/v1/vehicles/{car}/registration/corrections",
                             json={"changes": {"invoice_date": "2024-03-10"}, "reason": "invoice date mistyped"})
    assert fixed.status_code == 200, fixed.text
    after = (await hq.get(f"/v1/vehicles/{car}/three-guarantees")).json()
    assert (after["sale_date"], after["valid_until"]) == ("2024-03-10", "2026-03-10")
    assert [r["counted"] for r in after["repairs"]] == [True, False]
    assert (after["cumulative_repair_days"], after["same_problem_repairs"]) == (1, {"electrical": 1})

    # Reception heard each figure: registered (no repairs), each repair, then the correction.
    told = [(e["data"]["valid_until"], e["data"]["same_problem_repairs"], e["storeid"]) for e in await updates(
        client, car)]
    assert told == [("2026-03-20", {}, store), ("2026-03-20", {"electrical": 1}, store),
                    ("2026-03-20", {"electrical": 2}, store), ("2026-03-10", {"electrical": 1}, store)]
    last = (await updates(client, car))[-1]["data"]
    assert {k: last[k] for k in ("validity", "cumulative_repair_days", "serious_safety_fault_repairs",
                                 "engine_or_transmission_replacements", "alerts")} == {
        "validity": "expired", "cumulative_repair_days": 1, "serious_safety_fault_repairs": 0,
        "engine_or_transmission_replacements": 0, "alerts": []}


async def test_the_updated_event_is_written_once_per_change_of_the_figures(client, hq):
    store = (await create_store(hq))["id"]
    clerk = Caller(client, "warranty_clerk", store)
    car = vin()
    await register(clerk, car, store, "2026-01-05")
    assert len(await updates(client, car)) == 1  # the registration set the validity period

    # A brake repair settled 30 h after opening, delivered with a ready time 30 h after it too: 2 days
    # either way, so the delivered event that follows the settled one changes nothing.
    rid, brakes = new_id(), [f.labour("BRK-0500", "0.7")]
    closing = [settled(store, car, at("2026-02-01", 9), at("2026-02-02", 15), brakes, rid=rid),
               delivered(store, car, at("2026-02-01", 9), at("2026-02-02", 15), brakes, rid=rid)]
    for envelope in closing + closing:  # then both again, as Kafka may redeliver
        await deliver(client.app, envelope)
    # Past the inbox too, as a rebuild re-reads the topic.
    handler = client.app.state.handlers.handlers[closing[1].type]
    async with client.app.state.db.transaction() as session:
        await handler(session, closing[1].payload(), closing[1], client.app.state.handlers.context)
    # Customer-paid maintenance and a correction of the buyer's phone change no figure.
    await deliver(client.app, delivered(store, car, at("2026-03-01"), at("2026-03-01", 12),
                                        [f.labour("MNT-0100", "0.5", pay_type="customer")]))
    phone = await clerk.post(f"/v1/vehicles/{car}/registration/corrections",
                             json={"changes": {"buyer": {"name": "周女士", "phone": "13912345679"}},
                                   "reason": "last digit mistyped"})
    assert phone.status_code == 200, phone.text
    told = await updates(client, car)
    assert [(e["data"]["cumulative_repair_days"], e["data"]["serious_safety_fault_repairs"]) for e in told] == [
        (0, 0), (2, 1)]
    assert told[1]["data"]["alerts"] == ["serious_safety_fault_repairs"]  # one of two: one step away

    # The next brake repair is a change: told once, and what reception is told is what the watch reads.
    await deliver(client.app, delivered(store, car, at("2026-04-01"), at("2026-04-01", 15), brakes))
    told = await updates(client, car)
    assert len(told) == 3
    body = (await hq.get(f"/v1/vehicles/{car}/three-guarantees")).json()
    latest = told[-1]["data"]
    for key in ("validity", "valid_until", "cumulative_repair_days", "same_problem_repairs",
                "serious_safety_fault_repairs", "engine_or_transmission_replacements"):
        assert latest[key] == body[key], key
    assert latest["alerts"] == body["one_step_away"] + body["reached"] == ["serious_safety_fault_repairs"]
    assert (told[-1]["subject"], told[-1]["storeid"]) == (car, store)


async def test_the_selling_store_reads_its_car_before_any_repair_and_lists_it_when_another_repairs_it(client, hq):
    seller, other = (await create_store(hq))["id"], (await create_store(hq))["id"]
    car = vin()
    await register(Caller(client, "warranty_clerk", seller), car, seller, "2026-06-01")
    body = (await Caller(client, "service_advisor", store_id=seller).get(f"/v1/vehicles/{car}/three-guarantees"))
    assert body.status_code == 200, body.text
    assert (body.json()["validity"], body.json()["valid_until"], body.json()["repairs"]) == (
        "in_validity", "2028-06-01", [])
    assert (await Caller(client, "service_advisor", store_id=other).get(
        f"/v1/vehicles/{car}/three-guarantees")).status_code == 404

    # The other store repairs its brakes (a serious safety fault, one of two): the seller, who
    # answers for a refund, lists the car at risk without seeing the other store's order.
    await deliver(client.app, delivered(other, car, at("2026-09-01"), at("2026-09-01", 15),
                                        [f.labour("BRK-0500", "0.7")]))
    risk = (await Caller(client, "store_manager", store_id=seller).get("/v1/three-guarantees/at-risk")).json()
    [listed] = [c for c in risk["items"] if c["vin"] == car]
    assert (listed["store_ids"], listed["selling_store_id"], listed["sale_date_source"], listed["one_step_away"]) == (
        [], seller, "warranty_registration", ["serious_safety_fault_repairs"])
    repairs = (await Caller(client, "service_advisor", store_id=seller).get(
        f"/v1/vehicles/{car}/three-guarantees")).json()["repairs"]
    assert [(r["store_id"], r["repair_order_id"]) for r in repairs] == [(other, None)]


async def test_a_listed_engine_assembly_on_a_warranty_order_counts_as_a_replacement(client, hq):
    """The mechanism only: the lists of data/sanbao_watch.json (the Three Guarantees policy's
    version 1) are empty because neither catalogue holds a whole engine or transmission (see its
    note). A part number HQ lists in a later version counts, for the car's earlier repairs too,
    once the car's latest repair falls on or after the version's day."""
    sanbao = (await hq.get("/v1/policies/three_guarantees")).json()["body"]
    assert sanbao["watch"]["engine_or_transmission_replacement_part_nos"] == []
    sanbao["watch"]["engine_or_transmission_replacement_part_nos"] = ["XB-10002-ENG"]
    listed = await hq.post("/v1/policies/three_guarantees/versions", json={"effective_from": "2026-12-10",
                                                                           "body": sanbao})
    assert listed.status_code == 201, listed.text
    store = (await create_store(hq))["id"]
    car = vin()
    await register(Caller(client, "warranty_clerk", store), car, store, "2026-01-05")
    await deliver(client.app, delivered(store, car, at("2026-05-01"), at("2026-05-03"),
                                        [f.labour("ENG-0700", "6"), f.part("XB-10002-ENG", 1, 3_000_000)]))
    before = (await hq.get(f"/v1/vehicles/{car}/three-guarantees")).json()
    assert (before["engine_or_transmission_replacements"], before["policy"]["version"]) == (0, 1)
    # The same number bought by the customer is not the brand's replacement under the Three Guarantees.
    await deliver(client.app, delivered(store, car, at("2026-12-10", 1), at("2026-12-10", 5),
                                        [f.part("XB-10002-ENG", 1, 3_000_000, pay_type="customer")]))
    body = (await hq.get(f"/v1/vehicles/{car}/three-guarantees")).json()
    assert (body["engine_or_transmission_replacements"], body["policy"]["version"]) == (1, 2)
    assert [r["engine_or_transmission_replacement"] for r in body["repairs"]] == [True]
    assert "engine_or_transmission_replacements" in body["one_step_away"]  # at least 2: one step at 1
    assert (await updates(client, car))[-1]["data"]["engine_or_transmission_replacements"] == 1


def test_the_shipped_lists_count_no_catalogue_item_as_a_whole_engine_or_transmission():
    everything = list(reference.labor_operations())
    assert policy.classify(everything, list(reference.parts()))[2] is False
