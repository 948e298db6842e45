"""Every event the workshop handles, given twice, has one effect: once by the inbox (same
event id), and once more by the workshop's own keys (the same lines under a new id)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.common.consumer import Outcome, PoisonEvent
from services.common.tables import KnownStore
from services.workshop.comebacks.models import Comeback, DeliveredOperation
from services.workshop.jobs.models import Job
from services.workshop.parts.models import Reservation, StockMovement
from tests.support.events import envelope_for, store_created
from tests.workshop.factories import approved, cancelled, delivered, labor, outbox, part

VIN = "LSVAB4BR1NN000321"


async def _count(shop, model) -> int:
    async with shop.app.state.db.transaction() as session:
        return (await session.exec(sa.select(sa.func.count()).select_from(model))).one()[0]


async def test_approval_twice_makes_one_job_one_reservation_and_one_set_of_events(shop):
    await shop.receive("XB-45022-F10", 5)
    env = approved(shop.store_id, [labor("BRK-0210"), part("XB-45022-F10", "2")], approved_at=shop.clock.now())
    assert await shop.deliver(env) == Outcome.APPLIED
    assert await shop.deliver(env) == Outcome.DUPLICATE
    # Reception re-sending the same approval as a new event: the lines are already known.
    resent = envelope_for(env.payload(), subject=env.subject, store_id=shop.store_id)
    assert resent.id != env.id
    assert await shop.deliver(resent) == Outcome.APPLIED

    assert await _count(shop, Job) == 1
    assert await _count(shop, Reservation) == 1
    assert (await shop.stock("XB-45022-F10"))["reserved"] == 2
    assert len(await outbox(shop.app, "workshop.job.created")) == 1


async def test_supplement_adds_only_its_new_lines(shop):
    first_line = labor("BRK-0210")
    env = approved(shop.store_id, [first_line], approved_at=shop.clock.now())
    await shop.deliver(env)
    supplement = approved(shop.store_id, [labor("BRK-0310", supplement=True)], repair_order_id=env.subject,
                          supplement=True, approved_at=shop.clock.now())
    await shop.deliver(supplement)
    await shop.deliver(supplement)
    jobs = await shop.jobs_of(env.subject)
    assert sorted(j["op_code"] for j in jobs) == ["BRK-0210", "BRK-0310"]
    assert [j["supplement"] for j in sorted(jobs, key=lambda j: j["op_code"])] == [False, True]


async def test_cancellation_twice_releases_once(shop):
    await shop.receive("XB-45022-F10", 2)
    env = approved(shop.store_id, [labor("BRK-0210"), part("XB-45022-F10", "2")], approved_at=shop.clock.now())
    await shop.deliver(env)
    cancel = cancelled(shop.store_id, env.subject)
    assert await shop.deliver(cancel) == Outcome.APPLIED
    assert await shop.deliver(cancel) == Outcome.DUPLICATE
    assert await shop.deliver(cancelled(shop.store_id, env.subject)) == Outcome.APPLIED  # a second, distinct event

    async with shop.app.state.db.transaction() as session:
        releases = (await session.exec(sa.select(StockMovement).where(StockMovement.kind == "release"))).all()
    assert len(releases) == 1
    stock = await shop.stock("XB-45022-F10")
    assert (stock["on_hand"], stock["reserved"]) == (2, 0)
    assert [j["status"] for j in await shop.jobs_of(env.subject)] == ["cancelled"]


async def test_delivery_twice_is_kept_once_and_detects_one_comeback(shop):
    line = labor("BRK-0210")
    env = approved(shop.store_id, [line], vin=VIN, approved_at=shop.clock.now())
    await shop.deliver(env)
    done = delivered(shop.store_id, env.subject, [line], vin=VIN, delivered_at=shop.clock.now())
    assert await shop.deliver(done) == Outcome.APPLIED
    assert await shop.deliver(done) == Outcome.DUPLICATE
    assert await shop.deliver(delivered(shop.store_id, env.subject, [line], vin=VIN,
                                        delivered_at=shop.clock.now())) == Outcome.APPLIED
    assert await _count(shop, DeliveredOperation) == 1

    shop.clock.advance(timedelta(days=5))
    back = approved(shop.store_id, [labor("BRK-0210")], vin=VIN, approved_at=shop.clock.now())
    await shop.deliver(back)
    await shop.deliver(back)
    await shop.deliver(envelope_for(back.payload(), subject=back.subject, store_id=shop.store_id))
    assert await _count(shop, Comeback) == 1
    assert len(await outbox(shop.app, "workshop.comeback.detected")) == 1
    assert (await shop.manager.get(f"/v1/repair-orders/{env.subject}")).json()["status"] == "delivered"


async def test_store_created_twice_is_kept_once(shop):
    env = store_created(code="GZ-TH-03")
    assert await shop.deliver(env) == Outcome.APPLIED
    assert await shop.deliver(env) == Outcome.DUPLICATE
    assert await _count(shop, KnownStore) == 3  # two from the fixture, and this one


async def test_an_approval_with_unreadable_hours_is_a_poison_event_and_writes_nothing(shop):
    bad = labor("CUSTOM-1", quantity="lots")  # not in the operation catalogue, so the quantity is the hours
    env = approved(shop.store_id, [labor("BRK-0210"), bad], approved_at=shop.clock.now())
    with pytest.raises(PoisonEvent):
        await shop.deliver(env)
    assert await _count(shop, Job) == 0
    assert await outbox(shop.app, "workshop.job.created") == []


async def test_an_operation_outside_the_catalogue_makes_a_job_any_technician_may_take(shop):
    env = approved(shop.store_id, [labor("CUSTOM-1", quantity="2.5")], approved_at=shop.clock.now())
    await shop.deliver(env)
    (job,) = await shop.jobs_of(env.subject)
    assert job["category"] is None and job["flat_rate_hours"] == "2.50"
    tech = await shop.technician(skills=("climate",))
    r = await shop.manager.post(f"/v1/jobs/{job['id']}/assign", json={"technician_id": tech["id"]})
    assert r.status_code == 200
