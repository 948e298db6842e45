"""The work-in-progress board: every open order of the store by state and age, waiting
parts, waiting approval, in quality check, ageing buckets and the average time in shop,
from the workshop's own copies of reception's orders."""
from __future__ import annotations

from datetime import timedelta

from tests.workshop.factories import approved, cancelled, delivered, labor, opened, part

PADS = "XB-45022-F10"


async def _act(shop, job_id: str, action: str, body: dict | None = None) -> None:
    r = await shop.manager.post(f"/v1/jobs/{job_id}/{action}", json=body)
    assert r.status_code == 200, r.text


async def _work_through(shop, order_id: str, technician_id: str, *, check: bool) -> None:
    job = (await shop.jobs_of(order_id))[0]["id"]
    await _act(shop, job, "assign", {"technician_id": technician_id})
    await _act(shop, job, "start")
    await _act(shop, job, "complete", {"notes": ""})
    if check:
        await _act(shop, job, "qc", {"result": "pass", "inspector": "Foreman Qian", "notes": ""})


async def test_the_board_shows_every_open_order_by_state_and_age_and_the_average_time_in_shop(shop):
    now = shop.clock.now()
    li = await shop.technician("Li Wei", ("brakes",))

    # Opened eight days ago and still waiting for the customer's yes.
    waiting = opened(shop.store_id, opened_at=now - timedelta(days=8))
    await shop.deliver(waiting)
    # Four days in, its pads on backorder (none in stock).
    short = opened(shop.store_id, opened_at=now - timedelta(days=4))
    await shop.deliver(short)
    await shop.deliver(approved(shop.store_id, [part(PADS, "2")], repair_order_id=short.subject,
                                approved_at=now - timedelta(days=4)))
    # In exactly one day (a bucket holds its lower bound), its job done and waiting for its check.
    checking = opened(shop.store_id, opened_at=now - timedelta(days=1))
    await shop.deliver(checking)
    await shop.deliver(approved(shop.store_id, [labor("BRK-0210")], repair_order_id=checking.subject,
                                approved_at=now - timedelta(hours=23)))
    await _work_through(shop, checking.subject, li["id"], check=False)
    # First seen approved three hours ago, and ready.
    ready = approved(shop.store_id, [labor("BRK-0210")], approved_at=now - timedelta(hours=3))
    await shop.deliver(ready)
    await _work_through(shop, ready.subject, li["id"], check=True)

    # Gone: delivered after 48 and 24 hours (counted), 40 days ago (not), cancelled, another store's.
    for in_at, out_at, with_opening in ((5, 3, True), (10, 9, False), (45, 40, True)):
        order_id = None
        if with_opening:
            gone = opened(shop.store_id, opened_at=now - timedelta(days=in_at))
            await shop.deliver(gone)
            order_id = gone.subject
        lines = [labor("BRK-0210")]
        approval = approved(shop.store_id, lines, repair_order_id=order_id, approved_at=now - timedelta(days=in_at))
        await shop.deliver(approval)
        await shop.deliver(delivered(shop.store_id, approval.subject, lines,
                                     delivered_at=now - timedelta(days=out_at)))
    dropped = approved(shop.store_id, [labor("BRK-0210")], approved_at=now - timedelta(days=2))
    await shop.deliver(dropped)
    await shop.deliver(cancelled(shop.store_id, dropped.subject, when=now - timedelta(days=1)))
    await shop.deliver(opened(shop.other_store_id, opened_at=now - timedelta(days=2)))

    r = await shop.caller("service_manager").get("/v1/work-in-progress")
    assert r.status_code == 200, r.text
    board = r.json()
    assert board["store_id"] == shop.store_id and board["open_orders"] == 4
    assert [o["id"] for o in board["orders"]] == [waiting.subject, short.subject, checking.subject, ready.subject]
    assert {s["state"]: s["count"] for s in board["by_state"]} == {
        "awaiting_approval": 1, "approved": 1, "in_progress": 1, "ready": 1}
    assert {b["bucket"]: b["count"] for b in board["ageing"]} == {
        "under_1_day": 1, "1_to_3_days": 1, "3_to_7_days": 1, "over_7_days": 1}
    assert board["ageing"][0]["label"] == "1天以内 under 1 day"
    assert (board["waiting_approval"], board["waiting_parts"], board["in_qc"]) == (1, 1, 1)
    rows = {o["id"]: o for o in board["orders"]}
    assert rows[short.subject]["waiting_parts"] is True and rows[short.subject]["parts_short"] == 2
    assert rows[checking.subject]["in_qc"] == 1 and rows[checking.subject]["age_bucket"] == "1_to_3_days"
    assert rows[checking.subject]["age_hours"] == "24.00"
    assert rows[ready.subject]["jobs"] == rows[ready.subject]["jobs_done"] == 1
    assert rows[waiting.subject]["waiting_approval"] is True and rows[waiting.subject]["jobs"] == 0
    # Open now: (192 + 96 + 24 + 3) / 4 hours. Delivered in the last 30 days: (48 + 24) / 2.
    assert board["average_age_hours"] == "78.75"
    assert board["average_time_in_shop_hours"] == "36.00" and board["delivered_counted"] == 2

    # The customer says yes: the order moves on, and keeps the day it came in.
    await shop.deliver(approved(shop.store_id, [labor("BRK-0210")], repair_order_id=waiting.subject,
                                approved_at=now))
    board = (await shop.caller("service_advisor").get("/v1/work-in-progress")).json()
    row = next(o for o in board["orders"] if o["id"] == waiting.subject)
    assert row["status"] == "approved" and row["age_bucket"] == "over_7_days" and board["waiting_approval"] == 0


