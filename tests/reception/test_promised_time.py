"""On-time delivery (issue 18): the promised time is set at approval within a bounded
range (a default when the advisor names none), moved only with a reason that is kept and
announced for the customer, and the ready and handover times are measured against it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.reception import factories

# The conftest's clock starts on Tuesday 1 December 2026, 09:00 in Shanghai (01:00 UTC).
SIX_PM_SHANGHAI = "2026-12-01T10:00:00Z"


def at(hours: float) -> datetime:
    return datetime(2026, 12, 1, 1, 0, tzinfo=UTC) + timedelta(hours=hours)


async def estimated(reception, lines: list[dict] | None = None, **estimate) -> dict:
    order = await reception.open_order()
    for line in lines or [factories.labour()]:
        order = await reception.add_line(order, line)
    return await reception.act(order, "estimate", estimate or None)


async def approve(reception, order: dict, **body):
    return await reception.advisor.post(f"/v1/repair-orders/{order['id']}/approve",
                                        json={"approved_by": "Zhang Wei", "channel": "phone", **body})


async def move(reception, order: dict, promised_at: datetime, reason: str | None = "parts arrive tomorrow", **kw):
    body = {"promised_at": promised_at.isoformat()} | ({"reason": reason} if reason is not None else {})
    return await reception.advisor.post(f"/v1/repair-orders/{order['id']}/promise", json=body, **kw)


async def test_the_promise_given_at_approval_is_kept_on_the_order_and_in_the_event(reception):
    order = await estimated(reception)
    approved = await approve(reception, order, promised_at=at(5).isoformat())
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["promised_at"] == body["first_promised_at"] == "2026-12-01T06:00:00Z"
    assert body["promise_moves"] == 0 and body["ready_on_time"] is None
    assert body["history"][-1]["detail"]["promised_at"] == "2026-12-01T06:00:00+00:00"
    (event,) = await reception.outbox("reception.repair_order.approved")
    assert event["data"]["promised_at"] == "2026-12-01T06:00:00Z"


async def test_a_promise_in_the_past_or_beyond_sixty_days_is_refused_naming_the_field(reception):
    order = await estimated(reception)
    for promised in (at(-1), at(0), at(24 * 60 + 1)):
        refused = await approve(reception, order, promised_at=promised.isoformat())
        assert refused.status_code == 422, promised
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["field"] == "promised_at"
    naive = await approve(reception, order, promised_at="2026-12-01T18:00:00")
    assert naive.status_code == 422
    assert (await reception.get_order(order))["status"] == "awaiting_approval"
    assert (await approve(reception, order, promised_at=at(24 * 60).isoformat())).status_code == 200


async def test_without_a_time_the_promise_is_the_estimates_while_it_is_ahead(reception):
    order = await estimated(reception, promised_at=at(3).isoformat())
    reception.clock.advance(hours=1)
    approved = (await approve(reception, order)).json()
    assert approved["promised_at"] == "2026-12-01T04:00:00Z"


async def test_without_a_time_the_promise_is_closing_time_of_the_day_the_flat_hours_are_done(reception):
    # 09:00 in Shanghai, brake pads (1.0 flat hours): done by ten, promised for six tonight.
    today = (await approve(reception, await estimated(reception))).json()
    assert today["promised_at"] == SIX_PM_SHANGHAI

    # An estimate whose promise has passed by the customer's yes does not bind.
    stale = await estimated(reception, promised_at=at(1).isoformat())
    reception.clock.advance(hours=2)
    assert (await approve(reception, stale)).json()["promised_at"] == SIX_PM_SHANGHAI

    # At 16:00 the turbocharger (5.5 h) takes the last two hours of today and 3.5 of tomorrow.
    reception.clock.set(at(7))
    turbo = await estimated(reception, [factories.labour("ENG-0810"), factories.part("XB-18900-TC1")])
    manager = reception.caller("service_manager")
    assert (await manager.post(f"/v1/repair-orders/{turbo['id']}/sign-off")).status_code == 200
    assert (await approve(reception, turbo)).json()["promised_at"] == "2026-12-02T10:00:00Z"

    # After closing time, even an hour's work is promised for tomorrow evening.
    reception.clock.advance(hours=3)  # 19:00 in Shanghai
    evening = (await approve(reception, await estimated(reception))).json()
    assert evening["promised_at"] == "2026-12-02T10:00:00Z"


async def test_moving_the_promise_needs_a_reason_keeps_the_history_and_tells_the_customer(reception):
    order = (await approve(reception, await estimated(reception), promised_at=at(5).isoformat())).json()
    reception.clock.advance(hours=1)

    no_reason = await move(reception, order, at(29), reason=None)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    past = await move(reception, order, at(0.5))
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "promised_at"
    same = await move(reception, order, at(5))
    assert same.status_code == 422 and same.json()["errors"][0]["field"] == "promised_at"

    moved = await move(reception, order, at(29), reason="刹车盘明天到货 brake discs arrive tomorrow")
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["promised_at"] == "2026-12-02T06:00:00Z"
    assert body["first_promised_at"] == "2026-12-01T06:00:00Z" and body["promise_moves"] == 1
    entry = body["history"][-1]
    assert entry["action"] == "move_promise" and entry["by"]["id"] == "advisor-li"
    assert entry["from_status"] == entry["to_status"] == "approved"
    assert entry["detail"] == {"previous_promised_at": "2026-12-01T06:00:00+00:00",
                               "promised_at": "2026-12-02T06:00:00+00:00",
                               "reason": "刹车盘明天到货 brake discs arrive tomorrow"}

    (event,) = await reception.outbox("reception.repair_order.promise_moved")
    assert event["subject"] == order["id"]
    data = event["data"]
    assert data["previous_promised_at"] == "2026-12-01T06:00:00Z" and data["promised_at"] == "2026-12-02T06:00:00Z"
    assert data["first_promised_at"] == "2026-12-01T06:00:00Z" and data["moves"] == 1
    assert data["reason"] == "刹车盘明天到货 brake discs arrive tomorrow" and data["moved_at"] == "2026-12-01T02:00:00Z"
    assert data["moved_by"]["id"] == "advisor-li"
    assert data["customer"]["phone"] == "13800138000" and data["number"] == order["number"]


async def test_the_promise_is_not_moved_before_approval_nor_once_the_car_is_ready(reception):
    waiting = await estimated(reception)
    assert (await move(reception, waiting, at(8))).status_code == 409
    ready = await reception.ready_order()
    refused = await move(reception, ready, at(30))
    assert refused.status_code == 409 and refused.json()["current_state"] == "ready"
    assert await reception.outbox("reception.repair_order.promise_moved") == []


async def test_a_supplements_approval_does_not_move_the_promise(reception):
    order = (await approve(reception, await estimated(reception))).json()
    order = await reception.add_line(order, factories.part())
    refused = await approve(reception, order, promised_at=at(30).isoformat())
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "promised_at"
    assert (await approve(reception, order)).json()["promised_at"] == SIX_PM_SHANGHAI


async def test_ready_and_handover_are_measured_against_the_promise(reception):
    order = (await approve(reception, await estimated(reception), promised_at=at(4).isoformat())).json()
    reception.clock.advance(hours=1)
    await reception.deliver(factories.work_started(order, reception.clock.now()))
    reception.clock.advance(hours=2)  # ready at 12:00, an hour before the promise
    await reception.deliver(factories.ready(order, reception.clock.now()))
    ready = await reception.get_order(order)
    assert ready["ready_on_time"] is True and ready["delivered_on_time"] is None

    settled = await reception.settle(ready)
    reception.clock.advance(hours=3)  # the customer comes at 16:00, after the promise
    delivered = await reception.act(settled, "deliver", {"explained": True})
    assert delivered["ready_on_time"] is True and delivered["delivered_on_time"] is False

    (event,) = await reception.outbox("reception.repair_order.delivered")
    data = event["data"]
    assert data["promised_at"] == data["first_promised_at"] == "2026-12-01T05:00:00Z"
    assert data["ready_at"] == "2026-12-01T04:00:00Z" and data["delivered_at"] == "2026-12-01T07:00:00Z"
    assert data["ready_on_time"] is True and data["delivered_on_time"] is False and data["promise_moves"] == 0


async def test_a_car_ready_after_its_promise_is_late_even_when_handed_over_at_once(reception):
    order = (await approve(reception, await estimated(reception), promised_at=at(2).isoformat())).json()
    reception.clock.advance(hours=3)
    await reception.deliver(factories.ready(order, reception.clock.now()))
    late = await reception.get_order(order)
    assert late["ready_on_time"] is False
    delivered = await reception.act(await reception.settle(late), "deliver", {"explained": True})
    assert delivered["ready_on_time"] is False and delivered["delivered_on_time"] is False
    (event,) = await reception.outbox("reception.repair_order.delivered")
    assert event["data"]["ready_on_time"] is False
