"""The customer base applied in batches (one transaction per fetch, flushed once) ends as it does
applied one event at a time: the same cars with the same advisors, and the same announcements
with the same counts. The batch holds new cars, a car changing advisor twice inside one batch,
the same visit told twice and a late older visit."""
from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.common.clock import ManualClock
from services.common.consumer import apply_event, apply_events
from services.common.db import Database
from services.common.migrations import upgrade
from services.crm.main import create_app, spec
from services.crm.settings import CrmSettings
from tests.crm import factories as f
from tests.support.events import store_created

STORE = "store-base-batch"
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
# The handlers a running CRM has, on a clock of the test's: retention is counted on T0's day.
HANDLERS = create_app(CrmSettings(database_url="postgresql+asyncpg://unused/crm"), role="api",
                      clock=ManualClock(T0)).state.handlers


def at(hours: float) -> datetime:
    return T0 - timedelta(days=30) + timedelta(hours=hours)


def vin(n: int) -> str:
    return f"LSVBATCH00000{n:04d}"


def events() -> list:
    def served(n: int, advisor: str, hours: float, **kw):
        return f.delivered(STORE, at(hours), vehicle=f.car(vin(n)), customer=f.person(f"客户{n}", f"1370000{n:04d}"),
                           advisor_id=advisor, **kw)

    order = "ro-base-batch-1"
    return [
        served(1, "adv-a", 1, repair_order_id=order),
        served(2, "adv-a", 2),
        served(1, "adv-b", 3),              # car 1 moves to b
        served(3, "adv-b", 4),
        served(1, "adv-a", 5),              # and back to a in the same batch
        served(1, "adv-b", 0.5),            # a late, older visit: nothing
        served(1, "adv-a", 1, repair_order_id=order),  # the first visit told again
        served(4, "adv-c", -24 * 400),      # a visit over a year ago: not retained
    ]


async def _state(db: Database) -> dict:
    async with db.engine.connect() as conn:
        cars = sorted(tuple(str(v) for v in row) for row in (await conn.execute(sa.text(
            "SELECT store_id, vin, advisor_id, last_visit_at, last_served_by, came_by, since "
            "FROM customer_base"))).all())
        rows = (await conn.execute(sa.text(
            "SELECT key, payload FROM outbox WHERE event_type = 'crm.customer_base.changed' ORDER BY id"))).all()
    announced = [(key, *(json.loads(p)["data"][k] for k in ("vehicles", "retained", "gained", "lost")))
                 for key, p in rows]
    return {"cars": cars, "announced": announced}


@pytest.mark.parametrize("batch_size", [3, 100], ids=["batches of three", "all in one batch"])
async def test_a_batch_leaves_the_bases_and_their_announcements_as_one_at_a_time_does(pg_database, batch_size):
    one_by_one, batched = Database(pg_database()), Database(pg_database())
    try:
        for db in (one_by_one, batched):
            await asyncio.to_thread(upgrade, spec.migrations_dir, db.url)
            await apply_event(db, HANDLERS, store_created(STORE, code="SH-BB"))
        sequence = events()
        for envelope in sequence:
            await apply_event(one_by_one, HANDLERS, envelope, "reception.events")
        for start in range(0, len(sequence), batch_size):
            await apply_events(batched, HANDLERS, [(e, "reception.events") for e in sequence[start:start + batch_size]])
        expected, got = await _state(one_by_one), await _state(batched)
        assert got == expected
        assert [c[1:3] for c in expected["cars"]] == [(vin(1), "adv-a"), (vin(2), "adv-a"), (vin(3), "adv-b"),
                                                      (vin(4), "adv-c")]
        assert expected["announced"] == [
            ("adv-a", 1, 1, 1, 0), ("adv-a", 2, 2, 1, 0), ("adv-a", 1, 1, 0, 1), ("adv-b", 1, 1, 1, 0),
            ("adv-b", 2, 2, 1, 0), ("adv-b", 1, 1, 0, 1), ("adv-a", 2, 2, 1, 0), ("adv-c", 1, 0, 1, 0)]
    finally:
        await one_by_one.dispose()
        await batched.dispose()
