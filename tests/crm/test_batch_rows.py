"""A batch's lookups (services.crm.batch) answer from the rows in the session as they are
now: a row added or changed by any code, without telling anyone, is seen by the next
lookup, and a key the preload did not ask about goes to the database."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from services.common.db import Database
from services.common.ids import new_id
from services.crm.churn import repository as churn
from services.crm.churn.models import ChurnEpisode
from services.crm.customers import repository as customers
from services.crm.customers.models import Customer, Vehicle, VehicleOwner
from services.crm.main import spec

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
STORE = "store-1"


def customer(phone: str) -> Customer:
    return Customer(id=new_id(), store_id=STORE, phone=phone, name="王先生", contact_preferences={},
                    first_seen_at=NOW, name_seen_at=NOW, created_at=NOW, updated_at=NOW)


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
async def db(migrated_database):
    database = Database(migrated_database(spec.migrations_dir, "crm"))
    yield database
    await database.dispose()


async def test_a_customer_added_straight_to_the_session_is_found_by_the_next_lookup_without_a_query(db):
    async with db.transaction() as session:
        await customers.load_customers(session, {(STORE, "13800138001")})
        with session.no_autoflush:
            assert await customers.customer_by_phone(session, STORE, "13800138001") is None
            added = customer("13800138001")
            session.add(added)
            with statements(db) as sent:
                found = await customers.customer_by_phone(session, STORE, "13800138001")
        assert found is added
        assert sent == []


async def test_an_ownership_closed_and_an_absence_ended_after_loading_are_no_longer_open(db):
    owner, vehicle = customer("13800138002"), "LSVAA4182E2100002"
    async with db.transaction() as session:
        session.add_all([
            owner,
            Vehicle(vin=vehicle, home_store_id=STORE, customer_id=owner.id, owner_phone=owner.phone, owner_since=NOW,
                    first_seen_at=NOW, updated_at=NOW),
            VehicleOwner(id=new_id(), vin=vehicle, store_id=STORE, customer_id=owner.id, phone=owner.phone, since=NOW),
            ChurnEpisode(id=new_id(), store_id=STORE, customer_id=owner.id, open_key=owner.id, level="at_risk",
                         last_visit_at=NOW, reason="away", detected_at=NOW),
        ])
    async with db.transaction() as session:
        [loaded] = await customers.load_customers(session, {(STORE, owner.phone)})
        await customers.load_vehicles(session, {vehicle})
        await churn.load_open_episodes(session, {loaded.id})
        with session.no_autoflush, statements(db) as sent:
            [ownership] = await customers.open_owners(session, vehicle)
            episode = await churn.open_episode(session, loaded)
            assert episode is not None
            ownership.until, episode.open_key = NOW, None
            assert await customers.open_owners(session, vehicle) == []
            assert await churn.open_episode(session, loaded) is None
        assert sent == []


async def test_a_key_the_preload_did_not_ask_about_is_looked_up_after_this_batch_s_rows_are_written(db):
    async with db.transaction() as session:
        await customers.load_customers(session, {(STORE, "13800138003")})
        with session.no_autoflush:
            added = customer("13800138004")
            session.add(added)
            with statements(db) as sent:
                found = await customers.customer_by_phone(session, STORE, "13800138004")
        assert found is added
        assert any(s.startswith("INSERT INTO customers") for s in sent)
        assert any(s.startswith("SELECT") and "FROM customers" in s for s in sent)


async def test_a_row_whose_key_is_assigned_is_found_under_its_new_key_only(db):
    async with db.transaction() as session:
        await customers.load_customers(session, {(STORE, "13800138005"), (STORE, "13800138006")})
        with session.no_autoflush:
            added = customer("13800138005")
            session.add(added)
            assert await customers.customer_by_phone(session, STORE, "13800138005") is added
            added.phone = "13800138006"
            assert await customers.customer_by_phone(session, STORE, "13800138006") is added
            assert await customers.customer_by_phone(session, STORE, "13800138005") is None
