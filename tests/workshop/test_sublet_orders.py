"""Outsourced work (委外): a store's vendors, a sublet order from a repair order's sublet line
sent, returned, inspected (a failure goes back to the vendor) and invoiced, an invoice off
the agreed price held for the service manager, and the order's cost carrying the sublet
order's figure to the fen; the overdue list on a clock moved by hand; bad input named."""
from __future__ import annotations

from datetime import date, timedelta

from services.common.events.catalogue import catalogue
from services.workshop.sublets import policy
from tests.workshop.factories import approved, delivered, labor, outbox, put, sublet

TODAY = date(2026, 3, 2)  # the shop's clock starts at 09:00 on 2 March in Shanghai


async def _vendor(shop, name: str = "Huaxin Glass", specialties: tuple[str, ...] = ("glass",), **more) -> dict:
    r = await shop.manager.post("/v1/vendors", json={"name": name, "specialties": list(specialties),
                                                     "contact_name": "Chen Hua", "phone": "021-5888 1234", **more})
    assert r.status_code == 201, r.text
    return r.json()


async def _order_with(shop, *lines) -> str:
    order = approved(shop.store_id, list(lines), approved_at=shop.clock.now())
    await shop.deliver(order)
    return order.subject


async def _sublet_order(shop, order_id: str, line_id: str, vendor_id: str, *, agreed_price_fen: int = 35000,
                        promised_on: date = TODAY + timedelta(days=2), work: str = "replace the windscreen") -> dict:
    r = await shop.manager.post("/v1/sublet-orders", json={
        "repair_order_id": order_id, "line_id": line_id, "vendor_id": vendor_id, "work": work,
        "agreed_price_fen": agreed_price_fen, "promised_on": promised_on.isoformat()})
    assert r.status_code == 201, r.text
    return r.json()


async def _act(caller, sublet_order_id: str, action: str, body: dict | None = None, status: int = 200) -> dict:
    r = await caller.post(f"/v1/sublet-orders/{sublet_order_id}/{action}", json=body)
    assert r.status_code == status, r.text
    return r.json()


