"""An id in a request body that names another store's object is a 422 naming the field,
and changes nothing of that store's."""
from __future__ import annotations

from datetime import UTC, datetime

from tests.reception import factories

# 10:15 in Shanghai on the test day (the clock starts at 09:00 local).
TEN_FIFTEEN = datetime(2026, 12, 1, 2, 15, tzinfo=UTC)


async def test_checking_in_another_stores_appointment_is_422_and_leaves_it_booked(reception):
    r = await reception.other_advisor.post("/v1/appointments", json=factories.appointment(TEN_FIFTEEN))
    assert r.status_code == 201, r.text
    theirs = r.json()

    r = await reception.advisor.post("/v1/repair-orders", json=factories.check_in(appointment_id=theirs["id"]))

    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["appointment_id"], r.text
    after = (await reception.other_advisor.get(f"/v1/appointments/{theirs['id']}")).json()
    assert after["status"] == "booked" and after["repair_order_id"] is None
    assert (await reception.advisor.get("/v1/repair-orders")).json()["items"] == []
