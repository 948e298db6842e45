"""Campaigns: uploading a recall's 100,000 affected VINs (CSV through the network service's
HTTP app: parse, check every line, COPY), beside the rows alone written by COPY and by
asyncpg's executemany, and the VIN lookup a check-in makes once a million affected VINs are stored.

The upload is timed as HQ makes it (POST /v1/campaigns/{id}/vins). The rest of the million
is bulk-loaded with SQL (generate_series) as ten campaigns of 100,000 VINs whose ranges
overlap, so a car is in up to two campaigns; the lookup is timed for affected and unaffected
cars as a service advisor of a store asks, signed as the gateway would sign it."""
from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.stats import summary_ms
from services.common.identity import Principal, SignedAs
from services.common.migrations import upgrade
from services.common.settings import DEV_IDENTITY_SECRET

UPLOAD_VINS = 100_000
LOADED_CAMPAIGNS = 10
STEP = 90_000  # campaign k lists cars k*STEP .. k*STEP + 99,999: neighbours share 10,000 cars


# The statement repository.open_for_vin makes, written out for EXPLAIN and the SQL-only timing.
LOOKUP_SQL = """
    SELECT campaigns.* FROM campaigns JOIN campaign_vins ON campaign_vins.campaign_id = campaigns.id
    WHERE campaign_vins.vin = $1 AND campaign_vins.completed_at IS NULL AND campaigns.status = 'published'
      AND campaigns.starts_on <= current_date AND campaigns.ends_on >= current_date
    ORDER BY campaigns.starts_on, campaigns.code"""


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def vin(n: int, prefix: str = "LBNCH") -> str:
    return f"{prefix}{n:012d}"


def _campaign(code: str) -> dict:
    return {"code": code, "kind": "recall", "title_zh": "基准召回", "title_en": "Benchmark recall",
            "op_code": "RCL-2026-01", "parts": [], "flat_hours": "0.5", "starts_on": "2026-01-01",
            "ends_on": "2030-12-31"}


async def _uploads(client: httpx.AsyncClient, hq: httpx.Auth, repeats: int) -> list[float]:
    body = ("vin\n" + "\n".join(vin(n, "LUPLD") for n in range(UPLOAD_VINS)) + "\n").encode()
    seconds = []
    for attempt in range(repeats):
        created = await client.post("/v1/campaigns", json=_campaign(f"BENCH-UP-{attempt}"), auth=hq)
        created.raise_for_status()
        start = time.perf_counter()
        response = await client.post(f"/v1/campaigns/{created.json()['id']}/vins", content=body,
                                     headers={"content-type": "text/csv"}, auth=hq)
        seconds.append(time.perf_counter() - start)
        if response.status_code != 200 or response.json()["vin_count"] != UPLOAD_VINS:
            raise RuntimeError(f"upload -> {response.status_code} {response.text[:300]}")
    return seconds


