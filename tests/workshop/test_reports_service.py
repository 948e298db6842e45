"""The technician report: flat-rate hours of passed jobs against the hours clocked on
them, per technician, over the store's local days."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.workshop.factories import approved, labor


async def _do_job(shop, technician_id: str, op_code: str, minutes: int, *, fail_first: bool = False) -> None:
    env = approved(shop.store_id, [labor(op_code)], approved_at=shop.clock.now())
    await shop.deliver(env)
    (job,) = await shop.jobs_of(env.subject)
    url = f"/v1/jobs/{job['id']}"
    await shop.manager.post(f"{url}/assign", json={"technician_id": technician_id})
    rounds = [minutes // 2, minutes - minutes // 2] if fail_first else [minutes]
    for i, spent in enumerate(rounds):
        await shop.manager.post(f"{url}/start")
        shop.clock.advance(minutes=spent)
        await shop.manager.post(f"{url}/complete")
        result = "fail" if fail_first and i == 0 else "pass"
        r = await shop.caller("technician", "foreman").post(f"{url}/qc", json={"result": result})
        assert r.status_code == 200, r.text


async def test_report_sets_flat_rate_hours_against_clocked_hours_per_technician(shop):
    li = await shop.technician("Li Wei", skills=("brakes", "maintenance"))
    zhou = await shop.technician("Zhou Min", skills=("engine",))
    # 2026-03-02, Shanghai day.
    await _do_job(shop, li["id"], "BRK-0210", 48)                     # 1.0 flat in 0.8 h
    await _do_job(shop, li["id"], "MNT-0100", 60, fail_first=True)    # 0.5 flat in 1.0 h, one failed check
    await _do_job(shop, zhou["id"], "ENG-0510", 240)                  # 3.2 flat in 4.0 h
    # The next Shanghai day: outside a one-day report.
    shop.clock.set(datetime(2026, 3, 2, 16, 30, tzinfo=timezone.utc))  # 00:30 on 3 March in Shanghai
    await _do_job(shop, li["id"], "BRK-0220", 30)

    r = await shop.manager.get("/v1/reports/technicians", params={"from": "2026-03-02", "to": "2026-03-02"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["from"], report["to"]) == ("2026-03-02", "2026-03-02")
    rows = {row["name"]: row for row in report["technicians"]}
    li_row, zhou_row = rows["Li Wei"], rows["Zhou Min"]
    assert li_row["jobs_passed"] == 2
    assert Decimal(li_row["flat_rate_hours"]) == Decimal("1.50")
    assert Decimal(li_row["clocked_hours"]) == Decimal("1.80")
    assert Decimal(li_row["efficiency"]) == Decimal("0.83")
    assert li_row["qc_failures"] == 1
    assert Decimal(zhou_row["efficiency"]) == Decimal("0.80")
    assert report["totals"]["jobs_passed"] == 3
    assert Decimal(report["totals"]["flat_rate_hours"]) == Decimal("4.70")

    two_days = (await shop.manager.get("/v1/reports/technicians", params={"from": "2026-03-02", "to": "2026-03-03"})).json()
    assert {r["name"]: r["jobs_passed"] for r in two_days["technicians"]} == {"Li Wei": 3, "Zhou Min": 1}


async def test_report_period_is_validated(shop):
    r = await shop.manager.get("/v1/reports/technicians", params={"from": "2026-03-05", "to": "2026-03-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to"
    r = await shop.manager.get("/v1/reports/technicians", params={"from": "yesterday", "to": "2026-03-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "from"


async def test_other_stores_technicians_are_not_in_a_store_report(shop):
    await shop.technician("Li Wei")
    other = shop.caller("store_manager", "manager-b", shop.other_store_id)
    await other.post("/v1/technicians", json={"name": "Sun Hao", "skills": ["brakes"]})
    day = (shop.clock.now() + timedelta(hours=8)).date().isoformat()
    mine = (await shop.manager.get("/v1/reports/technicians", params={"from": day, "to": day})).json()
    assert [r["name"] for r in mine["technicians"]] == ["Li Wei"]
    hq = (await shop.caller("hq_analyst", "analyst").get("/v1/reports/technicians", params={"from": day, "to": day})).json()
    assert sorted(r["name"] for r in hq["technicians"]) == ["Li Wei", "Sun Hao"]
