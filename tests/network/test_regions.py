"""Regions → areas → stores: a store moved between regions keeps its figures before the
move with the region it was in; a region manager sees only its regions' stores and KPIs."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from services.common.ids import new_id
from tests.network import factories as f
from tests.network.conftest import create_store
from tests.network.factories import person_body
from tests.support.events import deliver
from tests.support.platform import Caller, identity

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def put(caller: Caller, url: str, body: dict) -> httpx.Response:
    headers = identity(caller.role, caller.store_id, caller.principal_id)
    return await caller.client.put(url, json=body, headers=headers)


async def new_region(hq: Caller, code: str, *areas: str) -> dict:
    made = await hq.post("/v1/regions", json={"code": code, "name": f"{code} 大区",
                                              "areas": [{"code": a, "name": f"{a} 片区"} for a in areas]})
    assert made.status_code == 201, made.text
    return made.json()


def area_of(region: dict, code: str) -> str:
    return next(a["id"] for a in region["areas"] if a["code"] == code)


async def store_in(hq: Caller, area_id: str) -> dict:
    body = f.store_body()
    made = await hq.post("/v1/stores", json={**body, "area_id": area_id})
    assert made.status_code == 201, made.text
    return made.json()


async def open_orders(client, store_id: str, *days: tuple[int, int]) -> None:
    for month, day in days:
        opened = datetime(2026, month, day, 10, 0, tzinfo=SHANGHAI)
        await deliver(client.app, f.order_opened(store_id, repair_order_id=new_id(), opened_at=opened))


async def opened_in(caller: Caller, region_id: str) -> tuple[int, dict[str, int]]:
    answer = await caller.get(f"/v1/regions/{region_id}/kpis", params={"from": "2026-12-01", "to": "2026-12-31"})
    assert answer.status_code == 200, answer.text
    figures = answer.json()
    return figures["region"]["repair_orders_opened"], {s["store_id"]: s["repair_orders_opened"]
                                                       for s in figures["stores"]}


async def region_manager(hq: Caller, client, *regions: dict) -> Caller:
    person = await hq.post("/v1/people", json=person_body([], hq_role="region_manager"))
    assert person.status_code == 201, person.text
    for region in regions:
        named = await put(hq, f"/v1/regions/{region['id']}/managers", {"person_ids": [person.json()["id"]]})
        assert named.status_code == 200, named.text
    return Caller(client, "region_manager", principal_id=person.json()["id"])


async def test_a_store_moved_between_regions_keeps_its_history_where_it_was(client, hq, clock):
    east, south = await new_region(hq, "EAST", "SH", "HZ"), await new_region(hq, "SOUTH", "GZ")
    store = await store_in(hq, area_of(east, "SH"))  # created 2026-12-10 (T0), placed that day
    assert (store["region"], store["region_id"], store["area_id"]) == ("EAST", east["id"], area_of(east, "SH"))
    await open_orders(client, store["id"], (12, 10), (12, 11), (12, 11))

    clock.advance(timedelta(days=2))  # 2026-12-12 in Shanghai
    url = f"/v1/stores/{store['id']}/area"
    moved = await put(hq, url, {"area_id": area_of(south, "GZ"), "reason": "区域调整 regions redrawn"})
    assert moved.status_code == 200, moved.text
    stays = moved.json()["history"]
    assert [(s["region_code"], s["area_code"], s["from_day"], s["until_day"]) for s in stays] == [
        ("EAST", "SH", "2026-12-10", "2026-12-12"), ("SOUTH", "GZ", "2026-12-12", None)]
    await open_orders(client, store["id"], (12, 12), (12, 13))

    # The three orders before the move stay with East; the two after count for South.
    assert await opened_in(hq, east["id"]) == (3, {store["id"]: 3})
    assert await opened_in(hq, south["id"]) == (2, {store["id"]: 2})
    whole = (await hq.get("/v1/kpis", params={"store_id": store["id"], "from": "2026-12-01",
                                               "to": "2026-12-31"})).json()
    assert whole["network"]["repair_orders_opened"] == 5
    read = (await hq.get(f"/v1/stores/{store['id']}")).json()
    assert (read["region"], read["region_id"], read["area_id"]) == ("SOUTH", south["id"], area_of(south, "GZ"))
    counts = {r["code"]: (r["store_count"], {a["code"]: a["store_count"] for a in r["areas"]})
              for r in (await hq.get("/v1/regions")).json()["items"]}
    assert counts == {"EAST": (0, {"SH": 0, "HZ": 0}), "SOUTH": (1, {"GZ": 1})}

    # Moved again the day it arrived: that stay held it for no day and is replaced, not kept.
    again = await put(hq, url, {"area_id": area_of(east, "HZ"), "reason": "wrong region", "effective_from":
                                "2026-12-12"})
    assert [(s["area_code"], s["until_day"]) for s in again.json()["history"]] == [("SH", "2026-12-12"), ("HZ", None)]
    assert await opened_in(hq, south["id"]) == (0, {})
    assert await opened_in(hq, east["id"]) == (5, {store["id"]: 5})


async def test_a_move_is_refused_when_it_would_rewrite_or_foresee_history(client, hq, clock):
    east, south = await new_region(hq, "E1", "A"), await new_region(hq, "S1", "B")
    store = await store_in(hq, area_of(east, "A"))
    url = f"/v1/stores/{store['id']}/area"
    clock.advance(timedelta(days=3))
    cases = [
        ({"area_id": area_of(south, "B"), "reason": "r", "effective_from": "2026-12-09"}, 422, "effective_from"),
        ({"area_id": area_of(south, "B"), "reason": "r", "effective_from": "2026-12-14"}, 422, "effective_from"),
        ({"area_id": "no-such-area", "reason": "r"}, 422, "area_id"),
        ({"area_id": area_of(east, "A"), "reason": "r"}, 409, "area_id"),
    ]
    for body, status, field in cases:
        refused = await put(hq, url, body)
        assert refused.status_code == status, (body, refused.text)
        problem = refused.json()
        assert problem.get("field") == field or [e["field"] for e in problem.get("errors", [])] == [field], problem
    assert len((await hq.get(url)).json()["history"]) == 1
    # Only hq_admin moves a store.
    assert (await put(Caller(client, "hq_analyst"), url, {"area_id": area_of(south, "B"), "reason": "r"})
            ).status_code == 403


async def test_a_region_manager_sees_only_its_regions_stores_and_kpis(client, hq, clock):
    east, south = await new_region(hq, "EAST", "SH"), await new_region(hq, "SOUTH", "GZ")
    mine, theirs = await store_in(hq, area_of(east, "SH")), await store_in(hq, area_of(south, "GZ"))
    unplaced = await create_store(hq)
    for store in (mine, theirs, unplaced):
        await open_orders(client, store["id"], (12, 10))
    manager = await region_manager(hq, client, east)

    assert [s["id"] for s in (await manager.get("/v1/stores")).json()["items"]] == [mine["id"]]
    assert (await manager.get(f"/v1/stores/{mine['id']}")).status_code == 200
    for store in (theirs, unplaced):
        for path in ("", "/area", "/audits", "/onboarding"):
            assert (await manager.get(f"/v1/stores/{store['id']}{path}")).status_code == 404, path
    kpis = (await manager.get("/v1/kpis", params={"from": "2026-12-01", "to": "2026-12-31"})).json()
    assert [s["store_id"] for s in kpis["stores"]] == [mine["id"]]
    assert kpis["network"]["repair_orders_opened"] == 1
    assert (await manager.get("/v1/kpis", params={"store_id": theirs["id"]})).status_code == 404
    assert [r["code"] for r in (await manager.get("/v1/regions")).json()["items"]] == ["EAST"]
    assert (await manager.get(f"/v1/regions/{south['id']}")).status_code == 404
    assert (await manager.get(f"/v1/regions/{south['id']}/kpis")).status_code == 404
    assert await opened_in(manager, east["id"]) == (1, {mine["id"]: 1})
    # It reads; it does not run the network.
    assert (await manager.post("/v1/regions", json={"code": "X", "name": "x"})).status_code == 403
    assert (await put(manager, f"/v1/stores/{mine['id']}/area", {"area_id": area_of(east, "SH"), "reason": "r"})
            ).status_code == 403

    # HQ still sees every store; a store moved out of the region leaves the manager's view.
    assert {mine["id"], theirs["id"], unplaced["id"]} <= {s["id"] for s in (await hq.get("/v1/stores")).json()["items"]}
    clock.advance(timedelta(days=1))
    assert (await put(hq, f"/v1/stores/{mine['id']}/area", {"area_id": area_of(south, "GZ"), "reason": "r"})
            ).status_code == 200
    assert (await manager.get("/v1/stores")).json()["items"] == []
    assert (await manager.get("/v1/kpis")).json()["stores"] == []


async def test_a_region_manager_assigned_to_no_region_sees_no_store(client, hq):
    await store_in(hq, area_of(await new_region(hq, "EAST", "SH"), "SH"))
    nobody = await region_manager(hq, client)
    assert (await nobody.get("/v1/stores")).json()["items"] == []
    assert (await nobody.get("/v1/regions")).json()["items"] == []
    assert (await nobody.get("/v1/kpis")).json()["stores"] == []


async def test_only_a_region_manager_of_the_directory_is_named_to_a_region(client, hq):
    east = await new_region(hq, "EAST", "SH")
    store = await create_store(hq)
    analyst = await hq.post("/v1/people", json=person_body([], hq_role="hq_analyst"))
    clerk = await hq.post("/v1/people", json=person_body([(store["id"], "warranty_clerk")]))
    for person_id in (analyst.json()["id"], clerk.json()["id"], "no-such-person"):
        refused = await put(hq, f"/v1/regions/{east['id']}/managers", {"person_ids": [person_id]})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "person_ids.0"
    named = await region_manager(hq, client, east)
    region = (await hq.get(f"/v1/regions/{east['id']}")).json()
    assert [m["person_id"] for m in region["managers"]] == [named.principal_id]
    assert (await put(hq, f"/v1/regions/{east['id']}/managers", {"person_ids": []})).json()["managers"] == []


async def test_regions_and_areas_are_hq_admins_to_make(client, hq):
    east = await new_region(hq, "EAST", "SH")
    assert (await hq.post("/v1/regions", json={"code": "EAST", "name": "again"})).status_code == 409
    area = await hq.post(f"/v1/regions/{east['id']}/areas", json={"code": "NJ", "name": "南京片区"})
    assert area.status_code == 201 and area.json()["store_count"] == 0
    assert (await hq.post(f"/v1/regions/{east['id']}/areas", json={"code": "NJ", "name": "x"})).status_code == 409
    assert (await hq.post("/v1/regions/no-such/areas", json={"code": "NJ", "name": "x"})).status_code == 404
    store = await create_store(hq)
    manager = Caller(client, "store_manager", store["id"])
    assert (await manager.get("/v1/regions")).status_code == 403
    assert (await Caller(client, "hq_analyst").post("/v1/regions", json={"code": "W", "name": "w"})).status_code == 403
    assert (await Caller(client, "hq_analyst").get(f"/v1/regions/{east['id']}")).json()["areas"][1]["code"] == "SH"
    unknown_area = await hq.post("/v1/stores", json={**f.store_body(), "area_id": "no-such-area"})
    assert unknown_area.status_code == 422 and unknown_area.json()["errors"][0]["field"] == "area_id"
