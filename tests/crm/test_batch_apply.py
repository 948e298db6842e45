"""A batch of reception events applied in one transaction (the consumer's path under
load: one lookup per table for the batch's deliveries, one flush) leaves CRM exactly as
applying them one at a time does, on PostgreSQL: customers, vehicles and their owners,
repair orders, first callbacks, churn episodes ended by a visit, the events CRM emits.
The sequence is built to make later events of a batch depend on earlier ones: the same
customer and vehicle again, a car sold on and bought back, a late event about its earlier owner, a name
that changed, an order opened and delivered in the same batch, a duplicate."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.common.clock import SystemClock
from services.common.consumer import HandlerContext, Outcome, apply_event, apply_events
from services.common.db import Database
from services.common.ids import new_id
from services.common.migrations import upgrade
from services.crm.churn.models import ChurnEpisode
from services.crm.main import spec
from services.crm.settings import CrmSettings
from tests.crm import factories as f
from tests.support.events import store_created

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
STORE, OTHER = new_id(), new_id()
HANDLERS = spec.handlers.bound(HandlerContext(clock=SystemClock(), settings=CrmSettings()))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def phone(n: int) -> str:
    return f"1380013800{n}"


def vin(n: int) -> str:
    return f"LSVAA4182E21000{n:02d}"


def history() -> list:
    """Applied one at a time to both databases before the batch: a customer who then
    stayed away (an open churn episode is added for them)."""
    return [store_created(STORE, code="SH-01"), store_created(OTHER, code="SH-02"),
            f.delivered(STORE, at(0), customer=f.person("赵先生", phone(2)), vehicle=f.car(vin(2)))]


def batch() -> list:
    ro1, ro4, ro7 = new_id(), new_id(), new_id()
    twice = f.delivered(STORE, at(30), customer=f.person("钱女士", phone(2)), vehicle=f.car(vin(2)))
    appointment = f.booked(STORE, at(20), customer=f.person("孙先生", phone(4)), vehicle=f.car(vin(4)))
    # Applied in batches of five: the sale, the late event and the buy-back of car 1 share one.
    return [
        f.opened(STORE, at(24), repair_order_id=ro1, customer=f.person("王先生", phone(1)), vehicle=f.car(vin(1))),
        f.delivered(STORE, at(26), repair_order_id=ro1, customer=f.person("王先生", phone(1)),
                    vehicle=f.car(vin(1))),
        twice,  # a returning customer, renamed
        f.delivered(STORE, at(28), customer=f.person("王先生", phone(1)), vehicle=f.car(vin(3))),  # second car
        appointment,
        f.delivered(STORE, at(40), repair_order_id=ro4, customer=f.person("李女士", phone(3)),
                    vehicle=f.car(vin(1), plate="沪B99999")),                                   # car 1 sold on
        # late: its former owner
        f.delivered(STORE, at(35), customer=f.person("王先生", phone(1)), vehicle=f.car(vin(1))),
        # who buys it back
        f.delivered(STORE, at(45), customer=f.person("王先生", phone(1)), vehicle=f.car(vin(1))),
        twice,                                                                               # the same event again
        f.delivered(STORE, at(50), customer=f.person("孙先生", phone(4)), vehicle=f.car(vin(4))),
        f.opened(STORE, at(52), repair_order_id=ro7, customer=f.person("周先生", phone(5)), vehicle=f.car(vin(5))),
        f.cancelled_order(STORE, ro7, at(53)),
        # known at another store
        f.delivered(OTHER, at(54), customer=f.person("王先生", phone(1)), vehicle=f.car(vin(1))),
        f.delivered(STORE, at(60), customer=f.person("吴女士", phone(6)), vehicle=f.car(vin(6))),
        f.delivered(STORE, at(61), customer=f.person("吴女士", phone(6)), vehicle=f.car(vin(6))),  # back the next hour
    ]


async def _state(db: Database) -> dict:
    """Everything the events wrote, by natural keys (row ids differ between databases)."""
    queries = {
        "customers": "SELECT store_id, phone, name, first_seen_at, last_visit_at, name_seen_at, version FROM customers",
        "vehicles": "SELECT v.vin, v.plate, v.model, v.home_store_id, c.phone, v.owner_phone, v.owner_since, "
                    "v.first_seen_at, v.updated_at FROM vehicles v JOIN customers c ON c.id = v.customer_id",
        "owners": "SELECT o.vin, o.store_id, c.phone, o.phone, o.since, o.until FROM vehicle_owners o "
                  "JOIN customers c ON c.id = o.customer_id",
        "repair_orders": "SELECT r.id, r.store_id, r.status, r.vin, c.phone, r.opened_at, r.delivered_at, "
                         "r.cancelled_at, r.amount_fen, r.customer_due_fen FROM repair_orders r "
                         "LEFT JOIN customers c ON c.id = r.customer_id",
        "callbacks": "SELECT b.origin_key, b.store_id, b.kind, b.repair_order_id, b.due_at, b.status, c.phone, b.vin "
                     "FROM callbacks b LEFT JOIN customers c ON c.id = b.customer_id",
        "appointments": "SELECT a.id, a.status, c.phone, a.vin FROM appointments a "
                        "JOIN customers c ON c.id = a.customer_id",
        "episodes": "SELECT c.phone, e.open_key IS NULL, e.ended_at, e.ended_by FROM churn_episodes e "
                    "JOIN customers c ON c.id = e.customer_id",
        "emitted": "SELECT event_type, key FROM outbox WHERE event_type <> 'crm.callback.created' "
                   "UNION ALL SELECT event_type, '' FROM outbox WHERE event_type = 'crm.callback.created'",
        "inbox": "SELECT event_id FROM inbox",
    }
    async with db.engine.connect() as conn:
        return {name: sorted(tuple(str(v) for v in row) for row in (await conn.execute(sa.text(sql))).all())
                for name, sql in queries.items()}


async def _open_episode(db: Database, phone_number: str) -> None:
    async with db.transaction() as session:
        customer_id = (await session.exec(sa.text("SELECT id FROM customers WHERE phone = :p"),
                                          params={"p": phone_number})).scalar_one()
        session.add(ChurnEpisode(id=new_id(), store_id=STORE, customer_id=customer_id, open_key=customer_id,
                                 level="at_risk", last_visit_at=at(0), reason="away", detected_at=at(10)))


@pytest.mark.parametrize("batch_size", [5, 100], ids=["batches of five", "all in one batch"])
async def test_a_batch_applied_in_one_transaction_leaves_crm_as_one_at_a_time_does(pg_database, batch_size):
    one_by_one, batched = Database(pg_database()), Database(pg_database())
    for db in (one_by_one, batched):
        await asyncio.to_thread(upgrade, spec.migrations_dir, db.url)
    try:
        before = history()
        for db in (one_by_one, batched):
            for envelope in before:
                await apply_event(db, HANDLERS, envelope)
            await _open_episode(db, phone(2))

        events = batch()
        singles = [await apply_event(one_by_one, HANDLERS, e, "reception.events") for e in events]
        grouped: list[str] = []
        # Batches of five put rows of one customer and car in several batches; one batch holds
        # the duplicate together with its first delivery.
        for start in range(0, len(events), batch_size):
            chunk = events[start:start + batch_size]
            grouped += await apply_events(batched, HANDLERS, [(e, "reception.events") for e in chunk])

        assert grouped == singles
        assert singles.count(Outcome.DUPLICATE) == 1 and Outcome.IGNORED not in singles
        expected, got = await _state(one_by_one), await _state(batched)
        for table in expected:
            assert got[table] == expected[table], table
        # The sequence did what it was built for, so the comparison covers those paths.
        owners_of_car_1 = [row for row in expected["owners"] if row[0] == vin(1)]
        assert len(owners_of_car_1) >= 3 and any(row[5] != "None" for row in owners_of_car_1)
        assert [row for row in expected["episodes"] if row[1] == "True"], "the visit did not end the churn episode"
        assert len(expected["callbacks"]) == 11
    finally:
        await one_by_one.dispose()
        await batched.dispose()
