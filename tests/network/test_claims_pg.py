"""On PostgreSQL the database itself refuses a repair order line on two live claims, also
when two submissions race past the friendly check."""
from __future__ import annotations

import asyncio

import pytest

from tests.network.conftest import create_store, network_service, network_settings
from tests.network.factories import labour, order_settled, part
from tests.support.events import deliver
from tests.support.platform import Caller


@pytest.fixture
async def client(pg_url, clock):
    async with network_service(network_settings(pg_url), clock) as client:
        yield client


async def test_two_claims_for_the_same_lines_submitted_at_once_one_is_refused_with_409(client, hq):
    store = await create_store(hq)
    order = order_settled(store["id"], [labour("BRK-0500", "0.7"), part("XB-57450-S01", 1, 52900)])
    assert await deliver(client.app, order) == "applied"
    body = {"repair_order_id": order.data["repair_order_id"], "complaint": "ABS light", "cause": "sensor",
            "correction": "replaced", "causal_part_no": "XB-57450-S01"}
    advisors = [Caller(client, "service_advisor", store_id=store["id"], principal_id=f"advisor-{n}") for n in (1, 2)]
    answers = await asyncio.gather(*(a.post("/v1/claims", json=body) for a in advisors))
    assert sorted(r.status_code for r in answers) == [201, 409]
    refused = next(r for r in answers if r.status_code == 409).json()
    assert [f["code"] for f in refused["findings"]] == ["R05", "R05"]
    assert len((await hq.get("/v1/claims")).json()["items"]) == 1
