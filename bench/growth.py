"""Growth: how the lists and the HQ KPI queries answer as the data grows, with 2,000 stores
and three years of figures (10 k, 1 M repair orders stored, and the size --growth-orders
names, 5 M for the full run), on PostgreSQL, through each service's own HTTP app.

The rows are bulk-loaded with set-based SQL (INSERT ... SELECT over generate_series, in
the server) into the schema the migrations built: loading millions of orders through the
API would measure the loader, not the reads. Orders are spread over the stores and the
three years; the per-store daily KPI counters (what every KPI query reads) exist for every
store-day that has an order, so they grow with the orders until every store has figures
on every day of the three years (2.19 M store-days, from 2.19 M orders); their month
rollups (kpi_monthly) are summed from them as a rebuild sums them. The stores sit in
eight regions of 250 (one area each, since the first day). Each store has this year's
targets (the year, its twelve months, five advisors' shares of each month) and its
advisors their per-day figures for the last five weeks, so the attainment query is timed
with targets present. The KPI projection's entities and facts are not loaded: no query
timed here reads them (bench/kpi_rebuild.py writes them at scale). The signed identity is
the one the gateway would send; the gateway is measured in bench.gateway."""
from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.stats import summary_ms
from services.common.identity import Principal, SignedAs
from services.common.migrations import upgrade
from services.common.settings import DEV_IDENTITY_SECRET
from services.network.kpis.projection import Metric

STORES = 2000
DAYS = 3 * 365
REGIONS = 8
PERSON_DAYS = 35  # the advisors' per-day figures kept: this month's attainment reads no more
# A row's timing stops after this long once it has MIN_REPEATS samples (a 3-year query over 2,000 stores is slow).
ROW_SECONDS = 10.0
MIN_REPEATS = 3
KPI_METRICS = (Metric.RO_OPENED, Metric.RO_DELIVERED, Metric.REVENUE_CUSTOMER_FEN, Metric.COMEBACKS, Metric.CB_DUE,
               Metric.CB_ON_TIME, Metric.CLAIMS_SUBMITTED, Metric.CLAIMS_APPROVED_FEN)
# What attainment reads besides those (labour and parts revenue of every payer, surveys).
TARGET_METRICS = (Metric.LABOUR_FEN, Metric.PARTS_FEN, Metric.CSI_SUM, Metric.CSI_COUNT)
ADVISORS = 5  # per store, each with a share of every month and figures on every day
YEAR_TARGETS = {"repair_orders": 12_000, "labour_revenue_fen": 360_000_000, "parts_revenue_fen": 600_000_000,
                "gross_margin_fen": 300_000_000, "csi": 4_500, "callback_sla": 900, "first_time_fix": 970}
