"""An id in a request body that names another store's object is a 422 naming the field:
a warranty claim on another store's repair order, or on lines of another order."""
from __future__ import annotations

from tests.network.conftest import create_store
from tests.network.factories import labour, order_settled, part
from tests.support.events import deliver
from tests.support.platform import Caller


def sensor_lines() -> list[dict]:
    return [labour("BRK-0500", "0.7"), part("XB-57450-S01", 1, 52900)]


async def test_a_claim_on_another_stores_order_or_its_lines_is_422(client, hq):
    ours, theirs = await create_store(hq), await create_store(hq)
    own_order, their_order = order_settled(ours["id"], sensor_lines()), order_settled(theirs["id"], sensor_lines())
    for envelope in (own_order, their_order):
        assert await deliver(client.app, envelope) == "applied"
    advisor = Caller(client, "warranty_clerk", store_id=ours["id"], principal_id="clerk-1")
    body = {"complaint": "ABS warning light on", "cause": "wheel speed sensor open circuit",
            "correction": "replaced sensor", "causal_part_no": "XB-57450-S01"}

    r = await advisor.post("/v1/claims", json={**body, "repair_order_id": their_order.data["repair_order_id"]})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["repair_order_id"], r.text

    their_line = their_order.data["lines"][0]["line_id"]
    r = await advisor.post("/v1/claims", json={**body, "repair_order_id": own_order.data["repair_order_id"],
                                               "line_ids": [their_line]})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["line_ids.0"], r.text
    assert (await advisor.get("/v1/claims")).json()["items"] == []
