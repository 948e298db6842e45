"""Whole repair-order lives per second through the gateway: every process real (four
services and the gateway on PostgreSQL and Kafka), each life from check-in to handover
(lines, estimate, approval, jobs assigned/started/completed/quality-checked, parts
issued, ready, settled, delivered), several cars in flight at once."""
from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from bench.stats import summary_ms
from tests.support.processes import Platform
from tools.client import Api, OrderPlan, open_store, repair_order_life

UNLIMITED = {"GATEWAY_RATE_LIMIT_KEY_PER_SECOND": "100000", "GATEWAY_RATE_LIMIT_KEY_BURST": "100000",
             "GATEWAY_RATE_LIMIT_CLIENT_PER_SECOND": "100000", "GATEWAY_RATE_LIMIT_CLIENT_BURST": "100000"}


async def _drive(gateway_url: str, key: str, orders: int, concurrency: int) -> dict:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60,
                                 limits=httpx.Limits(max_connections=concurrency * 2)) as http:
        hq = Api(http, key)
        stores = [await open_store(hq, http, code=f"LB-{i:02d}", name=f"Lifecycle store {i}",
                                   stock={"XB-15400-001": orders, "XB-45022-F10": orders}) for i in range(2)]
        # One warm-up life per store (connection pools, caches, consumer groups).
        for i, store in enumerate(stores):
            await repair_order_life(store, _plan(10_000 + i))
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(orders):
            queue.put_nowait(n)
        durations: list[float] = []

        async def driver():
            while not queue.empty():
                n = queue.get_nowait()
                start = time.perf_counter()
                await repair_order_life(stores[n % len(stores)], _plan(n), timeout=120)
                durations.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(driver() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    per_life = summary_ms(durations)
    return {"orders": orders, "concurrency": concurrency, "seconds": round(elapsed, 1),
            "lives_per_s": round(orders / elapsed, 2), "life_p50_ms": per_life["p50_ms"], "life_p99_ms": per_life["p99_ms"],
            "calls_per_life": 15}


def _plan(n: int) -> OrderPlan:
    return OrderPlan(vin=f"LBNCH{n:012d}", phone=f"137{n:08d}", labour=[("MNT-0100", "customer"), ("BRK-0210", "customer")],
                     parts=[("XB-15400-001", 1, "customer"), ("XB-45022-F10", 1, "customer")])


def run(bootstrap: str, create_database, orders: int = 60, concurrency: int = 6) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-life-") as tmp:
        with Platform(Path(tmp), kafka_bootstrap=bootstrap, database_url=create_database, gateway_env=UNLIMITED,
                      env={"LOG_LEVEL": "WARNING"}) as platform:
            return asyncio.run(_drive(platform.gateway.url, platform.bootstrap_key, orders, concurrency))
