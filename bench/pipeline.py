"""Event pipeline latency: a repair order's delivery committed → its callback visible in
CRM, at a steady rate, over real Kafka and PostgreSQL.

The delivery side is reception's own path after its transaction: the event is written
to an outbox in a database transaction and published by the OutboxRelay, at a fixed
rate. CRM runs as a real process (API, relay and consumers). The callback counts as
visible when a reader of CRM's database first sees it. The reader looks whenever CRM
commits an event of its own (the outbox NOTIFY that wakes relays: every first callback
announces itself), and at least every 50 ms. That is as prompt as polling every few
milliseconds, without two hundred queries a second competing with the pipeline for the
machine's two cores."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.relay import BENCH_MIGRATIONS
from bench.stats import summary_ms
from services.common.db import Database
from services.common.events.catalogue.network import StoreCreated
from services.common.events.catalogue.reception import Customer, Principal, RepairOrderDelivered, RepairOrderLine, Totals, Vehicle
from services.common.migrations import upgrade
from services.common.outbox import NOTIFY_CHANNEL, emit
from services.common.relay import OutboxRelay
from services.common.settings import PlatformSettings

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _delivered(store_id: str, n: int) -> RepairOrderDelivered:
    now = datetime.now(timezone.utc)
    return RepairOrderDelivered(
        repair_order_id=f"ro-{uuid.uuid4().hex}", number=f"BENCH-{n:06d}", store_id=store_id,
        customer=Customer(name="Bench Customer", phone=f"138{n:08d}"),
        vehicle=Vehicle(vin=f"LBNCH{n:012d}", plate="沪B00000", model="Sedan"),
        mileage_km=10000 + n, advisor=Principal(id="advisor-1", name="Advisor", role="service_advisor"),
        delivered_by="advisor-1", opened_at=now, settled_at=now, delivered_at=now,
        lines=[RepairOrderLine(line_id=f"l-{n}", kind="labor", op_code="MNT-0100", description="Oil change",
                               quantity="0.5", unit_price_fen=38000, amount_fen=19000, pay_type="customer")],
        totals=Totals(customer_fen=19000, tax_fen=2470, customer_due_fen=21470),
    )


async def _measure(bootstrap: str, reception_url: str, crm_url: str, prefix: str, orders: int, rate: float,
                   warmup: int) -> dict:
    settings = PlatformSettings(service_name="reception", database_url=reception_url, kafka_bootstrap_servers=bootstrap,
                                kafka_topic_prefix=prefix)
    db = Database(reception_url)
    relay = OutboxRelay(db, settings)
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop))
    store_id = f"store-{uuid.uuid4().hex[:8]}"
    now = datetime.now(timezone.utc)
    async with db.transaction() as session:
        await emit(session, StoreCreated(store_id=store_id, code="BENCH-01", name="Bench store", kind="dealer_store",
                                         status="active", created_at=now), subject=store_id, store_id=store_id)
    crm = await asyncpg.connect(make_url(crm_url).set(drivername="postgresql").render_as_string(hide_password=False))
    committed: dict[str, float] = {}
    visible: dict[str, float] = {}

    committed_in_crm = asyncio.Event()
    await crm.add_listener(NOTIFY_CHANNEL, lambda *_: committed_in_crm.set())

    async def reader():
        # Callback ids sort by creation time: read only what is new since the last look.
        last = ""
        while len(visible) < warmup + orders:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(committed_in_crm.wait(), 0.05)
            committed_in_crm.clear()  # before the query: a commit during it makes another look
            rows = await crm.fetch("SELECT id, repair_order_id FROM callbacks WHERE store_id = $1 AND id > $2 ORDER BY id",
                                   store_id, last)
            t = time.perf_counter()
            for row in rows:
                visible.setdefault(row["repair_order_id"], t)
                last = row["id"]

    # Wait until CRM knows the store (its consumer is up and caught up).
    deadline = time.monotonic() + 120
    while not await crm.fetchval("SELECT count(*) FROM known_stores WHERE id = $1", store_id):
        if time.monotonic() > deadline:
            raise TimeoutError("CRM never learnt the bench store")
        await asyncio.sleep(0.05)
    reading = asyncio.create_task(reader())
    interval = 1.0 / rate

    event_ids: list[str] = []

    async def deliver(event: RepairOrderDelivered, measured: bool) -> None:
        async with db.transaction() as session:
            envelope = await emit(session, event, subject=event.repair_order_id, store_id=store_id)
        if measured:
            committed[event.repair_order_id] = time.perf_counter()
            event_ids.append(envelope.id)

    # Deliveries start on a fixed schedule and commit concurrently, as the advisors' requests
    # at reception do; a slow commit does not hold back the ones after it. The first
    # `warmup` run at the same rate and are not counted: they fill both sides' connection
    # pools and statement caches, which a service that has been running has filled long ago.
    deliveries = []
    start = time.perf_counter()
    for n in range(warmup + orders):
        delay = start + n * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if n == warmup:
            measuring_from = time.perf_counter()
        deliveries.append(asyncio.create_task(deliver(_delivered(store_id, n), measured=n >= warmup)))
    await asyncio.gather(*deliveries)
    sent_for = time.perf_counter() - measuring_from
    await asyncio.wait_for(reading, 300)
    stop.set()
    await relay_task
    await crm.close()
    await db.dispose()
    latencies = [visible[k] - committed[k] for k in committed]
    return {"orders": orders, "warmup_orders": warmup, "target_rate_per_s": rate,
            "achieved_rate_per_s": round(orders / sent_for, 1),
            **summary_ms(latencies), "crm_applied_per_s": await _applied_rate(crm_url, event_ids),
            "target": "p99 under 250 ms at 100 orders/s"}


async def _applied_rate(crm_url: str, event_ids: list[str]) -> float:
    """Deliveries CRM applied per second between its first and last one (its capacity when
    a backlog built up, the offered rate otherwise), from its own inbox."""
    conn = await asyncpg.connect(make_url(crm_url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        first, last, count = await conn.fetchrow(
            "SELECT min(applied_at), max(applied_at), count(*) FROM inbox WHERE event_id = ANY($1::text[])", event_ids)
    finally:
        await conn.close()
    return 0.0 if not count or last == first else round((count - 1) / (last - first).total_seconds(), 1)


def run(bootstrap: str, create_database, orders: int = 1000, rate: float = 100.0, lower_rate: float = 25.0,
        warmup_seconds: float = 2.0) -> dict:
    prefix = f"benchpipe{uuid.uuid4().hex[:6]}."
    reception_url = create_database("bench_reception")
    upgrade(BENCH_MIGRATIONS, reception_url)
    crm_url = create_database("bench_crm")
    tmp = Path(tempfile.mkdtemp(prefix="bench-pipe-"))
    port = _free_port()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC_PREFIX": prefix, "CRM_DATABASE_URL": crm_url,
           "CRM_PORT": str(port), "LOG_LEVEL": "WARNING"}
    crm = subprocess.Popen([sys.executable, "-m", "services.crm", "all"], env=env, cwd=REPO,
                           stdout=open(tmp / "crm.log", "w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or crm.poll() is not None:
                raise RuntimeError("CRM did not start:\n" + (tmp / "crm.log").read_text()[-3000:])
            time.sleep(0.1)
        result = asyncio.run(_measure(bootstrap, reception_url, crm_url, prefix, orders, rate,
                                      warmup=int(rate * warmup_seconds)))
        # The same path at a rate this CRM keeps up with: what the latency is without a backlog.
        result["lower_rate"] = asyncio.run(_measure(bootstrap, reception_url, crm_url, prefix, orders // 2, lower_rate,
                                                    warmup=int(lower_rate * warmup_seconds)))
        return result
    finally:
        crm.send_signal(signal.SIGTERM)
        try:
            crm.wait(20)
        except subprocess.TimeoutExpired:
            crm.kill()