async def _cost(shop, order_id: str) -> dict:
    r = await shop.manager.get(f"/v1/repair-orders/{order_id}/cost")
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_sublet_order_sent_returned_reinspected_and_invoiced_off_price_reaches_the_cost_once_accepted(shop):
    glass = await _vendor(shop)
    windscreen, paint = sublet("windscreen replaced"), sublet("bumper repainted", amount_fen=30000)
    order_id = await _order_with(shop, windscreen, paint, labor("BRK-0210"))
    so = await _sublet_order(shop, order_id, windscreen.line_id, glass["id"])
    assert so["number"] == "SH-PD-01-SO-000001" and so["status"] == "draft" and so["vendor_name"] == "Huaxin Glass"
    # The paint line went out on no sublet order: the store records its bill by hand, as before.
    r = await put(shop.manager, f"/v1/repair-orders/{order_id}/sublets/{paint.line_id}", {"cost_fen": 12000})
    assert r.status_code == 200, r.text
    # The windscreen's cost is its sublet order's: keying one in beside it is refused.
    r = await put(shop.manager, f"/v1/repair-orders/{order_id}/sublets/{windscreen.line_id}", {"cost_fen": 1})
    assert r.status_code == 409 and r.json()["sublet_order_id"] == so["id"], r.text

    # Before the invoice, the agreed price stands for the cost: 35,000 + 12,000.
    cost = await _cost(shop, order_id)
    line = next(x for x in cost["lines"] if x["line_id"] == windscreen.line_id)
    assert (line["cost_fen"], line["cost_source"], line["sublet_order_id"]) == (35000, "agreed_price", so["id"])
    assert cost["sublet_cost_fen"] == 47000 and cost["complete"] is True

    sent = await _act(shop.manager, so["id"], "send")
    assert sent["status"] == "sent" and sent["sent_at"] is not None
    await _act(shop.manager, so["id"], "invoice", {"number": "HX-0001", "amount_fen": 35000}, status=409)
    shop.clock.advance(days=1)
    await _act(shop.manager, so["id"], "return", {"note": "fitted"})
    failed = await _act(shop.manager, so["id"], "inspection", {
        "result": "fail", "note": "wind noise at the top edge", "promised_on": (TODAY + timedelta(days=4)).isoformat()})
    # A failed inspection goes back to the vendor, with the new promise.
    assert failed["status"] == "sent" and failed["promised_on"] == "2026-03-06"
    assert [(i["result"], i["inspector"]) for i in failed["inspections"]] == [("fail", "manager-1")]
    shop.clock.advance(days=1)
    await _act(shop.manager, so["id"], "return")
    passed = await _act(shop.manager, so["id"], "inspection", {"result": "pass"})
    assert passed["status"] == "inspected" and [i["result"] for i in passed["inspections"]] == ["fail", "pass"]

    # The invoice says 380.00 against 350.00 agreed: 3,000 fen off, beyond max(1,000, 2 % of 35,000 = 700).
    held = await _act(shop.manager, so["id"], "invoice", {"number": "HX-0001", "amount_fen": 38000})
    assert (held["status"], held["difference_fen"], held["tolerance_fen"]) == ("invoice_held", 3000, 1000)
    assert held["cost_fen"] == 35000 and held["invoiced_at"] is None
    assert (await _cost(shop, order_id))["sublet_cost_fen"] == 47000  # held: not the cost yet
    # The advisor reads but does not decide; the service manager does.
    r = await shop.caller("service_advisor").post(f"/v1/sublet-orders/{so['id']}/invoice/accept")
    assert r.status_code == 403
    r = await shop.caller("hq_admin").post(f"/v1/sublet-orders/{so['id']}/invoice/accept")
    assert r.status_code == 403 and "service manager" in r.json()["detail"]  # the store's money, the store's call
    manager = shop.caller("service_manager", "service-manager-1")
    accepted = await _act(manager, so["id"], "invoice/accept", {"note": "extra moulding, agreed by phone"})
    assert (accepted["status"], accepted["cost_fen"], accepted["decided_by"]) == ("invoiced", 38000,
                                                                                  "service-manager-1")
    assert accepted["invoiced_at"] is not None

    # The order's cost: sublet 38,000 + 12,000 = 50,000, to the fen; the labour is not clocked yet.
    cost = await _cost(shop, order_id)
    by_line = {x["line_id"]: x for x in cost["lines"] if x["kind"] == "sublet"}
    assert (by_line[windscreen.line_id]["cost_fen"], by_line[windscreen.line_id]["cost_source"]) == (38000, "invoice")
    assert (by_line[paint.line_id]["cost_fen"], by_line[paint.line_id]["cost_source"]) == (12000, "recorded")
    assert (cost["sublet_cost_fen"], cost["total_cost_fen"]) == (50000, 50000)
    assert cost["by_pay_type"] == [{"pay_type": "customer", "parts_cost_fen": 0, "labor_cost_fen": 0,
                                    "sublet_cost_fen": 50000, "total_cost_fen": 50000}]

    # Delivered: the figure goes out for network's margin.
    await shop.deliver(delivered(shop.store_id, order_id, [windscreen, paint], delivered_at=shop.clock.now()))
    events = await outbox(shop.app, "workshop.order.costed", order_id)
    assert len(events) == 1 and events[0]["data"]["sublet_cost_fen"] == 50000
    assert {x["line_id"]: x["cost_fen"] for x in events[0]["data"]["lines"] if x["kind"] == "sublet"} == {
        windscreen.line_id: 38000, paint.line_id: 12000}


async def test_an_invoice_within_the_tolerance_is_matched_at_once_and_a_refused_one_awaits_a_corrected_one(shop):
    paint = await _vendor(shop, "Jiahe Paint", ("paint", "body"))
    line = sublet("door repainted", amount_fen=260000)
    order_id = await _order_with(shop, line)
    # Agreed 2,000.00: the tolerance is 2 %, 4,000 fen (more than the fixed 1,000).
    so = await _sublet_order(shop, order_id, line.line_id, paint["id"], agreed_price_fen=200000)
    for action in ("send", "return"):
        await _act(shop.manager, so["id"], action)
    await _act(shop.manager, so["id"], "inspection", {"result": "pass"})
    held = await _act(shop.manager, so["id"], "invoice", {"number": "JH-77", "amount_fen": 204001})
    assert held["status"] == "invoice_held"
    refused = await _act(shop.manager, so["id"], "invoice/refuse", {"reason": "the price agreed was 2,000.00"})
    assert (refused["status"], refused["invoice_number"], refused["decision_note"]) == (
        "inspected", None, "the price agreed was 2,000.00")
    matched = await _act(shop.manager, so["id"], "invoice", {"number": "JH-77A", "amount_fen": 204000})
    assert (matched["status"], matched["cost_fen"], matched["difference_fen"]) == ("invoiced", 204000, 4000)
    assert (await _cost(shop, order_id))["sublet_cost_fen"] == 204000
    assert policy.invoice_matches(50000, 49000) and not policy.invoice_matches(50000, 48999)


