"""Workshop's events move the order; each handler given the same event twice has one effect."""
import pytest

from services.common.consumer import Outcome, PoisonEvent
from tests.reception import factories


def _changes(order: dict, to: str) -> list[dict]:
    return [h for h in order["history"] if h["to_status"] == to]


async def test_work_started_moves_an_approved_order_to_in_progress_once(reception):
    order = await reception.approved_order()
    event = factories.work_started(order, reception.clock.now())
    assert await reception.deliver(event) == Outcome.APPLIED
    assert await reception.deliver(event) == Outcome.DUPLICATE
    after = await reception.get_order(order)
    assert after["status"] == "in_progress" and len(_changes(after, "in_progress")) == 1
    assert after["work_started_at"] == event.data["started_at"].replace("+00:00", "Z")
    assert after["version"] == order["version"] + 1


async def test_ready_moves_the_order_to_ready_once(reception):
    order = await reception.approved_order()
    await reception.deliver(factories.work_started(order, reception.clock.now()))
    reception.clock.advance(hours=1)
    event = factories.ready(order, reception.clock.now())
    assert await reception.deliver(event) == Outcome.APPLIED
    assert await reception.deliver(event) == Outcome.DUPLICATE
    after = await reception.get_order(order)
    assert after["status"] == "ready" and len(_changes(after, "ready")) == 1


async def test_the_same_fact_sent_again_under_a_new_id_changes_nothing(reception):
    order = await reception.ready_order()
    assert await reception.deliver(factories.work_started(order, reception.clock.now())) == Outcome.APPLIED
    assert await reception.deliver(factories.ready(order, reception.clock.now())) == Outcome.APPLIED
    after = await reception.get_order(order)
    assert (after["status"], after["version"], after["history"]) == ("ready", order["version"], order["history"])


async def test_work_on_a_cancelled_order_does_not_revive_it(reception):
    order = await reception.act(await reception.approved_order(), "cancel")
    await reception.deliver(factories.work_started(order, reception.clock.now()))
    await reception.deliver(factories.ready(order, reception.clock.now()))
    assert (await reception.get_order(order))["status"] == "cancelled"


async def test_ready_without_a_start_event_still_readies_an_approved_order(reception):
    order = await reception.approved_order()
    await reception.deliver(factories.ready(order, reception.clock.now()))
    after = await reception.get_order(order)
    assert after["status"] == "ready" and after["history"][-1]["from_status"] == "approved"


async def test_an_event_for_an_order_reception_never_opened_is_poison(reception):
    with pytest.raises(PoisonEvent):
        await reception.deliver(factories.work_started({"id": "no-such-order", "store_id": reception.store_id},
                                                       reception.clock.now()))
    order = await reception.approved_order()
    with pytest.raises(PoisonEvent):
        await reception.deliver(factories.ready({**order, "store_id": reception.other_store_id}, reception.clock.now()))
    assert (await reception.get_order(order))["status"] == "approved"


async def test_workshop_events_write_no_reception_event(reception):
    order = await reception.approved_order()
    before = len(await reception.outbox())
    await reception.deliver(factories.work_started(order, reception.clock.now()))
    await reception.deliver(factories.ready(order, reception.clock.now()))
    assert len(await reception.outbox()) == before


async def test_store_events_delivered_twice_keep_one_store(reception):
    from sqlmodel import select

    from services.common.tables import KnownStore
    from tests.support.events import store_created

    event = store_created(code="GZ-TH-01")
    assert await reception.deliver(event) == Outcome.APPLIED
    assert await reception.deliver(event) == Outcome.DUPLICATE
    async with reception.app.state.db.transaction() as session:
        codes = (await session.exec(select(KnownStore.code))).all()
    assert sorted(codes) == ["BJ-CY-01", "GZ-TH-01", "SH-PD-01"]