async def test_the_board_is_the_stores_own_and_for_managers_advisors_and_hq(shop):
    order = opened(shop.store_id, opened_at=shop.clock.now())
    await shop.deliver(order)
    for role in ("technician", "parts_clerk", "crm_agent", "cashier"):
        r = await shop.caller(role).get("/v1/work-in-progress")
        assert r.status_code == 403, role
    for role in ("store_manager", "service_manager", "service_advisor"):
        assert (await shop.caller(role).get("/v1/work-in-progress")).json()["open_orders"] == 1, role
    assert (await shop.caller("service_manager", store_id=shop.other_store_id).get(
        "/v1/work-in-progress")).json()["open_orders"] == 0
    r = await shop.caller("service_manager").get("/v1/work-in-progress", params={"store_id": shop.other_store_id})
    assert r.status_code == 404
    r = await shop.caller("hq_analyst").get("/v1/work-in-progress")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "store_id"
    r = await shop.caller("hq_analyst").get("/v1/work-in-progress", params={"store_id": shop.store_id})
    assert r.status_code == 200 and r.json()["open_orders"] == 1


async def test_an_opening_delivered_twice_is_kept_once_and_waits_for_approval(shop):
    order = opened(shop.store_id, opened_at=shop.clock.now())
    await shop.deliver(order)
    await shop.deliver(order.model_copy(update={"id": "again"}))
    r = await shop.manager.get("/v1/repair-orders", params={"status": "awaiting_approval"})
    assert [o["id"] for o in r.json()["items"]] == [order.subject]
    assert r.json()["items"][0]["approved_at"] is None
    # Nothing may be issued to it over the counter before it is approved.
    await shop.receive(PADS, 1)
    r = await shop.clerk.post("/v1/stock/issues", json={"part_no": PADS, "qty": 1, "repair_order_id": order.subject})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "repair_order_id"
    # Cancelled before approval: off the board.
    await shop.deliver(cancelled(shop.store_id, order.subject, when=shop.clock.now()))
    assert (await shop.manager.get("/v1/work-in-progress")).json()["open_orders"] == 0
