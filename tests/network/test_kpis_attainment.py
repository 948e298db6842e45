"""GET /v1/kpis over many stores (HQ's network, a region manager's regions) carries each
store's month attainment and the network's exactly as GET /v1/targets/attainment gives them,
though it reads them with two set-based queries instead of the per-store read."""
from __future__ import annotations

from datetime import date

from tests.network import factories as f
from tests.network.test_regions import area_of, new_region, region_manager, store_in
from tests.network.test_targets import YEAR, delivered, local, put
from tests.support.events import deliver
from tests.support.platform import Caller


async def seeded_december(client, hq: Caller) -> tuple[dict, dict]:
    """Three stores in two regions on the clock's 10 December 2026: one split its year into
    months (its December CSI apart), one has only the year, one in Los Angeles has none."""
    east, west = await new_region(hq, "EAST", "SH"), await new_region(hq, "WEST", "SC")
    split, annual = await store_in(hq, area_of(east, "SH")), await store_in(hq, area_of(east, "SH"))
    made = await hq.post("/v1/stores", json={**f.store_body(timezone_name="America/Los_Angeles"),
                                            "area_id": area_of(west, "SC")})
    assert made.status_code == 201, made.text
    la = made.json()
    year = {"repair_orders": 1200, "labour_revenue_fen": 12_000_000, "csi": 4600, "first_time_fix": 950,
            "gross_margin_fen": 1_200_000}
    for store in (split, annual):
        assert (await put(hq, f"/v1/stores/{store['id']}/targets/{YEAR}", year)).status_code == 200
    months = {"months": [{"month": m, "repair_orders": 100, "labour_revenue_fen": 1_000_000,
                          "gross_margin_fen": 100_000} for m in range(1, 13)]}
    months["months"][11]["csi"] = 4800
    manager = Caller(client, "store_manager", store_id=split["id"])
    assert (await put(manager, f"/v1/stores/{split['id']}/targets/{YEAR}/months", months)).status_code == 200
    for store, n in ((split, 4), (annual, 2), (la, 3)):
        for day in range(1, n + 1):
            await deliver(client.app, delivered(store["id"], "advisor-1", date(2026, 12, day), labour_fen=50_000 * day))
    await deliver(client.app, f.comeback_detected(split["id"], "cmb-1", local(date(2026, 12, 3), 11)))
    await deliver(client.app, f.callback_created(annual["id"], "cb-1", local(date(2026, 12, 2), 18),
                                                 local(date(2026, 12, 2), 8)))
    await deliver(client.app, f.callback_completed(annual["id"], "cb-1", local(date(2026, 12, 2), 18),
                                                   local(date(2026, 12, 2), 12), overall=4))
    return east, west


async def kpis_and_targets(caller: Caller) -> tuple[dict, dict]:
    kpis = await caller.get("/v1/kpis", params={"from": "2026-12-01", "to": "2026-12-10"})
    targets = await caller.get("/v1/targets/attainment", params={"period": "2026-12"})
    assert kpis.status_code == targets.status_code == 200, (kpis.text, targets.text)
    return kpis.json(), targets.json()


async def test_the_kpis_attainment_of_every_store_and_the_network_equals_the_targets_read(client, hq):
    east, _ = await seeded_december(client, hq)
    kpis, targets = await kpis_and_targets(hq)
    expected = {s["store_id"]: s["measures"] for s in targets["stores"]}
    assert len(expected) == 3 and {s["store_id"]: s["attainment"] for s in kpis["stores"]} == expected
    assert {s["store_id"]: s["targets"] for s in kpis["stores"]} == {
        sid: {m["measure"]: m["target"] for m in measures} for sid, measures in expected.items()}
    assert kpis["network"]["attainment"] == targets["network"]["measures"]
    sources = {m["target_source"] for measures in expected.values() for m in measures}
    assert sources == {"month", "annual_pro_rata", "annual_rate", None}  # every way a target comes about

    manager = await region_manager(hq, client, east)
    kpis, targets = await kpis_and_targets(manager)
    expected = {s["store_id"]: s["measures"] for s in targets["stores"]}
    assert len(expected) == 2 and {s["store_id"]: s["attainment"] for s in kpis["stores"]} == expected
    assert kpis["network"]["attainment"] == targets["network"]["measures"]