async def _inserts(url: str, campaign_id: str) -> dict[str, float]:
    """The same 100,000 rows written alone, by COPY (what the service does) and by asyncpg's
    executemany, each in one transaction, for comparison."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        out = {}
        for how in ("copy", "executemany"):
            rows = [(campaign_id, vin(n, "LCOPY" if how == "copy" else "LEXMY")) for n in range(UPLOAD_VINS)]
            start = time.perf_counter()
            async with conn.transaction():
                if how == "copy":
                    await conn.copy_records_to_table("campaign_vins", records=rows, columns=["campaign_id", "vin"])
                else:
                    await conn.executemany("INSERT INTO campaign_vins (campaign_id, vin) VALUES ($1, $2)", rows)
            out[f"{how}_100k_seconds"] = round(time.perf_counter() - start, 2)
        return out
    finally:
        await conn.close()


async def _load_million(url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute("""
            INSERT INTO campaigns (id, code, kind, title_zh, title_en, op_code, parts, flat_hours, starts_on, ends_on,
                                   status, vin_count, created_by, created_at, published_by, published_at)
            SELECT 'bench-' || k, 'BENCH-' || k, 'recall', '基准召回', 'Benchmark recall', 'RCL-2026-01', '[]'::json,
                   0.5, DATE '2026-01-01', DATE '2030-12-31', 'published', 100000, 'hq', now(), 'hq', now()
            FROM generate_series(0, $1 - 1) k""", LOADED_CAMPAIGNS)
        await conn.execute("""
            INSERT INTO campaign_vins (campaign_id, vin)
            SELECT 'bench-' || k, 'LBNCH' || lpad((k * $2 + n)::text, 12, '0')
            FROM generate_series(0, $1 - 1) k, generate_series(0, 99999) n""", LOADED_CAMPAIGNS, STEP)
        await conn.execute("UPDATE campaigns SET status = 'published', starts_on = DATE '2026-01-01', "
                           "ends_on = DATE '2030-12-31', published_at = now(), published_by = 'hq'")
        await conn.execute("ANALYZE")
        total = await conn.fetchval("SELECT count(*) FROM campaign_vins")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + LOOKUP_SQL, vin(95_000)))
        return total, plan
    finally:
        await conn.close()


async def _sql_lookups(url: str, vins: list[str]) -> list[float]:
    """The lookup's query alone, over one connection: what the database spends of it."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        seconds = []
        for one in vins:
            start = time.perf_counter()
            await conn.fetch(LOOKUP_SQL, one)
            seconds.append(time.perf_counter() - start)
        return seconds
    finally:
        await conn.close()


async def _lookups(client: httpx.AsyncClient, auth: httpx.Auth, vins: list[str]) -> list[float]:
    seconds = []
    for one in vins:
        start = time.perf_counter()
        response = await client.get(f"/v1/vehicles/{one}/campaigns", auth=auth)
        seconds.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"lookup -> {response.status_code} {response.text[:300]}")
    return seconds


async def _measure(url: str, uploads: int, lookups: int) -> dict:
    from services.network.main import create_app
    from services.network.settings import NetworkSettings

    app = create_app(NetworkSettings(database_url=url, kafka_bootstrap_servers="127.0.0.1:1"), role="api")
    hq = SignedAs(Principal("hq", "hq_admin"), DEV_IDENTITY_SECRET, "network")
    advisor = SignedAs(Principal("advisor", "service_advisor", "store-3"), DEV_IDENTITY_SECRET, "network")
    out: dict = {}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nw",
                                     timeout=120) as c:
            upload = await _uploads(c, hq, uploads)
            out["upload_100k_seconds"] = [round(s, 2) for s in upload]
            scratch = await c.post("/v1/campaigns", json=_campaign("BENCH-EXECUTEMANY"), auth=hq)
            out.update(await _inserts(url, scratch.json()["id"]))
            total, plan = await _load_million(url)
            out["affected_vins_stored"] = total
            out["lookup_plan_uses_vin_index"] = "ix_campaign_vins_vin" in plan or "pk_campaign_vins" in plan
            rng = random.Random(16)
            span = LOADED_CAMPAIGNS * STEP + 10_000
            affected = [vin(rng.randrange(span)) for _ in range(lookups)]
            unaffected = [vin(rng.randrange(span), "LNONE") for _ in range(lookups)]
            await _lookups(c, advisor, affected[:20])  # warm
            out["lookup_affected"] = summary_ms(await _lookups(c, advisor, affected))
            out["lookup_unaffected"] = summary_ms(await _lookups(c, advisor, unaffected))
            out["lookup_sql_only_affected"] = summary_ms(await _sql_lookups(url, affected))
            sample = (await c.get(f"/v1/vehicles/{vin(95_000)}/campaigns", auth=advisor)).json()
            out["campaigns_of_a_car_in_two"] = len(sample["campaigns"])
    return out


def run(create_database, uploads: int = 3, lookups: int = 500) -> dict:
    from services import network

    url = create_database("campaigns_network")
    upgrade(Path(network.__file__).parent / "migrations", url)
    return {"upload_vins": UPLOAD_VINS, **asyncio.run(_measure(url, uploads, lookups))}
