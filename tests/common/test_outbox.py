"""The outbox writer: an event is written in the caller's own transaction, so it exists if
and only if the change it describes does."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from services.common import context
from services.common.consumer import EventHandlers, apply_event
from services.common.db import Database
from services.common.events.catalogue.crm import ReminderSent
from services.common.events.envelope import CloudEvent
from services.common.ids import new_id
from services.common.outbox import NOTIFY_CHANNEL, emit
from services.common.tables import OutboxMessage
from tests.common.probe import Note, ProbeSettings, bound
from tests.support.platform import eventually

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def reminder(n: int = 1) -> ReminderSent:
    return ReminderSent(reminder_id=f"rem-{n}", store_id="store-1", vin=f"LSVAU2180N21832{n:02d}",
                        kind="first_maintenance", channel="sms", sent_at=NOW)


class Boom(Exception):
    pass


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list((await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def notes_count(db: Database) -> int:
    async with db.transaction() as session:
        return (await session.exec(select(func.count()).select_from(Note))).one()


async def test_the_event_is_written_with_the_change_in_the_callers_transaction(db):
    async with db.transaction() as session:
        session.add(Note(id=new_id(), store_id="store-1", text="reminder sent", created_at=NOW))
        envelope = await emit(session, reminder(), subject="rem-1", store_id="store-1", time=NOW)

    (row,) = await outbox_rows(db)
    assert await notes_count(db) == 1
    assert (row.event_id, row.event_type, row.key, row.sent_at) == (envelope.id, "crm.reminder.sent", "rem-1", None)
    assert CloudEvent.from_json(row.payload) == envelope
    assert json.loads(row.payload)["storeid"] == "store-1"


async def test_a_rolled_back_transaction_leaves_neither_the_change_nor_the_event(db):
    with pytest.raises(Boom):
        async with db.transaction() as session:
            session.add(Note(id=new_id(), store_id="store-1", text="never happened", created_at=NOW))
            await emit(session, reminder(), subject="rem-1", store_id="store-1")
            await session.flush()  # the rows reached the database before the rollback
            raise Boom()

    assert await outbox_rows(db) == []
    assert await notes_count(db) == 0


async def test_several_events_of_one_transaction_keep_their_order(db):
    async with db.transaction() as session:
        ids = [(await emit(session, reminder(n), subject=f"rem-{n}", store_id="store-1")).id for n in range(5)]

    assert [row.event_id for row in await outbox_rows(db)] == ids


async def test_the_relay_is_woken_after_a_commit_that_wrote_events_and_only_then(db):
    wakes = []
    db.on_outbox_commit(lambda: wakes.append("wake"))

    async with db.transaction() as session:
        session.add(Note(id=new_id(), store_id="store-1", text="no event", created_at=NOW))
    with pytest.raises(Boom):
        async with db.transaction() as session:
            await emit(session, reminder(), subject="rem-1", store_id="store-1")
            raise Boom()
    assert wakes == []

    async with db.transaction() as session:
        await emit(session, reminder(1), subject="rem-1", store_id="store-1")
        await emit(session, reminder(2), subject="rem-2", store_id="store-1")
    assert wakes == ["wake"]


async def test_the_request_id_becomes_the_correlation_id(db):
    token = context.request_id.set("req-7")
    try:
        async with db.transaction() as session:
            envelope = await emit(session, reminder(), subject="rem-1", store_id="store-1")
    finally:
        context.request_id.reset(token)

    assert (envelope.correlationid, envelope.causationid) == ("req-7", None)


async def test_an_event_emitted_while_handling_another_is_caused_by_it_and_keeps_its_correlation(db):
    handlers = EventHandlers(context=bound(ProbeSettings()).context)
    emitted: list[CloudEvent] = []

    @handlers.on("crm.reminder.sent")
    async def follow_up(session, event, envelope, ctx):
        emitted.append(await emit(session, reminder(2), subject="rem-2", store_id="store-1"))

    incoming = CloudEvent.wrap(reminder(1), subject="rem-1", store_id="store-1", correlation_id="req-9")
    await apply_event(db, handlers, incoming)

    (follow,) = emitted
    assert (follow.causationid, follow.correlationid) == (incoming.id, "req-9")
    assert [row.event_id for row in await outbox_rows(db)] == [follow.id]


async def test_on_postgresql_other_processes_hear_of_the_commit_not_of_a_rollback(database_url):
    db = Database(database_url)
    heard: list[str] = []
    listener = await asyncpg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(False))
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: heard.append(args[2]))
    try:
        with pytest.raises(Boom):
            async with db.transaction() as session:
                await emit(session, reminder(1), subject="rem-1", store_id="store-1")
                await session.flush()
                raise Boom()
        async with db.transaction() as session:
            await emit(session, reminder(2), subject="rem-2", store_id="store-1")
            await emit(session, reminder(3), subject="rem-3", store_id="store-1")

        async def notified():
            return heard

        await eventually(notified, timeout=5, message="no NOTIFY after the commit")
        # Notifications arrive in commit order: had the rollback notified, it would be first.
        await listener.execute("SELECT 1")
        assert heard == [NOTIFY_CHANNEL]
    finally:
        await listener.close()
        await db.dispose()
