"""The HQ dashboard's aggregates: every region's and area's figures in one read (a store
moved counts for its days in each, as GET /v1/regions/{id}/kpis does), the leading stores
by revenue and the rest, the onboarding funnel, and trends by day, ISO week and month."""
from __future__ import annotations

from datetime import datetime, timedelta

from services.common.ids import new_id
from tests.network import factories as f
from tests.network.conftest import create_store
from tests.network.test_regions import SHANGHAI, area_of, new_region, open_orders, put, region_manager, store_in
from tests.support.events import deliver

WINDOW = {"from": "2026-12-01", "to": "2026-12-31"}


async def settle(client, store_id: str, month: int, day: int, customer_fen: int) -> None:
    at = datetime(2026, month, day, 15, 0, tzinfo=SHANGHAI)
    await deliver(client.app, f.order_settled(store_id, [f.fee(customer_fen, pay_type="customer")], settled_at=at))


async def test_every_region_and_area_in_one_read_with_the_leaders_and_the_funnel(client, hq, clock):
    east, south = await new_region(hq, "EAST", "ZJ", "JS"), await new_region(hq, "SOUTH", "GD")
    zhejiang, jiangsu = await store_in(hq, area_of(east, "ZJ")), await store_in(hq, area_of(east, "JS"))
    mover, unplaced = await store_in(hq, area_of(east, "ZJ")), await create_store(hq)
    await open_orders(client, zhejiang["id"], (12, 10), (12, 10))
    await open_orders(client, jiangsu["id"], (12, 10))
    await open_orders(client, unplaced["id"], (12, 10))
    await open_orders(client, mover["id"], (12, 10))  # in East that day
    for store, fen in ((zhejiang, 30000), (jiangsu, 50000), (mover, 10000), (unplaced, 20000)):
        await settle(client, store["id"], 12, 10, fen)
    clock.advance(timedelta(days=2))
    moved = await put(hq, f"/v1/stores/{mover['id']}/area", {"area_id": area_of(south, "GD"), "reason": "redrawn"})
    assert moved.status_code == 200, moved.text
    await open_orders(client, mover["id"], (12, 12), (12, 12))  # in South from the 12th
    await hq.post("/v1/outlet-applications", json=f.application_body())

    answer = await hq.get("/v1/kpis/overview", params={**WINDOW, "top": 2})
    assert answer.status_code == 200, answer.text
    seen = answer.json()
    opened = {r["region_code"]: (r["figures"]["repair_orders_opened"],
                                 {a["area_code"]: a["figures"]["repair_orders_opened"] for a in r["areas"]})
              for r in seen["regions"]}
    # A settled order counts as opened too, on its own day.
    assert opened == {"EAST": (7, {"JS": 2, "ZJ": 5}), "SOUTH": (2, {"GD": 2})}
    for region in seen["regions"]:  # the same figures as the region's own read
        own = (await hq.get(f"/v1/regions/{region['region_id']}/kpis", params=WINDOW)).json()["region"]
        assert region["figures"]["repair_orders_opened"] == own["repair_orders_opened"]
        assert region["figures"]["revenue_fen"] == own["revenue_fen"]
    assert seen["network"]["repair_orders_opened"] == 11 and seen["unplaced"]["repair_orders_opened"] == 2
    assert seen["network"]["revenue_fen"]["total"] == 110000
    stores = {r["region_code"]: r["stores"]["total"] for r in seen["regions"]}
    assert stores == {"EAST": 2, "SOUTH": 1} and seen["stores"]["total"] == 4
    assert [(s["store_code"], s["revenue_fen"]) for s in seen["leaders"]] == [
        (jiangsu["code"], 50000), (zhejiang["code"], 30000)]
    assert seen["leaders"][0]["store_name"] == jiangsu["name"]
    assert seen["rest"] == {"stores": 2, "revenue_fen": 30000}
    assert seen["funnel"]["applications_submitted"] == 1

    # A region manager: its regions, and the network as their sum.
    manager = await region_manager(hq, client, south)
    theirs = (await manager.get("/v1/kpis/overview", params=WINDOW)).json()
    assert [r["region_code"] for r in theirs["regions"]] == ["SOUTH"]
    assert theirs["network"]["repair_orders_opened"] == 2 and theirs["unplaced"] is None
    assert [s["store_id"] for s in theirs["leaders"]] == [mover["id"]]
    bad = await hq.get("/v1/kpis/overview", params={"from": "2026-12-31", "to": "2026-12-01"})
    assert bad.status_code == 422 and "from" in bad.text