async def test_work_at_a_vendor_past_its_promised_day_in_the_stores_calendar_is_listed_overdue(shop):
    glass = await _vendor(shop)
    first, second, third = sublet("windscreen"), sublet("rear quarter glass"), sublet("sunroof glass")
    order_id = await _order_with(shop, first, second, third)
    due_3rd = await _sublet_order(shop, order_id, first.line_id, glass["id"], promised_on=TODAY + timedelta(days=1))
    due_5th = await _sublet_order(shop, order_id, second.line_id, glass["id"], promised_on=TODAY + timedelta(days=3))
    draft = await _sublet_order(shop, order_id, third.line_id, glass["id"], promised_on=TODAY + timedelta(days=1))
    await _act(shop.manager, due_3rd["id"], "send")
    await _act(shop.manager, due_5th["id"], "send")

    async def overdue() -> dict[str, int]:
        r = await shop.manager.get("/v1/sublet-orders", params={"overdue": "true"})
        assert r.status_code == 200, r.text
        return {x["id"]: x["days_overdue"] for x in r.json()["items"]}

    # 23:59 on the 3rd in Shanghai (15:59 UTC): the promised day is not over.
    shop.clock.advance(hours=38, minutes=59)
    assert await overdue() == {}
    # Midnight in Shanghai: the 4th, a day late; the draft was never sent, so the vendor is not late with it.
    shop.clock.advance(minutes=1)
    assert await overdue() == {due_3rd["id"]: 1}
    shop.clock.advance(days=3)  # the 7th: the first 4 days late, the second 2
    assert await overdue() == {due_3rd["id"]: 4, due_5th["id"]: 2}
    r = await shop.manager.get(f"/v1/sublet-orders/{draft['id']}")
    assert r.json()["days_overdue"] == 0
    # Back from the vendor: no longer late, whatever day it is.
    await _act(shop.manager, due_3rd["id"], "return")
    assert await overdue() == {due_5th["id"]: 2}
    # Another store's manager sees none of them.
    other = shop.caller("store_manager", "manager-2", store_id=shop.other_store_id)
    r = await other.get("/v1/sublet-orders", params={"overdue": "true"})
    assert r.status_code == 200 and r.json()["items"] == []


