"""Claims are priced and prechecked by the policies in force on the repair date (China's
calendar): a repair done before HQ's change by the old versions, one after by the new, each
claim naming the versions it was priced by."""
from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.common import reference
from services.network.claims import kinds, policy
from services.network.repair_orders.schemas import OrderLine
from tests.network.conftest import create_store
from tests.network.factories import labour, order_settled, part
from tests.support.events import deliver
from tests.support.platform import Caller

SENSOR, SENSOR_PART = "BRK-0500", "XB-57450-S01"  # 0.7 h flat; dealer cost 46000 fen, +15 % handling


def _changed(file: str, key: str, code_key: str, code: str, **fields) -> dict:
    body = copy.deepcopy(reference.load(file))
    next(item for item in body[key] if item[code_key] == code).update(fields)
    return body


def sensor_lines() -> list[dict]:
    return [labour(SENSOR, "0.7"), part(SENSOR_PART, 1, 52900)]


async def publish(hq: Caller, name: str, body: dict, day: str) -> None:
    added = await hq.post(f"/v1/policies/{name}/versions", json={"effective_from": day, "body": body})
    assert added.status_code == 201, added.text


async def test_a_repair_before_a_policy_change_is_priced_by_the_old_version_and_one_after_by_the_new(
        client, hq, clock):
    store = await create_store(hq)
    await publish(hq, "warranty_policy", {**reference.load("warranty_policy"),
                                          "warranty_labour_rate_fen_per_hour": 28000}, "2026-12-11")
    await publish(hq, "labour_operations", _changed("labor_operations", "operations", "op_code", SENSOR,
                                                    flat_rate_hours=0.5), "2026-12-11")
    await publish(hq, "parts_prices", _changed("parts", "parts", "part_no", SENSOR_PART, dealer_cost_fen=40000),
                  "2026-12-11")
    clock.advance(timedelta(days=2))
    # 23:00 and 00:30 China time: the UTC day of both is the 10th, the repair days the 10th and 11th.
    before = order_settled(store["id"], sensor_lines(), opened_at=datetime(2026, 12, 10, 15, tzinfo=UTC),
                           settled_at=datetime(2026, 12, 11, 1, tzinfo=UTC))
    after = order_settled(store["id"], sensor_lines(), opened_at=datetime(2026, 12, 10, 16, 30, tzinfo=UTC),
                          settled_at=datetime(2026, 12, 11, 2, tzinfo=UTC))
    advisor = Caller(client, "service_advisor", store_id=store["id"])
    claims = []
    for order in (before, after):
        assert await deliver(client.app, order) == "applied"
        submitted = await advisor.post("/v1/claims", json={
            "repair_order_id": order.data["repair_order_id"], "complaint": "ABS warning light on",
            "cause": "wheel speed sensor open circuit", "correction": "replaced sensor", "causal_part_no": SENSOR_PART})
        assert submitted.status_code == 201, submitted.text
        claims.append(submitted.json())
    old, new = claims

    assert old["policy_versions"] == {"warranty_policy": 1, "labour_operations": 1, "parts_prices": 1}
    assert [(line["paid_hours"], line["claimed_fen"]) for line in old["lines"]] == [("0.7", 18200), (None, 52900)]
    assert old["precheck"]["findings"] == []

    assert new["policy_versions"] == {"warranty_policy": 2, "labour_operations": 2, "parts_prices": 2}
    # 0.5 h at 28000 fen; the part at 40000 + 15 %.
    assert [(line["paid_hours"], line["claimed_fen"]) for line in new["lines"]] == [("0.5", 14000), (None, 46000)]
    assert [f["code"] for f in new["precheck"]["findings"]] == ["R03", "R04"]
    read = await hq.get(f"/v1/claims/{old['id']}")
    assert read.json()["policy_versions"] == old["policy_versions"]


def test_campaign_work_is_paid_at_the_campaign_policys_rate_else_the_warranty_policys():
    line = OrderLine.model_validate(labour("RCL-2026-01", "0.5", pay_type="campaign"))
    terms = kinds.CampaignTerms(campaign_id="c-1", code="RC-1", op_code="RCL-2026-01", flat_hours=Decimal("0.5"),
                                parts={})
    shipped = policy.files()
    own_rate = policy.Rules(shipped.warranty, shipped.operations, shipped.parts,
                            campaign={"labour_rate_fen_per_hour": 30000, "parts_handling_percent": None})
    assert kinds.price_campaign([line], terms, shipped)[0][0].claimed_fen == 13000  # warranty's 26000 fen/h
    priced, pricing = kinds.price_campaign([line], terms, own_rate)
    assert (priced[0].claimed_fen, pricing["labour_rate_fen_per_hour"], pricing["parts_handling_percent"]) == (
        15000, 30000, 15)