PERSON_METRICS = (Metric.RO_DELIVERED, Metric.LABOUR_FEN, Metric.PARTS_FEN)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _load(reception_url: str, network_url: str, total: int) -> dict:
    rx = await asyncpg.connect(_dsn(reception_url))
    nw = await asyncpg.connect(_dsn(network_url))
    filled = min(total, STORES * DAYS)  # store-days with figures
    try:
        await rx.execute("""
            INSERT INTO known_stores (id, code, name, kind, timezone, status, updated_at)
            SELECT 'store-' || s, 'GS-' || s, 'Growth store ' || s, 'dealer_store', 'Asia/Shanghai', 'active', now()
            FROM generate_series(0, $1 - 1) s ON CONFLICT DO NOTHING""", STORES)
        # Order g: store g % STORES, day (g / STORES) % DAYS back from today, so the first
        # STORES * DAYS orders fill every store-day once.
        await rx.execute("""
            INSERT INTO repair_orders (id, store_id, number, status, customer, vehicle, vin, mileage_km, complaint,
                                       advisor, opened_at, delivered_at, totals, line_count, version)
            SELECT lpad(g::text, 12, '0') || '-0000-7000-8000-000000000000',
                   'store-' || (g % $2),
                   'GS-' || (g % $2) || '-' || lpad(g::text, 9, '0'),
                   (ARRAY['open','approved','in_progress','ready','settled','delivered','delivered','delivered'])
                       [1 + g % 8],
                   '{"name": "Customer", "phone": "13800000000"}'::json,
                   json_build_object('vin', 'LGRWT' || lpad(g::text, 12, '0'), 'plate', '沪A00000', 'model', 'Sedan'),
                   'LGRWT' || lpad((g % 200000)::text, 12, '0'),
                   10000 + g % 90000, 'Periodic maintenance',
                   '{"id": "advisor", "name": "Advisor", "role": "service_advisor"}'::json,
                   now() - (((g / $2) % $3) || ' days')::interval, now() - (((g / $2) % $3) || ' days')::interval,
                   '{"customer_fen": 50000, "tax_fen": 6500, "customer_due_fen": 56500}'::json, 2, 1
            FROM generate_series(1, $1) g""", total, STORES, DAYS)
        await rx.execute("ANALYZE repair_orders")
        first_day = date.today() - timedelta(days=DAYS)
        await nw.execute("""
            INSERT INTO regions (id, code, name, created_at, created_by, version)
            SELECT 'region-' || r, 'R' || r, 'Region ' || r, now(), 'bench', 1 FROM generate_series(0, $1 - 1) r""",
                         REGIONS)
        await nw.execute("""
            INSERT INTO areas (id, region_id, code, name, created_at)
            SELECT 'area-' || r, 'region-' || r, 'A' || r, 'Area ' || r, now() FROM generate_series(0, $1 - 1) r""",
                         REGIONS)
        await nw.execute("""
            INSERT INTO stores (id, code, name, kind, region, city, timezone, status, created_at, version,
                                region_id, area_id)
            SELECT 'store-' || s, 'GS-' || s, 'Growth store ' || s, 'dealer_store', 'R' || (s % $2), 'Shanghai',
                   'Asia/Shanghai', 'active', now(), 1, 'region-' || (s % $2), 'area-' || (s % $2)
            FROM generate_series(0, $1 - 1) s ON CONFLICT DO NOTHING""", STORES, REGIONS)
        await nw.execute("""
            INSERT INTO store_area_memberships (id, store_id, area_id, region_id, from_day, moved_by, moved_at)
            SELECT 'membership-' || s, 'store-' || s, 'area-' || (s % $2), 'region-' || (s % $2), $3, 'bench', now()
            FROM generate_series(0, $1 - 1) s""", STORES, REGIONS, first_day)
        await nw.execute("""
            INSERT INTO kpi_daily (store_id, day, metric, value)
            SELECT 'store-' || (f % $2), current_date - ((f / $2) % $3), m, 1 + (f * 7) % 40
            FROM generate_series(0, $1 - 1) f, unnest($4::text[]) m""",
                         filled, STORES, DAYS, [m.value for m in KPI_METRICS + TARGET_METRICS])
        # The month rollups, derived from the day rows as a rebuild derives them.
        await nw.execute("""
            INSERT INTO kpi_monthly (store_id, month, metric, value)
            SELECT store_id, date_trunc('month', day)::date, metric, sum(value) FROM kpi_daily GROUP BY 1, 2, 3""")
        await _load_targets(nw, total)
        await nw.execute("ANALYZE")
        sizes = {}
        for name, conn in (("reception", rx), ("network", nw)):
            sizes[f"{name}_database_mb"] = round(await conn.fetchval("SELECT pg_database_size(current_database())")
                                                 / 2**20)
        sizes["kpi_daily_rows"] = await nw.fetchval("SELECT count(*) FROM kpi_daily")
        sizes["kpi_monthly_rows"] = await nw.fetchval("SELECT count(*) FROM kpi_monthly")
        sizes["kpi_person_daily_rows"] = await nw.fetchval("SELECT count(*) FROM kpi_person_daily")
        return sizes
    finally:
        await rx.close()
        await nw.close()


