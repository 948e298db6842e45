"""An id in a request body that names another store's object is a 422 naming the field:
a complaint about another store's customer or repair order."""
from __future__ import annotations

from datetime import timedelta

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