async def test_trends_by_day_week_and_month_for_the_network_a_region_and_a_store(client, hq, clock):
    east, south = await new_region(hq, "EAST", "ZJ"), await new_region(hq, "SOUTH", "GD")
    here, there = await store_in(hq, area_of(east, "ZJ")), await store_in(hq, area_of(south, "GD"))
    # Orders on days of past months too (the projection counts the day an event says).
    for store in (here, there):
        for month, day in ((10, 6), (11, 30), (12, 1), (12, 7), (12, 10)):
            await deliver(client.app, f.order_opened(store["id"], repair_order_id=new_id(),
                                                     opened_at=datetime(2026, month, day, 9, 0, tzinfo=SHANGHAI)))
    await settle(client, here["id"], 12, 7, 40000)

    by_month = (await hq.get("/v1/kpis/trend", params={"bucket": "month", "from": "2026-10-15",
                                                      "to": "2026-12-10"})).json()
    assert by_month["from"] == "2026-10-01"
    assert [(p["start"], p["end"], p["repair_orders_opened"]) for p in by_month["points"]] == [
        ("2026-10-01", "2026-10-31", 2), ("2026-11-01", "2026-11-30", 2), ("2026-12-01", "2026-12-10", 7)]
    by_week = (await hq.get("/v1/kpis/trend", params={"bucket": "week", "from": "2026-11-30", "to": "2026-12-10",
                                                     "store_id": here["id"]})).json()
    assert [(p["start"], p["repair_orders_opened"]) for p in by_week["points"]] == [
        ("2026-11-30", 2), ("2026-12-07", 3)]  # the settled order opened on the 7th too
    assert by_week["points"][1]["revenue_fen"]["total"] == 40000
    by_day = (await hq.get("/v1/kpis/trend", params={"from": "2026-12-06", "to": "2026-12-07",
                                                    "store_id": there["id"]})).json()
    assert [(p["start"], p["repair_orders_opened"]) for p in by_day["points"]] == [("2026-12-06", 0),
                                                                                   ("2026-12-07", 1)]
    # A region counts its stores from their first day in it (placed the day they were made, the 10th).
    in_east = (await hq.get("/v1/kpis/trend", params={"from": "2026-12-09", "to": "2026-12-10",
                                                     "region_id": east["id"]})).json()
    assert [(p["start"], p["repair_orders_opened"]) for p in in_east["points"]] == [("2026-12-09", 0),
                                                                                   ("2026-12-10", 1)]
    default = (await hq.get("/v1/kpis/trend")).json()  # 30 days to today (2026-12-10)
    assert len(default["points"]) == 30 and default["points"][-1]["start"] == "2026-12-10"

    manager = await region_manager(hq, client, south)
    assert (await manager.get("/v1/kpis/trend", params={"bucket": "month", "from": "2026-12-01"})).json()[
        "points"][0]["repair_orders_opened"] == 1
    assert (await manager.get("/v1/kpis/trend", params={"region_id": east["id"]})).status_code == 404
    assert (await manager.get("/v1/kpis/trend", params={"store_id": here["id"]})).status_code == 404
    too_long = await hq.get("/v1/kpis/trend", params={"bucket": "day", "from": "2026-01-01", "to": "2026-12-10"})
    assert too_long.status_code == 422 and "from" in too_long.text
    both = await hq.get("/v1/kpis/trend", params={"store_id": here["id"], "region_id": east["id"]})
    assert both.status_code == 422 and "region_id" in both.text