async def test_bad_input_is_422_naming_the_field(shop):
    glass = await _vendor(shop)
    line, work = sublet(), labor("BRK-0210")
    order_id = await _order_with(shop, line, work)
    good = {"repair_order_id": order_id, "line_id": line.line_id, "vendor_id": glass["id"], "work": "windscreen",
            "agreed_price_fen": 35000, "promised_on": "2026-03-04"}
    cases = {
        "agreed_price_fen": {"agreed_price_fen": -1},
        "promised_on": {"promised_on": "2026-03-01"},  # yesterday in the store's calendar
        "line_id": {"line_id": work.line_id},  # a labour line, not a sublet one
        "vendor_id": {"vendor_id": "no-such-vendor"},
        "repair_order_id": {"repair_order_id": "no-such-order"},
        "work": {"work": ""},
    }
    for field, change in cases.items():
        r = await shop.manager.post("/v1/sublet-orders", json={**good, **change})
        assert r.status_code == 422, (field, r.text)
        assert r.json()["errors"][0]["field"] == field, (field, r.text)
    r = await shop.manager.post("/v1/sublet-orders", json={**good, "agreed_price_fen": 10**12})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "agreed_price_fen"

    r = await shop.manager.post("/v1/vendors", json={"name": "Old Tom", "specialties": ["knitting"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("specialties"), r.text
    r = await shop.manager.post("/v1/vendors", json={"name": "Huaxin Glass", "specialties": ["glass"]})
    assert r.status_code == 409, r.text  # the store has a vendor of that name
    r = await shop.manager.patch(f"/v1/vendors/{glass['id']}", json={"version": 1, "active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    r = await shop.manager.post("/v1/sublet-orders", json=good)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "vendor_id", r.text  # inactive

    r = await shop.manager.patch(f"/v1/vendors/{glass['id']}", json={"version": 2, "active": True})
    assert r.status_code == 200, r.text
    so = await _sublet_order(shop, order_id, line.line_id, glass["id"])
    await _act(shop.manager, so["id"], "send")
    await _act(shop.manager, so["id"], "return")
    r = await shop.manager.post(f"/v1/sublet-orders/{so['id']}/inspection", json={"result": "fail"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note", r.text
    r = await shop.manager.post(f"/v1/sublet-orders/{so['id']}/inspection",
                                json={"result": "pass", "promised_on": "2026-03-09"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "promised_on", r.text
    r = await shop.manager.post(f"/v1/sublet-orders/{so['id']}/invoice", json={"number": "", "amount_fen": 100})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "number", r.text
    r = await shop.manager.get("/v1/sublet-orders", params={"status": "lost"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status", r.text


async def test_one_live_sublet_order_per_line_and_a_cancelled_one_frees_it(shop):
    glass, other = await _vendor(shop), await _vendor(shop, "Xinda Auto Glass")
    line = sublet()
    order_id = await _order_with(shop, line)
    first = await _sublet_order(shop, order_id, line.line_id, glass["id"])
    r = await shop.manager.post("/v1/sublet-orders", json={
        "repair_order_id": order_id, "line_id": line.line_id, "vendor_id": other["id"], "work": "windscreen",
        "agreed_price_fen": 30000, "promised_on": "2026-03-04"})
    assert r.status_code == 409 and r.json()["sublet_order_id"] == first["id"], r.text
    await _act(shop.manager, first["id"], "send")
    cancelled = await _act(shop.manager, first["id"], "cancel", {"reason": "vendor cannot get the glass"})
    assert cancelled["status"] == "cancelled"
    second = await _sublet_order(shop, order_id, line.line_id, other["id"], agreed_price_fen=30000)
    assert second["number"].endswith("-SO-000002")
    assert (await _cost(shop, order_id))["sublet_cost_fen"] == 30000
    await _act(shop.manager, first["id"], "send", status=409)
    # The car has gone home: nothing more goes out on its order.
    await _act(shop.manager, second["id"], "cancel", {"reason": "customer declined"})
    await shop.deliver(delivered(shop.store_id, order_id, [line], delivered_at=shop.clock.now()))
    r = await shop.manager.post("/v1/sublet-orders", json={
        "repair_order_id": order_id, "line_id": line.line_id, "vendor_id": other["id"], "work": "windscreen",
        "agreed_price_fen": 30000, "promised_on": "2026-03-04"})
    assert r.status_code == 409 and r.json()["current_state"] == "delivered", r.text


async def test_another_stores_sublet_orders_are_not_found_and_their_posts_replay_once(shop):
    glass = await _vendor(shop)
    line = sublet()
    order_id = await _order_with(shop, line)
    key = {"Idempotency-Key": "sublet-order-7f3a"}
    body = {"repair_order_id": order_id, "line_id": line.line_id, "vendor_id": glass["id"], "work": "windscreen",
            "agreed_price_fen": 35000, "promised_on": "2026-03-04"}
    first = await shop.manager.post("/v1/sublet-orders", json=body, headers=key)
    again = await shop.manager.post("/v1/sublet-orders", json=body, headers=key)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other_body = await shop.manager.post("/v1/sublet-orders", json={**body, "work": "rear glass"}, headers=key)
    assert other_body.status_code == 422 and other_body.json()["errors"][0]["field"] == "Idempotency-Key"
    so = first.json()
    moves = [("send", None), ("return", None), ("inspection", {"result": "pass"}),
             ("invoice", {"number": "HX-9", "amount_fen": 40000}), ("invoice/accept", None)]
    manager = shop.caller("service_manager", "service-manager-1")
    for action, payload in moves:
        url, headers = f"/v1/sublet-orders/{so['id']}/{action}", {"Idempotency-Key": f"so-{action}"}
        r1 = await manager.post(url, json=payload, headers=headers)
        r2 = await manager.post(url, json=payload, headers=headers)
        assert r1.status_code == r2.status_code == 200, (action, r1.text, r2.text)
        assert r2.json() == r1.json() and r2.headers["Idempotent-Replayed"] == "true", action
    # The other two moves, on a second line: an invoice refused, then work called off.
    spare = sublet("rear quarter glass")
    spare_order = await _order_with(shop, spare)
    so2 = await _sublet_order(shop, spare_order, spare.line_id, glass["id"])
    for action in ("send", "return"):
        await _act(manager, so2["id"], action)
    await _act(manager, so2["id"], "inspection", {"result": "pass"})
    await _act(manager, so2["id"], "invoice", {"number": "HX-10", "amount_fen": 90000})
    replays = [("invoice/refuse", {"reason": "not what was agreed"}),
               ("invoice", {"number": "HX-10", "amount_fen": 35000})]
    for action, payload in replays:
        url, headers = f"/v1/sublet-orders/{so2['id']}/{action}", {"Idempotency-Key": f"so2-{action}"}
        r1 = await manager.post(url, json=payload, headers=headers)
        r2 = await manager.post(url, json=payload, headers=headers)
        assert r1.status_code == r2.status_code == 200 and r2.json() == r1.json(), (action, r1.text, r2.text)
    third = sublet("sunroof glass")
    so3 = await _sublet_order(shop, await _order_with(shop, third), third.line_id, glass["id"])
    cancel = {"Idempotency-Key": "so3-cancel"}
    r1 = await manager.post(f"/v1/sublet-orders/{so3['id']}/cancel", json={"reason": "done in house"}, headers=cancel)
    r2 = await manager.post(f"/v1/sublet-orders/{so3['id']}/cancel", json={"reason": "done in house"}, headers=cancel)
    assert r1.status_code == r2.status_code == 200 and r2.json() == r1.json() and r1.json()["status"] == "cancelled"

    outsider = shop.caller("store_manager", "manager-2", store_id=shop.other_store_id)
    assert (await outsider.get(f"/v1/sublet-orders/{so['id']}")).status_code == 404
    assert (await outsider.get(f"/v1/vendors/{glass['id']}")).status_code == 404
    bodies = {"cancel": {"reason": "x"}, "inspection": {"result": "pass"}, "invoice": {"number": "X", "amount_fen": 1},
              "invoice/refuse": {"reason": "x"}}
    for action in ("send", "return", "inspection", "invoice", "invoice/accept", "invoice/refuse", "cancel"):
        r = await outsider.post(f"/v1/sublet-orders/{so2['id']}/{action}", json=bodies.get(action))
        assert r.status_code == 404, (action, r.text)
    r = await outsider.patch(f"/v1/vendors/{glass['id']}", json={"version": 1, "active": False})
    assert r.status_code == 404
    # Nor may it send its own work out on store A's order or vendor.
    r = await outsider.post("/v1/sublet-orders", json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "repair_order_id"
    listed = await outsider.get("/v1/vendors")
    assert listed.status_code == 200 and listed.json()["items"] == []


async def test_each_move_outside_the_store_is_announced_once_even_when_its_post_is_replayed(shop):
    glass = await _vendor(shop)
    line = sublet("windscreen replaced")
    order_id = await _order_with(shop, line)
    so = await _sublet_order(shop, order_id, line.line_id, glass["id"])
    manager = shop.caller("service_manager", "service-manager-1")

    async def twice(action: str, body: dict | None = None) -> None:
        key = {"Idempotency-Key": f"sublet-{action}-{len(await outbox(shop.app, subject=so['id']))}"}
        for _ in range(2):
            r = await manager.post(f"/v1/sublet-orders/{so['id']}/{action}", json=body, headers=key)
            assert r.status_code == 200, r.text

    await twice("send")
    await twice("return", {"note": "fitted"})
    await twice("inspection", {"result": "fail", "note": "wind noise"})
    await twice("return")
    await twice("inspection", {"result": "pass"})
    await twice("invoice", {"number": "HX-0001", "amount_fen": 38000})
    await twice("invoice/accept", {"note": "extra moulding"})

    events = await outbox(shop.app, subject=so["id"])
    assert [(e["type"].rsplit(".", 1)[1], e["data"].get("result"), e["data"].get("status")) for e in events] == [
        ("sent", None, None), ("returned", None, None), ("inspected", "fail", "sent"), ("returned", None, None),
        ("inspected", "pass", "inspected"), ("invoice_held", None, None), ("invoice_matched", None, None)]
    for event in events:
        catalogue[event["type"]].model_validate(event["data"])
        assert (event["subject"], event["storeid"]) == (so["id"], shop.store_id)
        assert (event["data"]["vendor_name"], event["data"]["agreed_price_fen"]) == ("Huaxin Glass", 35000)
    held, matched = events[-2]["data"], events[-1]["data"]
    assert (held["invoice_amount_fen"], held["difference_fen"], held["tolerance_fen"]) == (38000, 3000, 1000)
    assert (matched["cost_fen"], matched["accepted_by"], matched["note"]) == (38000, "service-manager-1",
                                                                              "extra moulding")

    # An invoice within the tolerance is matched at once: one event, no manager.
    other = sublet("rear glass")
    second = await _sublet_order(shop, await _order_with(shop, other), other.line_id, glass["id"])
    for action, body in (("send", None), ("return", None), ("inspection", {"result": "pass"}),
                         ("invoice", {"number": "HX-0002", "amount_fen": 35500})):
        await _act(shop.manager, second["id"], action, body)
    [at_once] = await outbox(shop.app, "workshop.sublet_order.invoice_matched", second["id"])
    assert (at_once["data"]["cost_fen"], at_once["data"]["accepted_by"]) == (35500, None)
