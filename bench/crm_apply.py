"""CRM's cost of applying a delivery, by batch size: the part of the pipeline's latency that
is CRM's own work, without Kafka, the relay or the API in the same process.

Deliveries of new customers and cars (the pipeline benchmark's) are applied straight to a
fresh PostgreSQL database through the consumer's own functions: one at a time
(`apply_event`, what a consumer does with a fetch of one event) and in batches of 5, 20
and 100 (`apply_events`, one transaction per fetch). Reported per delivery: wall time and
the process's CPU time."""
from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timezone

import asyncpg
from sqlalchemy.engine import make_url

from bench.pipeline import _delivered
from services.common.consumer import apply_event, apply_events
from services.common.db import Database
from services.common.events.envelope import CloudEvent
from services.common.migrations import upgrade
from services.crm.main import create_app, spec
from services.crm.settings import CrmSettings

BATCHES = (1, 5, 20, 100)


def _envelope(event) -> CloudEvent:
    return CloudEvent.model_validate(dict(
        specversion="1.0", id=uuid.uuid4().hex, source="reception", type="reception.repair_order.delivered",
        time=datetime.now(timezone.utc), subject=event.repair_order_id, data=event.model_dump(mode="json"),
        storeid=event.store_id))


async def _measure(url: str, batch: int, deliveries: int) -> dict:
    # The handlers a running CRM has (its own and the store registry's), as its app binds them.
    handlers = create_app(CrmSettings(database_url=url), role="api").state.handlers
    store = f"store-{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await conn.execute("INSERT INTO known_stores (id, code, name, kind, status, timezone, updated_at) "
                           "VALUES ($1, 'BENCH', 'Bench store', 'dealer_store', 'active', 'Asia/Shanghai', now())", store)
    finally:
        await conn.close()
    db = Database(url)
    try:
        events = [_envelope(_delivered(store, n)) for n in range(deliveries + batch)]
        await apply_events(db, handlers, [(e, "bench") for e in events[:batch]])  # warm: pool, statement caches
        events = events[batch:]
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(events), batch):
            if batch == 1:
                await apply_event(db, handlers, events[start], "bench")
            else:
                await apply_events(db, handlers, [(e, "bench") for e in events[start:start + batch]])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await db.dispose()
    return {"batch": batch, "deliveries": len(events), "wall_ms_per_delivery": round(wall / len(events) * 1000, 2),
            "cpu_ms_per_delivery": round(cpu / len(events) * 1000, 2)}


def run(create_database, deliveries: int = 600) -> dict:
    rows = []
    for batch in BATCHES:
        url = create_database("bench_crm_apply")
        upgrade(spec.migrations_dir, url)
        rows.append(asyncio.run(_measure(url, batch, deliveries)))
    return {"event": "reception.repair_order.delivered (new customer and car)", "batches": rows}
