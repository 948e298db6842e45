"""An id in a request body that names another store's object is a 422 naming the field:
a counter issue citing another store's repair order, a job given to another store's
technician, a technician linked to a person who works in another store (network's staff
directory, as its events tell the workshop)."""
from __future__ import annotations

from datetime import date

from services.common.consumer import Outcome
from services.common.events.catalogue.network import (
    PersonAssignment,
    PersonAssignmentsChanged,
    PersonLeft,
    PersonRegistered,
)
from services.common.ids import new_id
from tests.support.events import envelope_for
from tests.workshop.factories import approved, labor, part

PADS = "XB-45022-F10"


def _field(response, field: str) -> bool:
    return response.status_code == 422 and any(e["field"] == field for e in response.json().get("errors", []))


def person_registered(person_id: str, store_id: str, at, role: str = "technician"):
    event = PersonRegistered(person_id=person_id, employee_no=f"E-{person_id[-6:].upper()}", name="Li Wei",
                             status="active", assignments=[PersonAssignment(store_id=store_id, role=role)],
                             registered_by="hq-admin", registered_at=at)
    return envelope_for(event, subject=person_id, store_id=None, time=at)


def person_left(person_id: str, store_id: str, at):
    event = PersonLeft(person_id=person_id, employee_no=f"E-{person_id[-6:].upper()}", name="Li Wei", status="left",
                       assignments=[PersonAssignment(store_id=store_id, role="technician")],
                       left_on=date(2026, 3, 2), recorded_by="hq-admin", left_at=at)
    return envelope_for(event, subject=person_id, store_id=None, time=at)


async def test_a_counter_issue_citing_another_stores_repair_order_is_422(shop):
    await shop.receive(PADS, 5)
    theirs = approved(shop.other_store_id, [part(PADS, "1")], approved_at=shop.clock.now())
    ours = approved(shop.store_id, [labor("BRK-0210")], approved_at=shop.clock.now())
    await shop.deliver(theirs)
    await shop.deliver(ours)

    for order_id in (theirs.subject, "no-such-order"):
        r = await shop.clerk.post("/v1/stock/issues", json={"part_no": PADS, "qty": 1, "repair_order_id": order_id})
        assert _field(r, "repair_order_id"), r.text
    assert (await shop.stock(PADS))["on_hand"] == 5

    r = await shop.clerk.post("/v1/stock/issues", json={"part_no": PADS, "qty": 1, "repair_order_id": ours.subject})
    assert r.status_code == 201, r.text
    assert r.json()["movement"]["repair_order_id"] == ours.subject


async def test_a_job_is_not_given_to_another_stores_technician(shop):
    env = approved(shop.store_id, [labor("BRK-0210")], approved_at=shop.clock.now())
    await shop.deliver(env)
    (job,) = await shop.jobs_of(env.subject)
    manager_b = shop.caller("store_manager", "manager-b", shop.other_store_id)
    r = await manager_b.post("/v1/technicians", json={"name": "Zhou Min", "skills": ["brakes"]})
    assert r.status_code == 201, r.text

    r = await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": r.json()["id"]})

    assert _field(r, "technician_id"), r.text
    assert (await shop.manager.get(f"/v1/jobs/{job['id']}")).json()["technician_id"] is None


async def test_a_technician_is_not_linked_to_a_person_of_another_store(shop):
    theirs, ours, gone = new_id(), new_id(), new_id()
    await shop.deliver(person_registered(theirs, shop.other_store_id, shop.clock.now()))
    await shop.deliver(person_registered(ours, shop.store_id, shop.clock.now()))
    await shop.deliver(person_registered(gone, shop.store_id, shop.clock.now()))
    shop.clock.advance(minutes=1)
    await shop.deliver(person_left(gone, shop.store_id, shop.clock.now()))

    for person_id in (theirs, gone):
        r = await shop.manager.post("/v1/technicians", json={"name": "Li Wei", "skills": ["brakes"],
                                                             "principal_id": person_id})
        assert _field(r, "principal_id"), r.text

    technician = await shop.technician(principal_id=ours)
    assert technician["principal_id"] == ours
    r = await shop.manager.patch(f"/v1/technicians/{technician['id']}",
                                 json={"version": technician["version"], "principal_id": theirs})
    assert _field(r, "principal_id"), r.text
    assert (await shop.manager.get(f"/v1/technicians/{technician['id']}")).json()["principal_id"] == ours

    # HQ naming the store gets the same answer.
    hq = shop.caller("hq_admin", "hq-admin")
    r = await hq.post("/v1/technicians", json={"name": "Li Wei", "principal_id": theirs, "store_id": shop.store_id})
    assert _field(r, "principal_id"), r.text


async def test_person_events_twice_keep_one_copy_and_a_late_older_one_changes_nothing(shop):
    person_id = new_id()
    first = person_registered(person_id, shop.store_id, shop.clock.now())
    assert await shop.deliver(first) == Outcome.APPLIED
    assert await shop.deliver(first) == Outcome.DUPLICATE
    shop.clock.advance(minutes=5)
    moved = PersonAssignmentsChanged(person_id=person_id, employee_no="E-MOVED1", name="Li Wei", status="active",
                                     assignments=[PersonAssignment(store_id=shop.other_store_id, role="technician")],
                                     reason="moved to Beijing", changed_by="hq-admin", changed_at=shop.clock.now())
    await shop.deliver(envelope_for(moved, subject=person_id, store_id=None, time=shop.clock.now()))
    # The registration again, under a new event id and its old time, arriving last.
    late = person_registered(person_id, shop.store_id, first.time)
    assert late.id != first.id and await shop.deliver(late) == Outcome.APPLIED

    r = await shop.manager.post("/v1/technicians", json={"name": "Li Wei", "principal_id": person_id})
    assert _field(r, "principal_id"), r.text
    manager_b = shop.caller("store_manager", "manager-b", shop.other_store_id)
    r = await manager_b.post("/v1/technicians", json={"name": "Li Wei", "principal_id": person_id})
    assert r.status_code == 201, r.text