async def _load_targets(nw: asyncpg.Connection, total: int) -> None:
    """This year's targets of every store, split into months (even, the remainder in
    December) and down to five advisors per store, and the advisors' daily figures."""
    year = date.today().year
    await nw.execute("""
        INSERT INTO people (id, employee_no, name, phone, status, created_at, updated_at, version)
        SELECT 'person-' || s || '-' || a, 'GS-' || s || '-' || a, 'Advisor ' || a, '13800000000', 'active',
               now(), now(), 1
        FROM generate_series(0, $1 - 1) s, generate_series(1, $2) a""", STORES, ADVISORS)
    await nw.execute("""
        INSERT INTO person_assignments (person_id, store_id, role, assigned_at)
        SELECT 'person-' || s || '-' || a, 'store-' || s, 'service_advisor', now()
        FROM generate_series(0, $1 - 1) s, generate_series(1, $2) a""", STORES, ADVISORS)
    measures, values = list(YEAR_TARGETS), list(YEAR_TARGETS.values())
    await nw.execute("""
        INSERT INTO store_targets (store_id, year, measure, value, set_by, set_at)
        SELECT 'store-' || s, $2, t.measure, t.value, 'hq', now()
        FROM generate_series(0, $1 - 1) s, unnest($3::text[], $4::bigint[]) t(measure, value)""",
                     STORES, year, measures, values)
    # Counts and money: the year / 12, December the rest; rates as they are.
    await nw.execute("""
        INSERT INTO store_month_targets (store_id, year, month, measure, value, set_by, set_at)
        SELECT store_id, year, m, measure,
               CASE WHEN measure IN ('csi', 'callback_sla', 'first_time_fix') THEN value
                    WHEN m = 12 THEN value - value / 12 * 11 ELSE value / 12 END, 'manager', now()
        FROM store_targets, generate_series(1, 12) m""")
    await nw.execute("""
        INSERT INTO person_month_targets (store_id, year, month, person_id, measure, value, set_by, set_at)
        SELECT t.store_id, t.year, t.month, replace(t.store_id, 'store-', 'person-') || '-' || a, t.measure,
               CASE WHEN a = 1 THEN t.value - t.value / $1 * ($1 - 1) ELSE t.value / $1 END, 'manager', now()
        FROM store_month_targets t, generate_series(1, $1) a
        WHERE t.measure IN ('repair_orders', 'labour_revenue_fen', 'parts_revenue_fen')""", ADVISORS)
    await nw.execute("""
        INSERT INTO kpi_person_daily (store_id, person_id, day, metric, value)
        SELECT 'store-' || s, 'person-' || s || '-' || a, current_date - d, m, 1 + ($4 / ($1 * $2 * $3))
        FROM generate_series(0, $1 - 1) s, generate_series(1, $2) a, generate_series(0, $3 - 1) d,
             unnest($5::text[]) m""", STORES, ADVISORS, PERSON_DAYS, total, [m.value for m in PERSON_METRICS])


async def _timed(client: httpx.AsyncClient, path: str, auth: httpx.Auth, params: dict, repeats: int) -> dict:
    seconds: list[float] = []
    deadline = time.perf_counter() + ROW_SECONDS
    while len(seconds) < repeats and (len(seconds) < MIN_REPEATS or time.perf_counter() < deadline):
        start = time.perf_counter()
        response = await client.get(path, params=params, auth=auth)
        seconds.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"{path} {params} -> {response.status_code} {response.text[:300]}")
    return summary_ms(seconds)


