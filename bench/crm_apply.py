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

from bench.pipeline import _delivered
from services.common.consumer import apply_event, apply_events
from services.common.db import Database
from services.common.events.catalogue.network import StoreCreated
from services.common.events.envelope import CloudEvent
from services.common.migrations import upgrade
from services.crm.main import create_app, spec
from services.crm.settings import CrmSettings

BATCHES = (1, 5, 20, 100)


async def _measure(url: str, batch: int, deliveries: int) -> dict:
    # The handlers a running CRM has (its own and the store registry's), as its app binds them.
    handlers = create_app(CrmSettings(database_url=url), role="api").state.handlers
    store = f"store-{uuid.uuid4().hex[:8]}"
    db = Database(url)
    try:
        # CRM learns the store as it does in production, from network's event.
        await apply_event(db, handlers, CloudEvent.wrap(StoreCreated(
            store_id=store, code="BENCH", name="Bench store", kind="dealer_store", status="active",
            created_at=datetime.now(timezone.utc)), subject=store, store_id=store), "bench")
        events = [CloudEvent.wrap(e, subject=e.repair_order_id, store_id=store)
                  for e in (_delivered(store, n) for n in range(deliveries + batch))]
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
        url = create_database(f"bench_crm_apply_{batch}")
        upgrade(spec.migrations_dir, url)
        rows.append(asyncio.run(_measure(url, batch, deliveries)))
    return {"event": "reception.repair_order.delivered (new customer and car)", "batches": rows}
