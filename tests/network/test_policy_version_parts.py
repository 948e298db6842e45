"""A version with more changes than one event carries is published whole: the first
MAX_PUBLISHED_CHANGES in `network.policy.version_published`, the rest in
`network.policy.version_changes` parts written in the same transaction, from which a store
rebuilds the version."""
from __future__ import annotations

import copy
import json

import sqlalchemy as sa

from services.common import policy_copies, reference
from services.common.events.catalogue.network import MAX_PUBLISHED_CHANGES
from services.common.tables import OutboxMessage

PARTS = "/v1/policies/parts_prices"


async def told(client) -> list[dict]:
    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(sa.select(OutboxMessage.payload).where(
            sa.or_(OutboxMessage.event_type == "network.policy.version_published",
                   OutboxMessage.event_type == "network.policy.version_changes")).order_by(OutboxMessage.id))).all()
    return [json.loads(payload) for (payload,) in rows]


async def test_a_450_change_version_is_told_in_three_parts_that_rebuild_it(client, hq):
    body = copy.deepcopy(reference.load("parts"))
    body["parts"][0]["list_price_fen"] += 100
    body["parts"] += [{"part_no": f"XB-NEW-{n:05d}", "name": f"part {n}", "category": "repair",
                       "list_price_fen": 1000 + n, "dealer_cost_fen": 600, "warranty_eligible": False}
                      for n in range(449)]
    added = await hq.post(f"{PARTS}/versions", json={"effective_from": "2027-01-01", "body": body})
    assert added.status_code == 201, added.text

    events = await told(client)
    assert [(e["type"], e["subject"], e["data"].get("part"), e["data"].get("parts"), len(e["data"]["changes"]))
            for e in events] == [
        ("network.policy.version_published", "parts_prices", None, None, MAX_PUBLISHED_CHANGES),
        ("network.policy.version_changes", "parts_prices", 2, 3, MAX_PUBLISHED_CHANGES),
        ("network.policy.version_changes", "parts_prices", 3, 3, 50)]
    assert events[0]["data"]["change_count"] == 450
    changes = [c for e in events for c in e["data"]["changes"]]
    assert changes == added.json()["changes"]
    rebuilt = policy_copies.apply_changes(reference.load("parts"), changes)
    assert policy_copies.parts_by_number(rebuilt) == policy_copies.parts_by_number(body)


async def test_a_version_that_fits_one_event_is_told_in_one(client, hq):
    body = copy.deepcopy(reference.load("parts"))
    body["parts"][0]["list_price_fen"] += 100
    assert (await hq.post(f"{PARTS}/versions", json={"effective_from": "2027-01-01", "body": body})).status_code == 201
    assert [e["type"] for e in await told(client)] == ["network.policy.version_published"]