async def _measure(reception_url: str, network_url: str, repeats: int) -> dict:
    from services.network.main import create_app as network_app
    from services.network.settings import NetworkSettings
    from services.reception.main import create_app as reception_app
    from services.reception.settings import ReceptionSettings

    results = {}
    rx = reception_app(ReceptionSettings(database_url=reception_url, kafka_bootstrap_servers="127.0.0.1:1"), role="api")
    nw = network_app(NetworkSettings(database_url=network_url, kafka_bootstrap_servers="127.0.0.1:1"), role="api")
    # Each request signed for itself, as the gateway signs it.
    advisor = SignedAs(Principal("advisor", "service_advisor", "store-3"), DEV_IDENTITY_SECRET, "reception")
    hq = SignedAs(Principal("hq", "hq_analyst"), DEV_IDENTITY_SECRET, "network")

    async with rx.router.lifespan_context(rx), nw.router.lifespan_context(nw):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=rx), base_url="http://rx", timeout=300) as c:
            await _timed(c, "/v1/repair-orders", advisor, {"limit": 50}, 5)  # warm
            results["order_list_first_page"] = await _timed(c, "/v1/repair-orders", advisor, {"limit": 50}, repeats)
            page = (await c.get("/v1/repair-orders", params={"limit": 200}, auth=advisor)).json()
            for _ in range(9):
                if not page.get("next_cursor"):
                    break
                page = (await c.get("/v1/repair-orders", params={"limit": 200, "cursor": page["next_cursor"]},
                                    auth=advisor)).json()
            results["order_list_page_11"] = await _timed(c, "/v1/repair-orders", advisor,
                                                         {"limit": 50, "cursor": page.get("next_cursor")}
                                                         if page.get("next_cursor") else {"limit": 50}, repeats)
            results["order_list_status_ready"] = await _timed(c, "/v1/repair-orders", advisor,
                                                              {"limit": 50, "status": "ready"}, repeats)
            results["order_list_by_vin"] = await _timed(c, "/v1/repair-orders", advisor,
                                                        {"vin": "LGRWT000000000123"}, repeats)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=nw), base_url="http://nw", timeout=300) as c:
            today = date.today()
            month = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}
            year = {"from": (today - timedelta(days=365 - 1)).isoformat(), "to": today.isoformat()}
            await _timed(c, "/v1/kpis", hq, month, 3)
            results["kpis_network_30_days"] = await _timed(c, "/v1/kpis", hq, month, repeats)
            results["kpis_network_365_days"] = await _timed(c, "/v1/kpis", hq, year, repeats)
            results["kpis_one_store_30_days"] = await _timed(c, "/v1/kpis", hq, {**month, "store_id": "store-3"},
                                                            repeats)
            results["kpis_region_30_days"] = await _timed(c, "/v1/regions/region-3/kpis", hq, month, repeats)
            results["kpis_region_365_days"] = await _timed(c, "/v1/regions/region-3/kpis", hq, year, repeats)
            # Attainment of this month with targets present: every store, its region and the
            # network; one store with its advisors; one advisor.
            period = {"period": today.strftime("%Y-%m")}
            await _timed(c, "/v1/targets/attainment", hq, period, 3)
            results["attainment_network_month"] = await _timed(c, "/v1/targets/attainment", hq, period, repeats)
            results["attainment_one_store_with_people"] = await _timed(
                c, "/v1/targets/attainment", hq, {**period, "store_id": "store-3"}, repeats)
            results["attainment_one_person"] = await _timed(c, "/v1/people/person-3-1/attainment", hq, period,
                                                            repeats)
    return results


def run(create_database, sizes=(10_000, 1_000_000), repeats: int = 30) -> dict:
    from services import network, reception

    out: dict = {"stores": STORES, "days": DAYS, "regions": REGIONS, "repeats": repeats,
                 "row_seconds": ROW_SECONDS, "sizes": {}}
    for total in sizes:
        reception_url = create_database("growth_reception")
        network_url = create_database("growth_network")
        upgrade(Path(reception.__file__).parent / "migrations", reception_url)
        upgrade(Path(network.__file__).parent / "migrations", network_url)
        started = time.perf_counter()
        stored = asyncio.run(_load(reception_url, network_url, total))
        loaded = time.perf_counter() - started
        print(f"growth: {total:,} orders loaded in {loaded:.0f} s {stored}", flush=True)
        measured = asyncio.run(_measure(reception_url, network_url, repeats))
        out["sizes"][str(total)] = {"load_seconds": round(loaded, 1), **stored, **measured}
    return out
