"""Stock, ledger and reservations over HTTP: receipts, adjustments, counter issues,
backorders filled in arrival order, releases on cancellation, returns."""
from __future__ import annotations

from datetime import datetime

from tests.support.platform import Caller
from tests.workshop.factories import approved, cancelled, outbox, part, put

PADS = "XB-45022-F10"
FILTER = "XB-15400-001"


async def _ledger_matches(shop, part_no: str) -> dict:
    stock = await shop.stock(part_no)
    r = await shop.clerk.get(f"/v1/stock/{part_no}/movements", params={"limit": 200})
    moves = r.json()["items"]
    assert sum(m["on_hand_delta"] for m in moves) == stock["on_hand"]
    assert sum(m["reserved_delta"] for m in moves) == stock["reserved"]
    assert stock["available"] == stock["on_hand"] - stock["reserved"] >= 0
    return stock


async def test_catalogue_comes_from_reference_data_and_pages(shop):
    first = (await shop.clerk.get("/v1/parts", params={"limit": 5})).json()
    assert len(first["items"]) == 5 and first["next_cursor"]
    rest = (await shop.clerk.get("/v1/parts", params={"limit": 200, "cursor": first["next_cursor"]})).json()
    numbers = [p["part_no"] for p in first["items"] + rest["items"]]
    assert numbers == sorted(set(numbers)) and FILTER in numbers
    brakes = (await shop.clerk.get("/v1/parts", params={"category": "brakes"})).json()["items"]
    assert {p["category"] for p in brakes} == {"brakes"}
    assert (await shop.clerk.get("/v1/parts/XB-NOPE")).status_code == 404


async def test_receipts_adjustments_and_counter_issues_keep_the_ledger_equal_to_on_hand(shop):
    receipt = await shop.receive(FILTER, 12)
    assert receipt["lines"] == [{"part_no": FILTER, "qty": 12, "unit_cost_fen": 2800}]
    lost = await shop.clerk.post("/v1/stock/adjustments", json={"part_no": FILTER, "delta": -2, "reason": "stock take"})
    assert lost.status_code == 201 and lost.json()["stock"]["on_hand"] == 10
    issue = await shop.clerk.post("/v1/stock/issues", json={"part_no": FILTER, "qty": 3, "reference": "bay 4"})
    assert issue.status_code == 201 and issue.json()["movement"]["kind"] == "issue"
    too_many = await shop.clerk.post("/v1/stock/issues", json={"part_no": FILTER, "qty": 8})
    assert too_many.status_code == 409 and too_many.json()["available"] == 7
    stock = await _ledger_matches(shop, FILTER)
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (7, 0, 7)


async def test_adjustment_cannot_take_away_reserved_units(shop):
    await shop.receive(PADS, 3)
    await shop.deliver(approved(shop.store_id, [part(PADS, "2")], approved_at=shop.clock.now()))
    r = await shop.clerk.post("/v1/stock/adjustments", json={"part_no": PADS, "delta": -2, "reason": "damaged"})
    assert r.status_code == 409 and r.json()["available"] == 1
    assert (await _ledger_matches(shop, PADS))["on_hand"] == 3


