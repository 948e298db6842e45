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


def tile(page, kpi: str) -> str:
    return page.locator(f'#network-totals .tile[data-kpi="{kpi}"] .value').inner_text()


def margin_cell(page, column: str) -> str:
    return page.locator(f'#margin td[data-col="{column}"]').inner_text()


def cny(fen: int) -> str:
    """Intl.NumberFormat("zh-CN", {style: "currency", currency: "CNY"})."""
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
    # Waits use Playwright's own isolated scripts: the page's CSP forbids evaluating strings.
    expect(page.locator("body")).to_have_attribute("data-view", "network", timeout=30000)
    expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=30000)

    # The network's figures on the page are the API's, in Chinese first.
    delivered_total = report["network"]["repair_orders_delivered"]
    assert tile(page, "repair_orders_delivered") == f"{delivered_total:,}"
    expect(page.locator('#network-totals .tile[data-kpi="gross_margin"] .label')).to_have_text("毛利")
    # Stores in no region are one row of the regions' table, which opens the list of all stores.
    page.click('#regions tr[data-place="unplaced"]')
    expect(page.locator("body")).to_have_attribute("data-view", "stores", timeout=30000)
    page.fill("#store-filter", staff.store["code"])
    row = page.locator(f'#store-kpis tr[data-store="{staff.id}"]')
    assert row.locator("td").first.inner_text() == f"{staff.store['code']} · {staff.store['name']}"
    assert cell(page, staff.id, "repair_orders_delivered") == "0"
    row.click()
    expect(page.locator("body")).to_have_attribute("data-view", "store", timeout=30000)
    assert tile(page, "repair_orders_delivered") == "0"
    # Gross margin, Chinese first: nothing delivered and costed yet.
    assert margin_cell(page, "orders") == "0"
    assert margin_cell(page, "margin_fen") == "¥0.00"
    assert margin_cell(page, "margin_rate") == "–"

    order = deliver_repair_order(platform, staff)
    # No reload: the KPI stream tells the page, and the store's figures follow.
    expect(page.locator('#network-totals .tile[data-kpi="repair_orders_delivered"] .value')).to_have_text(
        "1", timeout=30000)
    with platform.api(platform.bootstrap_key) as hq:
        after = hq.get("/api/network/v1/kpis", params={"store_id": staff.id}).json()
    assert after["stores"][0]["repair_orders_delivered"] == 1
    revenue = after["stores"][0]["revenue_fen"]["total"]
    assert revenue > 0
    expect(page.locator('#network-totals .tile[data-kpi="revenue_fen"] .value')).to_have_text(cny(revenue))
    # The order by its number, as the store knows it.
    expect(page.locator(f'#orders tr[data-order="{order["id"]}"] td').first).to_have_text(order["number"])

    # The order's cost comes from the workshop on delivery; the margin on the page is the API's.
    with platform.api(platform.bootstrap_key) as hq:
        margin = until(lambda: (lambda g: g if g["orders"] == 1 else None)(
            hq.get("/api/network/v1/kpis", params={"store_id": staff.id}).json()["stores"][0]["gross_margin"]),
            30, "network never counted the delivered order's cost")
    assert margin["revenue_fen"] == revenue and margin["orders_incomplete"] == 0
    assert margin["margin_fen"] == revenue - margin["cost_fen"]["total"]
    page.click("#refresh")
    expect(page.locator('#margin td[data-col="orders"]')).to_have_text("1", timeout=30000)
    assert margin_cell(page, "revenue_fen") == cny(revenue)
    assert margin_cell(page, "labour") == cny(margin["cost_fen"]["labour"])
    assert margin_cell(page, "cost") == cny(margin["cost_fen"]["total"])
    assert margin_cell(page, "margin_fen") == cny(margin["margin_fen"])
    assert margin_cell(page, "margin_rate") == f"{float(margin['margin_rate']) * 100:.1f}%"

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert not outside, f"the page reached outside the gateway: {outside}"
    assert not errors, errors
