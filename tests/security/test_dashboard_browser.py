"""The HQ dashboard in headless Chromium against the real platform: it loads, shows the
figures the API returns, gross margin among them, and changes by itself when a repair
order is delivered."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.security.flows import client, deliver_repair_order, open_store
from tests.security.helpers import until

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def cell(page, store_id: str, kpi: str) -> str:
    return page.locator(f'#store-kpis tr[data-store="{store_id}"] td[data-kpi="{kpi}"]').inner_text()


def margin_cell(page, store_id: str, column: str) -> str:
    return page.locator(f'#margin tr[data-store="{store_id}"] td[data-col="{column}"]').inner_text()


def cny(fen: int) -> str:
    return f"-¥{-fen / 100:,.2f}" if fen < 0 else f"¥{fen / 100:,.2f}"


def test_dashboard_shows_the_api_figures_and_follows_a_delivery_live(platform, browser):
    staff = open_store(platform)
    # The technician's cost rate, so the delivered order is costed whole (labour at this rate).
    with client(platform, staff.keys["store_manager"]) as manager:
        technician = manager.get(f"/api/workshop/v1/technicians/{staff.technician_id}").json()
        answer = manager.patch(f"/api/workshop/v1/technicians/{staff.technician_id}",
                               json={"version": technician["version"], "hourly_cost_fen": 9000})
        assert answer.status_code == 200, answer.text
    with platform.api(platform.bootstrap_key) as hq:
        report = hq.get("/api/network/v1/kpis").json()
    ours = next(s for s in report["stores"] if s["store_id"] == staff.id)
    assert ours["repair_orders_delivered"] == 0

    page = browser.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(platform.gateway.url) else outside.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # This platform has no sign-in provider: /auth/config is 404 and the page offers keys alone.
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.url != platform.gateway.url + "/auth/config" else None)
    page.goto(platform.gateway.url + "/dashboard")
    expect(page.locator("#sign-in-note")).to_contain_text("Group sign-in is not set up on this platform")
    expect(page.locator("#sign-in")).to_be_hidden()
    page.fill("#key", platform.bootstrap_key)
    page.click("#key-login button[type=submit]")
    page.wait_for_selector(f'#store-kpis tr[data-store="{staff.id}"]', timeout=30000)
    # Waits use Playwright's own isolated scripts: the page's CSP forbids evaluating strings.
    expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=30000)

    # The figures on the page are the API's.
    delivered_total = report["network"]["repair_orders_delivered"]
    tile = page.locator('#network-totals .tile[data-kpi="repair_orders_delivered"] .value')
    assert tile.inner_text() == f"{delivered_total:,}"
    assert cell(page, staff.id, "repair_orders_delivered") == "0"
    assert page.locator(f'#store-kpis tr[data-store="{staff.id}"] td').first.inner_text() == staff.store["code"]
    assert page.locator("#chart-orders svg rect").count() >= 2 * len(report["stores"])
    # Gross margin beside the targets, Chinese first: nothing delivered and costed yet.
    expect(page.locator("#margin-section h2")).to_contain_text("毛利 Gross margin")
    assert margin_cell(page, staff.id, "orders") == "0"
    assert margin_cell(page, staff.id, "margin_fen") == "¥0.00"
    assert margin_cell(page, staff.id, "margin_rate") == "–"
    assert page.locator("#network-totals .tile[data-kpi='gross_margin'] .label").inner_text() == "毛利 Gross margin"
    assert page.locator("#store-kpis th", has_text="gross_margin").count() == 0
    assert page.locator("#claims-note").inner_text() in ("没有待审的索赔。No claims are waiting.", "") or \
        page.locator("#claims tbody tr").count() > 0

    deliver_repair_order(platform, staff)
    # No reload: the KPI stream tells the page, and the figures follow.
    expect(page.locator(f'#store-kpis tr[data-store="{staff.id}"] td[data-kpi="repair_orders_delivered"]')) \
        .to_have_text("1", timeout=30000)
    assert tile.inner_text() == f"{delivered_total + 1:,}"
    with platform.api(platform.bootstrap_key) as hq:
        after = hq.get("/api/network/v1/kpis", params={"store_id": staff.id}).json()
    assert after["stores"][0]["repair_orders_delivered"] == 1
    revenue = after["stores"][0]["revenue_fen"]["total"]
    assert revenue > 0
    assert cell(page, staff.id, "revenue_fen") == f"¥{revenue / 100:,.2f}"

    # The order's cost comes from the workshop on delivery; the margin on the page is the API's.
    with platform.api(platform.bootstrap_key) as hq:
        margin = until(lambda: (lambda g: g if g["orders"] == 1 else None)(
            hq.get("/api/network/v1/kpis", params={"store_id": staff.id}).json()["stores"][0]["gross_margin"]),
            30, "network never counted the delivered order's cost")
    assert margin["revenue_fen"] == revenue and margin["orders_incomplete"] == 0
    assert margin["margin_fen"] == revenue - margin["cost_fen"]["total"]
    expect(page.locator(f'#margin tr[data-store="{staff.id}"] td[data-col="orders"]')).to_have_text("1", timeout=30000)
    assert margin_cell(page, staff.id, "revenue_fen") == cny(revenue)
    assert margin_cell(page, staff.id, "labour") == cny(margin["cost_fen"]["labour"])
    assert margin_cell(page, staff.id, "cost") == cny(margin["cost_fen"]["total"])
    assert margin_cell(page, staff.id, "margin_fen") == cny(margin["margin_fen"])
    assert margin_cell(page, staff.id, "margin_rate") == f"{float(margin['margin_rate']) * 100:.1f}%"
    assert margin_cell(page, staff.id, "payer_customer") == cny(margin["by_payer_fen"]["customer"])

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert not outside, f"the page reached outside the gateway: {outside}"
    assert not errors, errors
