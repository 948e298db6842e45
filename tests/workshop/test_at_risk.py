"""Orders at risk of missing their promised time: flagged while there is still time, from
the flat-rate hours left and the assigned technicians' queues, on the store's working day
(08:30 to 18:00 in Shanghai, the default)."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.workshop.board.promise import QueuedJob, WorkingDay, lanes, working_hours
from tests.workshop.factories import approved, labor, promise_moved

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = WorkingDay(time(8, 30), time(18, 0), SHANGHAI)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_working_time_left_counts_only_the_working_day_in_the_stores_time_zone():
    assert working_hours(_local(2, 9), _local(2, 14, 30), DAY) == Decimal("5.50")
    # 16:00 to 18:00 today, then 08:30 to 10:00 tomorrow.
    assert working_hours(_local(2, 16), _local(3, 10), DAY) == Decimal("3.50")
    # From the evening to the next morning's opening: none.
    assert working_hours(_local(2, 19), _local(3, 8, 30), DAY) == Decimal("0.00")
    assert working_hours(_local(3, 10), _local(2, 16), DAY) == Decimal("0.00")


def test_a_technician_reaches_an_order_after_what_was_started_or_assigned_to_them_before_it():
    at = _local(2, 9)
    queue = [
        QueuedJob("j1", "other", "li", Decimal("3"), "assigned", at + timedelta(minutes=30)),  # started below
        QueuedJob("j2", "later", "li", Decimal("4"), "assigned", at + timedelta(hours=2)),  # behind ours
        QueuedJob("j3", "mine", "li", Decimal("2"), "assigned", at + timedelta(hours=1)),
        QueuedJob("j4", "mine", None, Decimal("1.5"), "pending", None),
        QueuedJob("j5", "busy", "li", Decimal("1"), "paused", at + timedelta(hours=5)),  # started: first
        QueuedJob("j6", "done", "li", Decimal("8"), "completed", at),  # finished: no load
    ]
    # Li: 3 (assigned before ours) + 1 (started) ahead, then our 2; the unassigned job is its own lane.
    assert lanes("mine", queue) == (Decimal("3.5"), Decimal("4"), Decimal("6"))


async def _act(shop, job_id: str, action: str, body: dict | None = None) -> None:
    r = await shop.manager.post(f"/v1/jobs/{job_id}/{action}", json=body)
    assert r.status_code == 200, r.text


async def _promise(shop, order_id: str) -> dict | None:
    r = await shop.caller("service_advisor").get(f"/v1/repair-orders/{order_id}")
    assert r.status_code == 200, r.text
    return r.json()["promise"]


async def _board_entry(shop, order_id: str) -> tuple[dict, dict]:
    r = await shop.caller("service_manager").get("/v1/work-in-progress")
    assert r.status_code == 200, r.text
    board = r.json()
    return board, next(o for o in board["orders"] if o["id"] == order_id)


async def test_an_order_that_will_miss_its_promised_time_is_flagged_before_it_does(shop):
    shop.clock.set(_local(2, 9))
    li = await shop.technician("Li Wei", ("brakes",))
    # Another car's 3-hour brake job is Li's first; ours (2 hours) is promised for 14:30.
    first = approved(shop.store_id, [labor("BRK-0210", flat_rate_hours="3.0")], approved_at=shop.clock.now())
    ours = approved(shop.store_id, [labor("BRK-0210", flat_rate_hours="2.0")], approved_at=shop.clock.now(),
                    promised_at=_local(2, 14, 30))
    await shop.deliver(first)
    await shop.deliver(ours)
    first_job = (await shop.jobs_of(first.subject))[0]["id"]
    our_job = (await shop.jobs_of(ours.subject))[0]["id"]
    await _act(shop, first_job, "assign", {"technician_id": li["id"]})
    shop.clock.advance(minutes=5)
    await _act(shop, our_job, "assign", {"technician_id": li["id"]})

    # 09:05: 3 + 2 hours of work, 5 h 25 min of the working day left: it fits.
    promise = await _promise(shop, ours.subject)
    assert promise["work_left_hours"] == "2.00" and promise["queued_before_hours"] == "3.00"
    assert promise["hours_needed"] == "5.00" and promise["hours_left"] == "5.42"
    assert promise["at_risk"] is False and promise["late"] is False

    # Li starts the other car. At 10:00 the same work has 4.5 hours left: ours is at risk,
    # four and a half hours before its promise, on the board and on the order.
    await _act(shop, first_job, "start")
    shop.clock.set(_local(2, 10))
    promise = await _promise(shop, ours.subject)
    assert promise["at_risk"] is True and promise["late"] is False
    assert promise["hours_needed"] == "5.00" and promise["hours_left"] == "4.50"
    board, entry = await _board_entry(shop, ours.subject)
    assert entry["promise"]["at_risk"] is True and board["at_risk"] == 1 and board["late"] == 0
    _, other = await _board_entry(shop, first.subject)
    assert other["promise"] is None  # nothing was promised for it
    listed = (await shop.manager.get("/v1/repair-orders", params={"status": "approved"})).json()["items"]
    assert [o["promise"]["at_risk"] for o in listed if o["id"] == ours.subject] == [True]

    # And so it goes: the other car takes until 13:00, ours starts then and is not done by 14:30.
    shop.clock.set(_local(2, 13))
    await _act(shop, first_job, "complete", {"notes": ""})
    await _act(shop, our_job, "start")
    promise = await _promise(shop, ours.subject)
    # Nothing ahead of it any more, but 2 hours of work and 1.5 left: still at risk, still before the promise.
    assert promise["queued_before_hours"] == "0.00" and promise["hours_left"] == "1.50"
    assert promise["at_risk"] is True
    shop.clock.set(_local(2, 14, 30))
    promise = await _promise(shop, ours.subject)
    assert promise["late"] is True and promise["at_risk"] is False
    _, entry = await _board_entry(shop, ours.subject)
    assert entry["promise"]["late"] is True
    shop.clock.set(_local(2, 15))
    await _act(shop, our_job, "complete", {"notes": ""})
    await _act(shop, our_job, "qc", {"result": "pass", "inspector": "Foreman Qian", "notes": ""})
    r = await shop.manager.get(f"/v1/repair-orders/{ours.subject}")
    assert r.json()["status"] == "ready" and r.json()["ready_at"] > r.json()["promised_at"]
    assert r.json()["promise"] is None  # ready: nothing left to risk


async def test_an_order_with_time_enough_is_not_flagged_and_one_without_a_promise_has_no_outlook(shop):
    shop.clock.set(_local(2, 16))
    li = await shop.technician("Li Wei", ("brakes",))
    # 3 hours of work by tomorrow 12:00: 2 hours today and 3.5 tomorrow morning.
    ours = approved(shop.store_id, [labor("BRK-0210", flat_rate_hours="3.0")], approved_at=shop.clock.now(),
                    promised_at=_local(3, 12))
    unpromised = approved(shop.store_id, [labor("BRK-0210")], approved_at=shop.clock.now())
    await shop.deliver(ours)
    await shop.deliver(unpromised)
    await _act(shop, (await shop.jobs_of(ours.subject))[0]["id"], "assign", {"technician_id": li["id"]})
    promise = await _promise(shop, ours.subject)
    assert promise["hours_left"] == "5.50" and promise["hours_needed"] == "3.00" and promise["at_risk"] is False
    assert await _promise(shop, unpromised.subject) is None


async def test_a_supplement_approval_moves_the_promise_and_one_without_a_promise_keeps_it(shop):
    shop.clock.set(_local(2, 9))
    order = approved(shop.store_id, [labor("BRK-0210")], approved_at=shop.clock.now(), promised_at=_local(2, 12))
    await shop.deliver(order)
    later = approved(shop.store_id, [labor("MNT-0100", supplement=True)], repair_order_id=order.subject,
                     approved_at=shop.clock.now(), supplement=True, promised_at=_local(2, 17))
    await shop.deliver(later)
    assert (await _promise(shop, order.subject))["promised_at"] == _local(2, 17).isoformat().replace("+00:00", "Z")
    silent = approved(shop.store_id, [labor("MNT-0200", supplement=True)], repair_order_id=order.subject,
                      approved_at=shop.clock.now(), supplement=True)
    await shop.deliver(silent)
    assert (await _promise(shop, order.subject))["hours_left"] == "8.00"  # 09:00 to 17:00, still


async def test_a_promise_moved_by_reception_is_the_one_measured_against(shop):
    shop.clock.set(_local(2, 9))
    order = approved(shop.store_id, [labor("BRK-0210", flat_rate_hours="4.0")], approved_at=shop.clock.now(),
                     promised_at=_local(2, 11))
    await shop.deliver(order)
    assert (await _promise(shop, order.subject))["at_risk"] is True  # 4 hours of work, 2 left
    moved = promise_moved(shop.store_id, order.subject, promised_at=_local(3, 10), moved_at=shop.clock.now())
    await shop.deliver(moved)
    await shop.deliver(moved.model_copy(update={"id": "again"}))
    promise = await _promise(shop, order.subject)
    # 09:00 to 18:00 today and 08:30 to 10:00 tomorrow.
    assert promise["hours_left"] == "10.50" and promise["at_risk"] is False