async def test_bad_input_names_the_field(shop):
    r = await shop.clerk.post("/v1/stock/receipts", json={"reference": "DN", "lines": [{"part_no": "XB-NOPE", "qty": 1}]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lines[0].part_no"
    r = await shop.clerk.post("/v1/stock/receipts", json={"reference": "DN", "lines": [{"part_no": FILTER, "qty": 0}]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lines.0.qty"
    r = await shop.clerk.post("/v1/stock/adjustments", json={"part_no": FILTER, "delta": 0, "reason": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "delta"
    # Nothing was half-written.
    assert (await shop.clerk.get("/v1/stock")).json()["items"] == []


async def test_short_stock_is_backordered_and_filled_in_arrival_order_on_receipt(shop):
    await shop.receive(PADS, 1)
    orders = []
    for _ in range(3):
        env = approved(shop.store_id, [part(PADS, "2")], approved_at=shop.clock.now())
        await shop.deliver(env)
        orders.append(env.subject)
        shop.clock.advance(minutes=5)
    first, second, third = [(await shop.reservations_of(o))[0] for o in orders]
    assert [r["status"] for r in (first, second, third)] == ["backordered"] * 3
    assert [r["allocated"] for r in (first, second, third)] == [1, 0, 0]
    backordered = await outbox(shop.app, "workshop.reservation.backordered")
    assert [e["data"]["short_quantity"] for e in backordered] == [1, 2, 2]

    receipt = await shop.receive(PADS, 2, reference="DN-2")
    assert receipt["filled_reservations"] == [first["id"]]
    first, second, third = [(await shop.reservations_of(o))[0] for o in orders]
    assert (first["status"], first["allocated"]) == ("reserved", 2)
    assert (second["status"], second["allocated"]) == ("backordered", 1)
    assert (third["status"], third["allocated"]) == ("backordered", 0)
    assert (await shop.stock(PADS))["backordered"] == 3

    receipt = await shop.receive(PADS, 3, reference="DN-3")
    assert receipt["filled_reservations"] == [second["id"], third["id"]]
    stock = await _ledger_matches(shop, PADS)
    assert (stock["on_hand"], stock["reserved"], stock["backordered"]) == (6, 6, 0)

    issued = await shop.clerk.post(f"/v1/reservations/{first['id']}/issue")
    assert issued.status_code == 200
    (event,) = await outbox(shop.app, "workshop.reservation.issued")
    assert event["data"]["filled_from_stock"] is False
    assert datetime.fromisoformat(event["data"]["reserved_at"]) == datetime.fromisoformat(first["reserved_at"])


async def test_a_backordered_reservation_cannot_be_issued(shop):
    env = approved(shop.store_id, [part(PADS, "1")], approved_at=shop.clock.now())
    await shop.deliver(env)
    (reservation,) = await shop.reservations_of(env.subject)
    r = await shop.clerk.post(f"/v1/reservations/{reservation['id']}/issue")
    assert r.status_code == 409 and r.json()["current_state"] == "backordered" and r.json()["short"] == 1


async def test_reservation_issued_from_stock_carries_fill_rate_facts(shop):
    await shop.receive(FILTER, 5)
    env = approved(shop.store_id, [part(FILTER, "1.5")], approved_at=shop.clock.now())  # whole units: 2
    await shop.deliver(env)
    (reservation,) = await shop.reservations_of(env.subject)
    assert reservation["quantity"] == 2 and reservation["status"] == "reserved"
    shop.clock.advance(hours=1)
    await shop.clerk.post(f"/v1/reservations/{reservation['id']}/issue")
    (event,) = await outbox(shop.app, "workshop.reservation.issued")
    data = event["data"]
    assert data["filled_from_stock"] is True and data["quantity"] == 2
    assert data["reserved_at"] < data["issued_at"]
    stock = await _ledger_matches(shop, FILTER)
    assert (stock["on_hand"], stock["reserved"]) == (3, 0)


async def test_cancelled_order_releases_its_reservations_to_the_next_in_line(shop):
    await shop.receive(PADS, 2)
    held = approved(shop.store_id, [part(PADS, "2")], approved_at=shop.clock.now())
    waiting = approved(shop.store_id, [part(PADS, "1")], approved_at=shop.clock.now())
    await shop.deliver(held)
    await shop.deliver(waiting)
    assert (await shop.reservations_of(waiting.subject))[0]["status"] == "backordered"

    await shop.deliver(cancelled(shop.store_id, held.subject))
    assert (await shop.reservations_of(held.subject))[0]["status"] == "released"
    assert (await shop.reservations_of(waiting.subject))[0]["status"] == "reserved"
    stock = await _ledger_matches(shop, PADS)
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (2, 1, 1)
    kinds = [m["kind"] for m in (await shop.clerk.get(f"/v1/stock/{PADS}/movements")).json()["items"]]
    assert "release" in kinds


async def test_unfitted_parts_are_returned_to_stock(shop):
    await shop.receive(FILTER, 2)
    env = approved(shop.store_id, [part(FILTER, "2")], approved_at=shop.clock.now())
    await shop.deliver(env)
    (reservation,) = await shop.reservations_of(env.subject)
    await shop.clerk.post(f"/v1/reservations/{reservation['id']}/issue")
    r = await shop.clerk.post(f"/v1/reservations/{reservation['id']}/return", json={"quantity": 3, "reason": "spare"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "quantity"
    r = await shop.clerk.post(f"/v1/reservations/{reservation['id']}/return", json={"quantity": 1, "reason": "spare"})
    assert r.status_code == 200 and r.json()["returned_quantity"] == 1
    stock = await _ledger_matches(shop, FILTER)
    assert stock["on_hand"] == 1


async def test_issue_with_the_same_idempotency_key_issues_once(shop):
    await shop.receive(FILTER, 5)
    headers = {"Idempotency-Key": "counter-issue-1"}
    body = {"part_no": FILTER, "qty": 2, "reference": "bay 2"}
    first = await shop.clerk.post("/v1/stock/issues", json=body, headers=headers)
    again = await shop.clerk.post("/v1/stock/issues", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert (await _ledger_matches(shop, FILTER))["on_hand"] == 3


async def test_bins_are_kept_per_store(shop):
    r = await put(shop.clerk, f"/v1/stock/{FILTER}/bin", {"bin": "A-03-2"})
    assert r.status_code == 200 and r.json()["bin"] == "A-03-2"
    other = shop.caller("parts_clerk", "clerk-2", shop.other_store_id)
    assert (await other.get(f"/v1/stock/{FILTER}")).json()["bin"] is None


async def test_receipts_movements_and_issued_reservations_name_the_person_and_the_key_or_sign_in_they_used(shop):
    # 张伟 receives with a key issued to him; 陈静 issues and adjusts signed in.
    zhang = Caller(shop.client, "parts_clerk", shop.store_id, "person-zhang", name="张伟", credential="key:k-zhang-1")
    chen = Caller(shop.client, "parts_clerk", shop.store_id, "person-chen", name="陈静", credential="token:s-chen-4")
    received = await zhang.post("/v1/stock/receipts", json={"reference": "DN-9", "lines": [{"part_no": FILTER, "qty": 4}]})
    assert received.status_code == 201, received.text
    receipt = received.json()
    assert (receipt["received_by"], receipt["received_by_name"], receipt["received_by_credential"]) == (
        "person-zhang", "张伟", "key:k-zhang-1")
    env = approved(shop.store_id, [part(FILTER, "1")], approved_at=shop.clock.now())
    await shop.deliver(env)
    (reservation,) = await shop.reservations_of(env.subject)
    issued = await chen.post(f"/v1/reservations/{reservation['id']}/issue")
    assert issued.status_code == 200, issued.text
    assert (issued.json()["issued_by"], issued.json()["issued_by_name"], issued.json()["issued_by_credential"]) == (
        "person-chen", "陈静", "token:s-chen-4")
    adjusted = await chen.post("/v1/stock/adjustments", json={"part_no": FILTER, "delta": -1, "reason": "damaged"})
    assert adjusted.status_code == 201, adjusted.text

    moves = (await zhang.get(f"/v1/stock/{FILTER}/movements")).json()["items"]
    assert [(m["kind"], m["principal_id"], m["principal_name"], m["principal_credential"]) for m in moves] == [
        ("adjustment", "person-chen", "陈静", "token:s-chen-4"),
        ("issue", "person-chen", "陈静", "token:s-chen-4"),
        ("reservation", None, None, None),  # the workshop's own, on reception's approval
        ("receipt", "person-zhang", "张伟", "key:k-zhang-1")]
    [listed] = (await chen.get("/v1/stock/receipts")).json()["items"]
    assert (listed["received_by"], listed["received_by_name"], listed["received_by_credential"]) == (
        "person-zhang", "张伟", "key:k-zhang-1")
