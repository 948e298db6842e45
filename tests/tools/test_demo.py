"""`make demo` against the real platform: every service and the gateway as processes on
the real broker and PostgreSQL, the services' clocks read from a file the demo moves. A few simulated
days with one dealer store and one partner outlet; afterwards the figures the platform
answers are the figures the demo made, the history lies in the replayed days, the
platform is back on real time, and the same seed on a second fresh platform tells the
same story."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.processes import Platform, PostgresDatabases
from tools import demo
from tools.client import Api, all_items

SEED = 7
DAYS = 5
SCALE = 2.0
STORES = ["SH-PD-01", "KS-PO-01"]  # a dealer store, and an outlet that applies and is onboarded
ZONE = ZoneInfo("Asia/Shanghai")


def _config(platform: Platform, **kw) -> demo.DemoConfig:
    settings = dict(url=platform.gateway.url, key=platform.bootstrap_key, seed=SEED, days=DAYS, scale=SCALE,
                    stores=STORES, clock_file=platform.log_dir / "demo-clock", progress=False, strict=True)
    return demo.DemoConfig(**{**settings, **kw})


@pytest.fixture(scope="module")
def demo_runs(kafka_bootstrap, pg_admin_url, tmp_path_factory):
    """Two fresh platforms started side by side, each with its own PostgreSQL databases,
    the same seed run into each."""
    databases = PostgresDatabases(pg_admin_url)
    platforms: list[Platform] = []
    errors: list[BaseException] = []

    def start(platform: Platform) -> None:
        try:
            platform.start()
        except BaseException as exc:  # reported below, after both have been given their chance
            errors.append(exc)

    try:
        for name in ("first", "second"):
            folder = tmp_path_factory.mktemp(name)
            platforms.append(Platform(folder, kafka_bootstrap=kafka_bootstrap, database_url=databases,
                                      env={"PLATFORM_CLOCK": f"file:{folder / 'demo-clock'}"}))
        threads = [threading.Thread(target=start, args=(p,)) for p in platforms]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

        async def both():
            return await asyncio.gather(*(demo.run(_config(p)) for p in platforms))

        summaries = asyncio.run(both())
        yield platforms[0], summaries[0], summaries[1]
    finally:
        for platform in platforms:
            platform.stop()
        databases.close()


def _window(summary: demo.Summary) -> dict:
    return {"from": summary.first_day.isoformat(), "to": summary.last_day.isoformat()}


async def test_the_platform_answers_the_figures_the_demo_made(demo_runs):
    platform, summary, _ = demo_runs
    counts = summary.counts
    assert summary.errors == []
    assert counts["orders_delivered"] > 0 and counts["claims_submitted"] > 0 and counts["callbacks_completed"] > 0
    async with httpx.AsyncClient(base_url=platform.gateway.url, timeout=30) as http:
        hq = Api(http, platform.bootstrap_key)
        stores = {s["code"]: s for s in await all_items(hq, "/api/network/v1/stores")}
        assert set(stores) == set(STORES)
        assert stores["KS-PO-01"]["kind"] == "partner_outlet" and stores["KS-PO-01"]["status"] == "active"

        orders = await all_items(hq, "/api/reception/v1/repair-orders")
        delivered = {o["id"] for o in orders if o["status"] == "delivered"}
        assert len(orders) == counts["orders_opened"]
        assert len(delivered) == counts["orders_delivered"]
        assert {o["store_id"] for o in orders if o["id"] in delivered} == {s["id"] for s in stores.values()}

        # Every car handed over has exactly one first callback.
        firsts = await all_items(hq, "/api/crm/v1/callbacks", kind="first")
        assert sorted(c["repair_order_id"] for c in firsts) == sorted(delivered)
        assert sum(1 for c in firsts if c["status"] == "completed") == counts["callbacks_completed"]

        # Network's KPIs over the replayed days count the same deliveries and orders.
        kpis = await hq.call("GET", "/api/network/v1/kpis", params=_window(summary))
        assert kpis["network"]["repair_orders_delivered"] == len(delivered)
        assert kpis["network"]["repair_orders_opened"] == len(orders)
        assert kpis["network"]["revenue_fen"]["total"] > 0
        assert kpis["network"]["csi_average"] is not None
        assert 0.3 < float(kpis["network"]["technician_efficiency"]) < 3

        # The claims: on delivered orders (a PDI claim on a registered car's sheet), and what HQ
        # approved is what the KPIs show. A campaign claim network drafted on the last day may
        # still wait for the store to submit it.
        claims = [c for c in await all_items(hq, "/api/network/v1/claims") if c["status"] != "draft"]
        assert len(claims) == counts["claims_submitted"] == kpis["network"]["claims_submitted"]
        assert all(c["repair_order_id"] in delivered for c in claims if c.get("kind", "warranty") != "pdi")
        for pdi in (c for c in claims if c.get("kind") == "pdi"):
            assert (await hq.get(f"/api/network/v1/vehicles/{pdi['vin']}"))["registered"]

        # The recall: every VIN uploaded is listed, and network counts as done the cars the demo fixed.
        recall = summary.brand["recall"]
        assert recall["affected"] == int(3000 * SCALE) + summary.brand["listed_at_our_stores"]
        assert recall["completed"] == counts["recall_repairs"]
        # New cars: those sold before the replay were loaded, those sold in it registered after their PDI.
        assert counts["registered_before"] > 0 and counts["pdi_sheets"] >= counts["registrations"]
        approved = [c for c in claims if c["status"] in ("approved", "partially_approved", "settled")]
        assert kpis["network"]["claims_approved_fen"] == sum(c["amount_approved_fen"] for c in approved)


async def test_fleets_insurers_and_vendors_answer_the_money_the_demo_made(demo_runs):
    platform, summary, _ = demo_runs
    counts, accounts = summary.counts, summary.accounts
    assert accounts is not None
    # The story happened: fleet cars over the approval limit approved through the link, a credit
    # stop overridden, money received partly and across orders, accidents assessed with a line
    # cut and a supplement, sublet work sent out with one invoice held.
    assert counts["fleet_accounts"] == 2 and counts["fleet_orders"] > 0
    assert counts["fleet_link_approvals"] > 0 and counts["credit_overrides"] > 0
    assert counts["partial_payments"] > 0 and counts["payments_across_orders"] > 0
    assert counts["assessments"] > 0 and counts["lines_cut"] == counts["assessments"]
    assert counts["supplementary_assessments"] > 0
    assert counts["sublet_orders"] > 0 and counts["sublet_invoices_held"] > 0

    fleets = accounts["fleets"]
    assert len(fleets) == 2
    for fleet in fleets:
        owed = fleet["demo"]["owed_fen"]
        # What the fleet owes: on account less what it paid, on its balance and open on the ledger.
        assert fleet["balance_fen"] == owed == fleet["ledger_open_fen"], fleet
        # Every month's statement puts on account exactly what the demo settled that month.
        assert fleet["statements"], fleet
        for month, totals in fleet["statements"].items():
            assert totals["on_account_fen"] == fleet["demo"]["by_month"].get(month, 0), (month, fleet)
        assert sum(t["orders"] for t in fleet["statements"].values()) == fleet["demo"]["orders"]
        # Uptime: the days its cars spent at the store, check-in to handover, as the demo lived them.
        assert fleet["uptime"]["vehicles"] == 4
        assert fleet["uptime"]["days_off_road"] == fleet["demo"]["days_off_road"] > 0, fleet
    open_by_fleets = sum(f["demo"]["owed_fen"] for f in fleets)
    assert counts["on_account_fen"] - counts["fleet_paid_fen"] == open_by_fleets
    assert sum(by_payer.get("fleet", 0) for by_payer in accounts["receivables"].values()) == open_by_fleets
    # The insurers owe their share of every accident repair handed over (nobody has paid them yet).
    assert sum(by_payer.get("insurer", 0) for by_payer in accounts["receivables"].values()) == counts[
        "insurer_due_fen"]

    assert accounts["sublets"].get("invoiced") == counts["sublet_orders"]
    async with httpx.AsyncClient(base_url=platform.gateway.url, timeout=30) as http:
        hq = Api(http, platform.bootstrap_key)
        # Sublet work: every order invoiced at handover, and its cost is the margin's sublet cost.
        kpis = await hq.call("GET", "/api/network/v1/kpis", params=_window(summary))
        margin = kpis["network"]["gross_margin"]
        assert accounts["sublet_cost_fen"] == counts["sublet_cost_fen"] == margin["cost_fen"]["sublet"] > 0

        # The insurers' side of the delivered accident repairs: the excess the customers paid and
        # what the insurers owe, as the orders show them.
        insured = []
        for order in await all_items(hq, "/api/reception/v1/repair-orders", status="delivered"):
            full = await hq.get(f"/api/reception/v1/repair-orders/{order['id']}")
            if full.get("insurance_assessment"):
                insured.append(full)
    assert insured
    assert sum(o["totals"]["insurer_due_fen"] for o in insured) == counts["insurer_due_fen"] > 0
    assert sum(o["totals"]["excess_fen"] for o in insured) == counts["excess_fen"] > 0
    for order in insured:
        assessment = order["insurance_assessment"]
        assert assessment["write_off_fen"] > 0 and order["totals"]["insurance_write_off_fen"] == assessment[
            "write_off_fen"]


async def test_the_history_lies_in_the_replayed_days_and_the_clock_is_real_again(demo_runs):
    platform, summary, _ = demo_runs
    assert not (platform.log_dir / "demo-clock").exists()
    async with httpx.AsyncClient(base_url=platform.gateway.url, timeout=30) as http:
        hq = Api(http, platform.bootstrap_key)
        today = datetime.now(ZONE).date()
        assert (await hq.get("/api/network/v1/kpis"))["to"] == today.isoformat()
        assert summary.last_day < today
        # Orders were opened and handed over on the simulated days, not today.
        for order in await all_items(hq, "/api/reception/v1/repair-orders", status="delivered"):
            full = await hq.get(f"/api/reception/v1/repair-orders/{order['id']}")
            days = {datetime.fromisoformat(h["at"]).astimezone(ZONE).date() for h in full["history"]}
            assert all(summary.first_day <= d <= summary.last_day for d in days), (order["number"], days)
        current = await hq.call("GET", "/api/network/v1/kpis", params={"from": today.isoformat(),
                                                                        "to": today.isoformat()})
        assert current["network"]["repair_orders_opened"] == 0


async def test_the_same_seed_tells_the_same_story(demo_runs):
    _, first, second = demo_runs
    assert second.errors == []
    assert first.counts == second.counts
    # Labour is costed by the second clocked, and a job's clock runs on for the few real
    # seconds its calls take: gross margin's labour cost may differ by those seconds, the rest not.
    margins = [kpis.pop("gross_margin") for kpis in (first.kpis, second.kpis)]
    # The targets' attainment carries the margin too: every other measure is the same.
    attained = [[m for m in kpis.pop("attainment", None) or [] if m["measure"] != "gross_margin_fen"]
                for kpis in (first.kpis, second.kpis)]
    assert attained[0] == attained[1]
    assert first.kpis == second.kpis
    for same in ("orders", "orders_incomplete", "revenue_fen"):
        assert margins[0][same] == margins[1][same]
    for cost in ("parts", "sublet"):
        assert margins[0]["cost_fen"][cost] == margins[1]["cost_fen"][cost]
    drift = abs(margins[0]["cost_fen"]["labour"] - margins[1]["cost_fen"]["labour"])
    assert drift <= 20 * margins[0]["orders"], margins
    assert first.brand is not None and second.brand is not None
    assert first.brand["recall"]["completed"] == second.brand["recall"]["completed"]
    assert first.brand["debits_fen"] == second.brand["debits_fen"]


async def test_a_platform_that_does_not_follow_the_clock_file_is_refused_before_anything_is_written(
        demo_runs, tmp_path):
    platform, _, _ = demo_runs
    config = _config(platform, stores=["BJ-CY-01"])
    config.clock_file = tmp_path / "not-the-platforms-clock"
    with pytest.raises(demo.DemoError, match="does not read its clock"):
        await demo.run(config)
    assert not config.clock_file.exists()
    async with httpx.AsyncClient(base_url=platform.gateway.url, timeout=30) as http:
        codes = {s["code"] for s in await all_items(Api(http, platform.bootstrap_key), "/api/network/v1/stores")}
    assert "BJ-CY-01" not in codes


async def test_a_second_run_into_the_same_stores_is_refused(demo_runs):
    platform, _, _ = demo_runs
    with pytest.raises(demo.DemoError, match="already has KS-PO-01, SH-PD-01"):
        await demo.run(_config(platform))


def test_the_command_line_explains_itself():
    answer = subprocess.run([sys.executable, "-m", "tools.demo", "--help"], capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0
    for option in ("--seed", "--scale", "--days", "--url", "--key", "--clock-file"):
        assert option in answer.stdout
    config = demo.parse_args(["--seed", "3", "--scale", "0.5", "--days", "30", "--stores", "SH-PD-01,KS-PO-01"])
    assert (config.seed, config.scale, config.days, config.stores) == (3, 0.5, 30, ["SH-PD-01", "KS-PO-01"])
    assert config.end is None
