"""The build-out plan and the region manager's reach: a plan's cities and their progress,
the funnel from application to active outlet per region with the days in each step, an
outlet's checklist progress, and a region manager deciding its stores' claims up to the
region's limit and seeing nothing of another region's."""
from __future__ import annotations

from datetime import timedelta

from services.common import reference
from tests.network.factories import application_body, labour, order_settled, part
from tests.network.test_onboarding_api import anonymous
from tests.network.test_regions import area_of, new_region, put, region_manager, store_in
from tests.support.events import deliver
from tests.support.platform import Caller

PASSING_AUDIT = {"items": [{"code": s["code"], "score": 90} for s in reference.load("audit_standards")["items"]]}


async def applied(client, city: str) -> str:
    made = await anonymous(client).post("/v1/outlet-applications", json=application_body(
        address={"province": "江苏", "city": city, "line": "88 Qianjin Road"}))
    assert made.status_code == 201, made.text
    return made.json()["id"]


async def review(hq: Caller, application_id: str, decision: str) -> dict:
    done = await hq.post(f"/v1/outlet-applications/{application_id}/review",
                         json={"decision": decision, "reason": "licence checked"})
    assert done.status_code == 200, done.text
    return done.json()


def steps(row: dict) -> dict[str, tuple]:
    return {s["step"]: (s["reached"], s["here_now"], s["days_median"], s["days_p90"]) for s in row["steps"]}


async def test_the_funnel_counts_each_step_and_its_days_in_the_region_whose_plan_names_the_city(client, hq, clock):
    east, south = await new_region(hq, "EAST", "SZ"), await new_region(hq, "SOUTH", "GZ")
    plan = await put(hq, f"/v1/regions/{east['id']}/build-out-plans/2026", {
        "cities": [{"province": "江苏", "city": "昆山", "planned_outlets": 3},
                   {"province": "江苏", "city": "苏州", "planned_outlets": 2}], "note": "苏南加密"})
    assert plan.status_code == 200, plan.text
    assert (plan.json()["planned_outlets"], plan.json()["version"]) == (5, 1)

    kunshan, wuxi = await applied(client, "昆山市"), await applied(client, "无锡")
    clock.advance(timedelta(days=2))
    outlet = (await review(hq, kunshan, "approve"))["store_id"]
    await review(hq, wuxi, "reject")
    clock.advance(timedelta(days=3))
    for code, days_after in (("warranty_agreement_signed", 1), ("staff_trained", 4), ("parts_account_opened", 0)):
        ticked = await hq.post(f"/v1/stores/{outlet}/onboarding/{code}/complete", json={"note": "done"})
        assert ticked.status_code == 200, ticked.text
        clock.advance(timedelta(days=days_after))
    assert (await hq.post(f"/v1/stores/{outlet}/audits", json=PASSING_AUDIT)).status_code == 201

    funnel = (await hq.get("/v1/build-out-funnel", params={"year": 2026})).json()
    rows = {r["region_code"]: r for r in funnel["regions"]}
    assert set(rows) == {"EAST", "SOUTH", None}
    assert steps(rows["EAST"]) == {
        "applied": (1, 0, "2.0", "2.0"), "approved": (1, 0, "3.0", "3.0"), "contracted": (1, 0, "1.0", "1.0"),
        "building": (1, 0, "4.0", "4.0"), "audited": (1, 1, None, None), "active": (0, 0, None, None)}
    assert (rows["EAST"]["planned_outlets"], rows["EAST"]["rejected"]) == (5, 0)
    # An application from no planned city, rejected: HQ's row of unplanned applications.
    assert steps(rows[None])["applied"] == (1, 0, None, None) and rows[None]["rejected"] == 1
    assert steps(rows["SOUTH"])["applied"] == (0, 0, None, None)

    progress = (await hq.get(f"/v1/regions/{east['id']}/build-out-plans/2026")).json()
    cities = [(c["city"], c["planned_outlets"], c["applied"], c["approved"], c["active"]) for c in progress["cities"]]
    assert cities == [("昆山", 3, 1, 1, 0), ("苏州", 2, 0, 0, 0)]
    outlets = (await hq.get("/v1/build-out-outlets")).json()["items"]
    mine = next(o for o in outlets if o["store_id"] == outlet)
    total = len(reference.load("onboarding_checklist")["items"])
    assert (mine["checklist"]["done"], mine["checklist"]["total"]) == (4, total)
    assert "warranty_agreement_signed" not in mine["checklist"]["missing"]

    # Another region's manager sees its own region's figures only.
    west_manager = await region_manager(hq, client, south)
    theirs = (await west_manager.get("/v1/build-out-funnel", params={"year": 2026})).json()
    assert [r["region_code"] for r in theirs["regions"]] == ["SOUTH"]
    assert (await west_manager.get(f"/v1/regions/{east['id']}/build-out-plans/2026")).status_code == 404
    assert (await west_manager.get("/v1/build-out-plans", params={"year": 2026})).json()["items"] == []
    # The outlet is in no region until placed; placed in East, East's manager lists it.
    assert (await put(hq, f"/v1/stores/{outlet}/area", {"area_id": area_of(east, "SZ"), "reason": "苏州片区"})
            ).status_code == 200
    east_manager = await region_manager(hq, client, east)
    assert [o["store_id"] for o in (await east_manager.get("/v1/build-out-outlets")).json()["items"]] == [outlet]
    assert (await west_manager.get("/v1/build-out-outlets")).json()["items"] == []
    # A stale plan version is refused; store roles do not read plans.
    stale = await hq.client.put(f"/v1/regions/{east['id']}/build-out-plans/2026", json={"cities": [
        {"province": "江苏", "city": "昆山", "planned_outlets": 4}]}, headers=hq._headers({"If-Match": '"7"'}))
    assert stale.status_code == 412, stale.text
    assert (await Caller(client, "store_manager", store_id=outlet).get("/v1/build-out-funnel",
                                                                     params={"year": 2026})).status_code == 403


