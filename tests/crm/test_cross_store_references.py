"""An id in a request body that names another store's object is a 422 naming the field:
a complaint about another store's customer or repair order, or owned by a person who
works in another store (network's staff directory, as its events tell CRM)."""
from __future__ import annotations

from datetime import timedelta

from services.common.ids import new_id
from tests.crm import factories as f


async def test_a_complaint_about_another_stores_customer_or_order_is_422(crm):
    theirs = f.delivered(crm.other_store_id, crm.clock.now() - timedelta(days=1))
    await crm.deliver(theirs)
    [their_customer] = (await crm.hq.get("/v1/customers", params={"store_id": crm.other_store_id})).json()["items"]
    body = {"department": "workshop", "severity": "medium", "description": "car returned dirty"}

    for field, value in (("customer_id", their_customer["id"]), ("repair_order_id", theirs.subject)):
        r = await crm.agent.post("/v1/complaints", json={**body, field: value})
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == [field], r.text
        # HQ naming this store gets the same answer.
        r = await crm.hq.post("/v1/complaints", json={**body, field: value, "store_id": crm.store_id})
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == [field], r.text
    assert await crm.emitted("crm.complaint.opened") == []


async def test_a_complaint_is_not_owned_by_a_person_of_another_store(crm):
    theirs, ours, gone, head_office = new_id(), new_id(), new_id(), new_id()
    now = crm.clock.now()
    assert await crm.deliver(f.staff_registered(theirs, now, [crm.other_store_id]),
                             f.staff_registered(ours, now, [crm.store_id]),
                             f.staff_registered(gone, now, [crm.store_id]),
                             f.staff_registered(head_office, now, [], hq_role="hq_admin")) == ["applied"] * 4
    await crm.deliver(f.staff_left(gone, now + timedelta(minutes=1), [crm.store_id]))
    r = await crm.agent.post("/v1/complaints", json={"department": "workshop", "severity": "medium",
                                                     "description": "car returned dirty"})
    assert r.status_code == 201, r.text
    complaint = r.json()

    for person_id in (theirs, gone):
        r = await crm.manager.post(f"/v1/complaints/{complaint['id']}/assign", json={"owner": person_id})
        assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["owner"], r.text
    assert (await crm.agent.get(f"/v1/complaints/{complaint['id']}")).json()["owner"] is None
    for person_id in (ours, head_office, "foreman-zhou"):
        r = await crm.manager.post(f"/v1/complaints/{complaint['id']}/assign", json={"owner": person_id})
        assert r.status_code == 200 and r.json()["owner"] == person_id, r.text


async def test_person_events_twice_keep_one_copy_and_a_late_older_one_changes_nothing(crm):
    person_id, first_at = new_id(), crm.clock.now()
    first = f.staff_registered(person_id, first_at, [crm.store_id])
    assert await crm.deliver(first, first) == ["applied", "duplicate"]
    moved = f.staff_reassigned(person_id, first_at + timedelta(minutes=5), [crm.other_store_id])
    late = f.staff_registered(person_id, first_at, [crm.store_id])  # the registration again, under a new id, last
    assert await crm.deliver(moved, late) == ["applied", "applied"]
    r = await crm.agent.post("/v1/complaints", json={"department": "workshop", "severity": "medium",
                                                     "description": "car returned dirty"})

    r = await crm.manager.post(f"/v1/complaints/{r.json()['id']}/assign", json={"owner": person_id})

    assert r.status_code == 422 and r.json()["errors"][0]["message"] == "that person does not work in this store"
