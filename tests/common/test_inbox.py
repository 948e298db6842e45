"""The inbox (services.common.consumer.apply_event): an event and its inbox record are
written in one transaction, so the same event twice has one effect."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import select

from services.common.clock import ManualClock
from services.common.consumer import EventHandlers, HandlerContext, Outcome, PoisonEvent, apply_event, apply_events
from services.common.db import Database
from services.common.events.catalogue.crm import ReminderSent
from services.common.events.envelope import CloudEvent
from services.common.tables import InboxEvent
from tests.common.probe import Applied, ProbeSettings, bound
from tests.support.platform import eventually

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
probe_handlers = bound(ProbeSettings())


def reminder_event(seq: int = 1, **extra) -> CloudEvent:
    event = ReminderSent(reminder_id=f"rem-{seq}", store_id="store-1", vin="LSVAU2180N2183294",
                         kind="first_maintenance", channel="sms", sent_at=NOW, seq=seq, **extra)
    return CloudEvent.wrap(event, subject="vehicle-001", store_id="store-1", time=NOW)


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


async def applications(db: Database) -> list[Applied]:
    async with db.transaction() as session:
        return list((await session.exec(select(Applied))).all())


async def inbox(db: Database) -> list[InboxEvent]:
    async with db.transaction() as session:
        return list((await session.exec(select(InboxEvent))).all())


async def test_the_same_event_twice_has_one_effect(db):
    envelope = reminder_event()

    first = await apply_event(db, probe_handlers, envelope, "crm.events")
    second = await apply_event(db, probe_handlers, CloudEvent.from_json(envelope.to_json()), "crm.events")

    assert (first, second) == (Outcome.APPLIED, Outcome.DUPLICATE)
    assert [(a.event_id, a.seq) for a in await applications(db)] == [(envelope.id, 1)]
    (seen,) = await inbox(db)
    assert (seen.event_id, seen.event_type, seen.source_topic) == (envelope.id, "crm.reminder.sent", "crm.events")


async def test_a_batch_applies_each_event_once_even_when_one_arrives_twice_in_it(db):
    already = reminder_event(0)
    await apply_event(db, probe_handlers, already, "crm.events")
    first, second = reminder_event(1), reminder_event(2)
    again = CloudEvent.from_json(first.to_json())

    outcomes = await apply_events(db, probe_handlers, [(e, "crm.events") for e in (already, first, again, second)])

    assert outcomes == [Outcome.DUPLICATE, Outcome.APPLIED, Outcome.DUPLICATE, Outcome.APPLIED]
    assert sorted(a.seq for a in await applications(db)) == [0, 1, 2]
    assert len(await inbox(db)) == 3


async def test_a_batch_with_a_failing_event_applies_nothing(db):
    with pytest.raises(ValueError, match="poison payload"):
        await apply_events(db, probe_handlers,
                           [(reminder_event(1), "crm.events"), (reminder_event(2, poison=True), "")])
    assert await inbox(db) == [] and await applications(db) == []


async def test_distinct_events_are_each_applied(db):
    for seq in range(3):
        assert await apply_event(db, probe_handlers, reminder_event(seq)) == Outcome.APPLIED

    assert sorted(a.seq for a in await applications(db)) == [0, 1, 2]


async def test_a_failing_handler_leaves_no_inbox_record_so_a_retry_applies_the_event(db, monkeypatch):
    envelope = reminder_event(poison=True)

    with pytest.raises(ValueError, match="poison payload"):
        await apply_event(db, probe_handlers, envelope)
    assert await inbox(db) == [] and await applications(db) == []

    monkeypatch.setenv("PROBE_FIX_DEPLOYED", "1")
    assert await apply_event(db, probe_handlers, envelope) == Outcome.APPLIED
    assert len(await applications(db)) == 1


async def test_an_event_whose_payload_does_not_fit_its_model_is_poison_and_writes_nothing(db):
    envelope = reminder_event()
    envelope.data.pop("vin")

    with pytest.raises(PoisonEvent, match="vin"):
        await apply_event(db, probe_handlers, envelope)
    assert await inbox(db) == [] and await applications(db) == []


async def test_an_event_this_service_does_not_handle_is_ignored_without_a_trace(db):
    assert await apply_event(db, EventHandlers(), reminder_event()) == Outcome.IGNORED
    assert await inbox(db) == []


async def test_on_postgresql_two_concurrent_deliveries_of_one_event_apply_it_once(database_url):
    """Two consumers (e.g. during a rebalance) hold the same event at the same moment."""
    first_db, second_db = Database(database_url), Database(database_url)
    entered, release = asyncio.Event(), asyncio.Event()
    calls = 0
    handlers = EventHandlers(context=probe_handlers.context)

    @handlers.on("crm.reminder.sent")
    async def slow_first(session, event, envelope, ctx):
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            await release.wait()  # the first delivery is mid-transaction...
        await probe_handlers.handlers["crm.reminder.sent"](session, event, envelope, ctx)

    envelope = reminder_event()
    try:
        first = asyncio.create_task(apply_event(first_db, handlers, envelope))
        await asyncio.wait_for(entered.wait(), 10)
        second = asyncio.create_task(apply_event(second_db, handlers, CloudEvent.from_json(envelope.to_json())))

        async def second_is_blocked_or_done():
            # ...while the second waits on the first's inbox row (or, were it not to, finishes).
            if second.done():
                return True
            async with first_db.engine.connect() as conn:
                waiting = await conn.scalar(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"))
            return waiting > 0

        await eventually(second_is_blocked_or_done, timeout=10)
        release.set()
        outcomes = await asyncio.gather(first, second)
    finally:
        release.set()
        await first_db.dispose()
        await second_db.dispose()

    db = Database(database_url)
    try:
        assert sorted(outcomes) == sorted([Outcome.APPLIED, Outcome.DUPLICATE])
        assert len(await applications(db)) == 1 and len(await inbox(db)) == 1
    finally:
        await db.dispose()


async def test_every_handler_is_given_the_clock_and_settings_its_handlers_are_bound_to(db):
    seen: list[HandlerContext] = []
    handlers = EventHandlers()

    @handlers.on("crm.reminder.sent")
    async def note(session, event, envelope, ctx):
        seen.append(ctx)

    context = HandlerContext(clock=ManualClock(NOW), settings=ProbeSettings())
    with pytest.raises(RuntimeError, match="no clock and settings"):
        await apply_event(db, handlers, reminder_event(1))
    assert await apply_event(db, handlers.bound(context), reminder_event(2)) == Outcome.APPLIED
    assert await apply_events(db, handlers.bound(context), [(reminder_event(3), "crm.events")]) == [Outcome.APPLIED]

    assert seen == [context, context]
    assert [row.event_type for row in await inbox(db)] == ["crm.reminder.sent"] * 2
