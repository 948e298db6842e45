"""The HQ dashboard's targets panel and a region's claims: GET /v1/kpis/overview carries the
month's targets and attainment for the network and each region, the same figures as
GET /v1/targets/attainment's groups, and each region's claim review limit; GET /v1/claims
takes `region_id` (the stores in the region now), refusing a region the caller does not see."""
from __future__ import annotations

from datetime import date

from tests.network.conftest import create_store
from tests.network.test_claims_api import claim_body, closed_order, sensor_lines, submit
from tests.network.test_gross_margin import costed
from tests.network.test_gross_margin import delivered as costed_order
from tests.network.test_regions import area_of, new_region, region_manager, store_in
from tests.network.test_targets import YEAR, delivered, even_months, put
from tests.support.events import deliver
from tests.support.platform import Caller

DECEMBER = {"from": "2026-12-01", "to": "2026-12-10"}


def by_measure(rows: list[dict]) -> dict[str, dict]:
    return {row["measure"]: row for row in rows}


async def test_the_overview_carries_the_months_attainment_of_the_network_and_each_region(client, hq):
    east, south = await new_region(hq, "EAST", "ZJ"), await new_region(hq, "SOUTH", "GD")
    west = await new_region(hq, "WEST", "SC")  # no store yet
    hangzhou, ningbo = await store_in(hq, area_of(east, "ZJ")), await store_in(hq, area_of(east, "ZJ"))
    guangzhou, unplaced = await store_in(hq, area_of(south, "GD")), await create_store(hq)
    # CSI targets where no survey came in yet (Guangzhou's and the unplaced store's): the network's is their mean.
    for store, year in ((hangzhou, {"repair_orders": 1200, "gross_margin_fen": 12_000_000}),
                        (ningbo, {"repair_orders": 600, "gross_margin_fen": 6_000_000}),
                        (guangzhou, {"repair_orders": 365, "csi": 4500, "gross_margin_fen": 3_650_000}),
                        (unplaced, {"csi": 4700})):
        year |= {"labour_revenue_fen": 36_500_000, "first_time_fix": 900} if "repair_orders" in year else {}
        assert (await put(hq, f"/v1/stores/{store['id']}/targets/{YEAR}", year)).status_code == 200
    manager = Caller(client, "store_manager", store_id=hangzhou["id"])
    split = await put(manager, f"/v1/stores/{hangzhou['id']}/targets/{YEAR}/months", even_months(repair_orders=100))
    assert split.status_code == 200, split.text
    for store, days in ((hangzhou, (1, 2, 3)), (ningbo, (4,)), (guangzhou, (5, 6)), (unplaced, (7,))):
        for day in days:
            await deliver(client.app, delivered(store["id"], "advisor-1", date(2026, 12, day), labour_fen=50_000))
    # An order each in East costed (a margin); Guangzhou's none, so the network has no margin to project.
    for store in (hangzhou, ningbo):
        order_id = f"ro-{store['id']}"
        for event in (costed_order(store["id"], order_id, "advisor-1"), costed(store["id"], order_id)):
            await deliver(client.app, event)

    overview = await hq.get("/v1/kpis/overview", params=DECEMBER)
    assert overview.status_code == 200, overview.text
    attainment = overview.json()["attainment"]
    assert (attainment["period"], attainment["days_in_month"]) == ("2026-12", 31)
    report = (await hq.get("/v1/targets/attainment", params={"period": "2026-12"})).json()
    assert attainment["network"] == report["network"]["measures"]
    theirs = {group["region"]: group["measures"] for group in report["regions"]}
    ours = {r["region_id"]: (r["stores"], r["measures"]) for r in attainment["regions"]}
    assert ours[east["id"]] == (2, theirs["EAST"]) and ours[south["id"]] == (1, theirs["SOUTH"])
    assert ours[west["id"]][0] == 0 and not [m for m in ours[west["id"]][1] if m["target"] is not None]
    network = by_measure(attainment["network"])
    # Hangzhou's December as split (100); the others' years pro rata: 600 and 365 × 31 / 365 → 51 and 31.
    # The store in no region counts in the network (its order too: the measure covers all when none is
    # targeted, the targeted stores when some are).
    assert (network["repair_orders"]["target"], network["repair_orders"]["actual"]) == (100 + 51 + 31, 8)
    assert (network["csi"]["target"], network["csi"]["actual"]) == (4600, None)
    # Each targeted store at its pace, 10 of 31 days gone: 4, 2 and 2 orders → 12.4, 6.2, 6.2 → 12 + 6 + 6.
    assert network["repair_orders"]["projected"] == 24
    east_margin = by_measure(ours[east["id"]][1])["gross_margin_fen"]
    assert east_margin["actual"] is not None and east_margin["projected"] is not None
    assert network["gross_margin_fen"]["actual"] is not None and network["gross_margin_fen"]["projected"] is None
    assert by_measure(ours[south["id"]][1])["repair_orders"]["attained"] == "0.0645"  # 2 of 31

    # A region manager: its regions only, and the network is their stores.
    south_manager = await region_manager(hq, client, south)
    seen = (await south_manager.get("/v1/kpis/overview", params=DECEMBER)).json()["attainment"]
    assert [r["region_id"] for r in seen["regions"]] == [south["id"]]
    assert seen["network"] == ours[south["id"]][1]


async def claim_in(client, store: dict) -> dict:
    order = await closed_order(client, store["id"], sensor_lines())
    return await submit(Caller(client, "service_advisor", store_id=store["id"]), claim_body(order))


async def test_claims_list_by_region_with_the_regions_limit_on_the_overview(client, hq):
    east, south = await new_region(hq, "EAST", "ZJ"), await new_region(hq, "SOUTH", "GD")
    hangzhou, guangzhou = await store_in(hq, area_of(east, "ZJ")), await store_in(hq, area_of(south, "GD"))
    ours, other = await claim_in(client, hangzhou), await claim_in(client, guangzhou)
    limit = await hq.patch(f"/v1/regions/{east['id']}", json={"claim_review_limit_fen": 500_000})
    assert limit.status_code == 200, limit.text

    listed = await hq.get("/v1/claims", params={"region_id": east["id"], "status": "submitted"})
    assert listed.status_code == 200, listed.text
    assert [c["id"] for c in listed.json()["items"]] == [ours["id"]]
    assert {c["id"] for c in (await hq.get("/v1/claims")).json()["items"]} >= {ours["id"], other["id"]}
    regions = {r["region_id"]: r["claim_review_limit_fen"]
               for r in (await hq.get("/v1/kpis/overview")).json()["regions"]}
    assert regions == {east["id"]: 500_000, south["id"]: 0}

    # A region manager lists its region's; another region is refused as one that does not exist.
    south_manager = await region_manager(hq, client, south)
    mine = await south_manager.get("/v1/claims", params={"region_id": south["id"]})
    assert [c["id"] for c in mine.json()["items"]] == [other["id"]]
    for caller, region_id in ((south_manager, east["id"]), (hq, "no-such-region"), (hq, "r" * 65), (hq, "")):
        refused = await caller.get("/v1/claims", params={"region_id": region_id})
        assert refused.status_code == 422 and "region_id" in refused.text, (region_id, refused.text)