async def test_a_region_manager_decides_its_stores_claims_up_to_the_regions_limit(client, hq):
    east, south = await new_region(hq, "E2", "A"), await new_region(hq, "S2", "B")
    store = await store_in(hq, area_of(east, "A"))
    order = order_settled(store["id"], [labour("BRK-0500", "0.7"), part("XB-57450-S01", 1, 52900)])
    assert await deliver(client.app, order) == "applied"
    advisor = Caller(client, "service_advisor", store_id=store["id"], principal_id="advisor-1")
    filed = await advisor.post("/v1/claims", json={
        "repair_order_id": order.data["repair_order_id"], "complaint": "ABS warning light on",
        "cause": "wheel speed sensor open circuit", "correction": "replaced sensor", "causal_part_no": "XB-57450-S01"})
    assert filed.status_code == 201, filed.text
    claim = filed.json()
    east_manager, south_manager = await region_manager(hq, client, east), await region_manager(hq, client, south)
    approve = {"decision": "approve", "note": "sensor fault confirmed"}

    # Another region's manager: no such claim, in the list or by id, nor to decide.
    assert (await south_manager.get(f"/v1/claims/{claim['id']}")).status_code == 404
    assert (await south_manager.get("/v1/claims", params={"store_id": store["id"]})).json()["items"] == []
    assert (await south_manager.post(f"/v1/claims/{claim['id']}/decision", json=approve)).status_code == 404
    assert [c["id"] for c in (await east_manager.get("/v1/claims")).json()["items"]] == [claim["id"]]

    # The region's limit is 0 until HQ sets it: the claim is HQ's.
    above = await east_manager.post(f"/v1/claims/{claim['id']}/decision", json=approve)
    assert (above.status_code, above.json().get("field")) == (403, "amount_claimed_fen"), above.text
    limit = await hq.patch(f"/v1/regions/{east['id']}", json={"claim_review_limit_fen": claim["amount_claimed_fen"]})
    assert (limit.status_code, limit.json()["claim_review_limit_fen"]) == (200, claim["amount_claimed_fen"])
    decided = await east_manager.post(f"/v1/claims/{claim['id']}/decision", json=approve)
    assert (decided.status_code, decided.json()["status"]) == (200, "approved"), decided.text
    assert decided.json()["decided_by"] == east_manager.principal_id
