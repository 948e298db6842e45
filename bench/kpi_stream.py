"""KPI stream: many HQ dashboards holding `GET /v1/kpis/stream` at once, and how long a
KPI change takes to reach all of them.

The network service runs as it does in production for the stream, as `all` (API, relay
and consumer in one process, the broadcaster fed by the consumer's projection), in a
process of its own, on PostgreSQL with 2,000 stores and the real broker. The dashboards
are server-sent-event clients in this process, each with its own signed identity (as the
gateway forwards it). Measured: the time from a dashboard's request to its `ready` event,
with all of them connecting at once; then, for KPI events published one at a time (a
repair order opened at a different store each time), the time from handing the event to
Kafka to each dashboard's `kpi` event, and the spread between the first and the last
dashboard to hear of one change (the fan-out itself, without the consumer's pick-up)."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy.engine import make_url

from bench.stats import summary_ms
from services.common.identity import Principal, sign
from services.common.kafka import ensure_topics
from services.common.migrations import upgrade
from services.network.settings import NetworkSettings

REPO = Path(__file__).resolve().parents[1]
STORES = 2000
SECRET = "bench-identity-secret-" + uuid.uuid4().hex
PATH = "/v1/kpis/stream"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dashboard:
    """One subscriber: when it asked, when it was ready, when each store's change arrived."""

    def __init__(self, client: httpx.AsyncClient, number: int) -> None:
        self.client, self.number = client, number
        self.asked = self.ready = 0.0
        self.heard: dict[str, float] = {}
        self.connected = asyncio.Event()

    async def hold(self) -> None:
        headers = sign(Principal(f"hq-{self.number}", "hq_analyst"), uuid.uuid4().hex, SECRET, method="GET",
                       target=PATH, service="network")
        self.asked = time.perf_counter()
        async with self.client.stream("GET", PATH, headers=headers) as response:
            response.raise_for_status()
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "ready":
                    self.ready = time.perf_counter()
                    self.connected.set()
                elif line.startswith("data:") and event == "kpi":
                    self.heard.setdefault(json.loads(line[5:])["store_id"], time.perf_counter())


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _stores(url: str) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute("""
            INSERT INTO stores (id, code, name, kind, region, city, timezone, status, created_at, version)
            SELECT 'store-' || s, 'DS-' || s, 'Stream store ' || s, 'dealer_store', 'East', 'Shanghai',
                   'Asia/Shanghai', 'active', now(), 1
            FROM generate_series(0, $1 - 1) s""", STORES)
    finally:
        await conn.close()


def _opened(store_id: str) -> tuple[bytes, bytes]:
    from tests.network import factories as f

    envelope = f.order_opened(store_id, repair_order_id=uuid.uuid4().hex, opened_at=datetime.now(UTC))
    return envelope.subject.encode(), envelope.to_json().encode()


async def _measure(base_url: str, settings: NetworkSettings, dashboards: int, changes: int) -> dict:
    limits = httpx.Limits(max_connections=dashboards + 10, max_keepalive_connections=dashboards + 10)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(60, read=None)) as client:
        subscribers = [Dashboard(client, n) for n in range(dashboards)]
        started = time.perf_counter()
        holding = [asyncio.create_task(d.hold()) for d in subscribers]
        waiting = [asyncio.ensure_future(d.connected.wait()) for d in subscribers]
        await asyncio.wait([asyncio.gather(*waiting)], timeout=300)
        for task in waiting:
            task.cancel()
        all_ready = time.perf_counter() - started
        failed = [repr(task.exception())[:200] for task in holding if task.done() and task.exception()]
        subscribers = [d for d in subscribers if d.connected.is_set()]
        connect = summary_ms([d.ready - d.asked for d in subscribers])
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, linger_ms=0)
        await producer.start()
        latencies: list[float] = []
        spreads: list[float] = []
        missed = 0
        try:
            for n in range(changes):
                store = f"store-{n % STORES}"
                key, value = _opened(store)
                sent = time.perf_counter()
                await producer.send_and_wait(settings.topic("reception"), value, key=key)
                deadline = time.perf_counter() + 30
                while time.perf_counter() < deadline and not all(store in d.heard for d in subscribers):
                    await asyncio.sleep(0.005)
                heard = [d.heard[store] for d in subscribers if store in d.heard]
                missed += len(subscribers) - len(heard)
                latencies += [t - sent for t in heard]
                if heard:
                    spreads.append(max(heard) - min(heard))
                await asyncio.sleep(0.2)
        finally:
            await producer.stop()
            for task in holding:
                task.cancel()
            await asyncio.gather(*holding, return_exceptions=True)
    return {"dashboards": dashboards, "connected": len(subscribers), "refused": sorted(set(failed))[:5],
            "changes": changes, "all_connected_seconds": round(all_ready, 2),
            "connect_ms": connect, "change_to_dashboard_ms": summary_ms(latencies),
            "fan_out_spread_ms": summary_ms(spreads), "missed": missed}


def run(bootstrap: str, create_database, dashboards: int = 500, changes: int = 20) -> dict:
    from services import network

    url = create_database("bench_kpi_stream")
    upgrade(Path(network.__file__).parent / "migrations", url)
    prefix = f"kpistream{int(time.time())}."
    settings = NetworkSettings(database_url=url, kafka_bootstrap_servers=bootstrap, kafka_topic_prefix=prefix)
    asyncio.run(ensure_topics(settings))
    asyncio.run(_stores(url))
    port = _free_port()
    env = {**os.environ, "PLATFORM_IDENTITY_SECRET": SECRET, "NETWORK_DATABASE_URL": url, "NETWORK_PORT": str(port),
           "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC_PREFIX": prefix, "LOG_LEVEL": "WARNING"}
    with tempfile.NamedTemporaryFile(prefix="bench-kpi-stream-", suffix=".log") as log:
        service = subprocess.Popen([sys.executable, "-m", "services.network", "all"], env=env, cwd=REPO,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(base_url + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or service.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"network never got ready:\n{log.read().decode()[-3000:]}")
                time.sleep(0.2)
            result = asyncio.run(_measure(base_url, settings, dashboards, changes))
        finally:
            service.send_signal(signal.SIGTERM)
            try:
                service.wait(30)
            except subprocess.TimeoutExpired:
                service.kill()
    result["stores"] = STORES
    result["target"] = "500 dashboards hold the stream; a change reaches all of them"
    return result
