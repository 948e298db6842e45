"""Reorder points, low-stock alerts, suggestions, and purchase orders received in parts."""
from __future__ import annotations

from tests.support.platform import Caller
from tests.workshop.factories import approved, outbox, part, put

OIL = "XB-08880-430"
PADS = "XB-45022-F10"


async def test_stock_low_goes_out_once_each_time_available_falls_below_the_point(shop):
    await shop.receive(OIL, 10)
    r = await put(shop.clerk, f"/v1/stock/{OIL}/reorder-policy", {"reorder_point": 5, "reorder_quantity": 12})
    assert r.status_code == 200 and r.json()["reorder_point"] == 5
    assert await outbox(shop.app, "workshop.stock.low") == []

    for _ in range(5):  # 10 → 5: not below yet
        await shop.clerk.post("/v1/stock/issues", json={"part_no": OIL, "qty": 1})
    assert await outbox(shop.app, "workshop.stock.low") == []
    await shop.clerk.post("/v1/stock/issues", json={"part_no": OIL, "qty": 1})  # 4
    await shop.clerk.post("/v1/stock/issues", json={"part_no": OIL, "qty": 1})  # 3, still below: no second alert
    (low,) = await outbox(shop.app, "workshop.stock.low")
    assert low["data"] == {**low["data"], "part_no": OIL, "available": 4, "reorder_point": 5}
    assert (await shop.stock(OIL))["below_reorder_point"] is True

    await shop.receive(OIL, 12)  # back above: the next fall alerts again
    assert (await shop.stock(OIL))["below_reorder_point"] is False
    await shop.clerk.post("/v1/stock/issues", json={"part_no": OIL, "qty": 11})
    assert [e["data"]["available"] for e in await outbox(shop.app, "workshop.stock.low")] == [4, 4]


async def test_reservations_count_against_the_reorder_point(shop):
    await shop.receive(PADS, 4)
    await put(shop.clerk, f"/v1/stock/{PADS}/reorder-policy", {"reorder_point": 3, "reorder_quantity": 4})
    await shop.deliver(approved(shop.store_id, [part(PADS, "2")], approved_at=shop.clock.now()))
    (low,) = await outbox(shop.app, "workshop.stock.low")
    assert low["data"]["available"] == 2


async def test_policy_needs_a_quantity_and_names_the_field(shop):
    r = await put(shop.clerk, f"/v1/stock/{OIL}/reorder-policy", {"reorder_point": 5})
    assert r.status_code == 422
    r = await put(shop.clerk, f"/v1/stock/{OIL}/reorder-policy", {"reorder_point": -1, "reorder_quantity": 2})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reorder_point"
    r = await put(shop.clerk, "/v1/stock/XB-NOPE/reorder-policy", {"reorder_point": 1, "reorder_quantity": 2})
    assert r.status_code == 404


async def test_suggestions_cover_the_reorder_point_and_backorders_minus_what_is_on_order(shop):
    await shop.receive(OIL, 3)
    await put(shop.clerk, f"/v1/stock/{OIL}/reorder-policy", {"reorder_point": 6, "reorder_quantity": 4})
    await shop.deliver(approved(shop.store_id, [part(PADS, "3")], approved_at=shop.clock.now()))

    suggestions = (await shop.clerk.get("/v1/reorder-suggestions")).json()
    by_part = {s["part_no"]: s for s in suggestions["items"]}
    assert by_part[OIL]["suggested_quantity"] == 4 and by_part[OIL]["reason"] == "below_reorder_point"
    assert by_part[PADS]["suggested_quantity"] == 3 and by_part[PADS]["reason"] == "backorders"
    assert by_part[PADS]["amount_fen"] == 3 * 42000
    assert suggestions["total_fen"] == 4 * 24000 + 3 * 42000

    po = await shop.clerk.post("/v1/purchase-orders", json={"lines": [{"part_no": PADS, "qty": 3}]})
    assert po.status_code == 201
    by_part = {s["part_no"]: s for s in (await shop.clerk.get("/v1/reorder-suggestions")).json()["items"]}
    assert PADS not in by_part  # covered by what is on order


async def test_purchase_order_is_received_in_parts_and_never_beyond_what_was_ordered(shop):
    waiting = approved(shop.store_id, [part(PADS, "2")], approved_at=shop.clock.now())
    await shop.deliver(waiting)
    r = await shop.clerk.post("/v1/purchase-orders", json={
        "supplier": "brand RDC East", "lines": [{"part_no": PADS, "qty": 5}, {"part_no": OIL, "qty": 2, "unit_cost_fen": 23000}]})
    assert r.status_code == 201, r.text
    po = r.json()
    assert po["status"] == "open" and po["number"] == "SH-PD-01-PO-000001"
    assert po["total_fen"] == 5 * 42000 + 2 * 23000

    first = await shop.clerk.post(f"/v1/purchase-orders/{po['id']}/receive",
                                  json={"reference": "DN-77", "lines": [{"part_no": PADS, "qty": 3}]})
    assert first.status_code == 200, first.text
    assert first.json()["purchase_order"]["status"] == "partially_received"
    assert first.json()["receipt"]["filled_reservations"] == [(await shop.reservations_of(waiting.subject))[0]["id"]]

    over = await shop.clerk.post(f"/v1/purchase-orders/{po['id']}/receive",
                                 json={"reference": "DN-78", "lines": [{"part_no": PADS, "qty": 3}]})
    assert over.status_code == 422 and over.json()["errors"][0]["field"] == "lines[0].qty"
    stranger = await shop.clerk.post(f"/v1/purchase-orders/{po['id']}/receive",
                                     json={"reference": "DN-78", "lines": [{"part_no": "XB-15400-001", "qty": 1}]})
    assert stranger.status_code == 422 and stranger.json()["errors"][0]["field"] == "lines[0].part_no"

    last = await shop.clerk.post(f"/v1/purchase-orders/{po['id']}/receive", json={
        "reference": "DN-79", "lines": [{"part_no": PADS, "qty": 2}, {"part_no": OIL, "qty": 2}]})
    assert last.json()["purchase_order"]["status"] == "received"
    assert (await shop.stock(PADS))["on_hand"] == 5
    assert (await shop.stock(OIL))["average_cost_fen"] == 23000
    assert (await shop.clerk.post(f"/v1/purchase-orders/{po['id']}/receive",
                                  json={"reference": "x", "lines": [{"part_no": PADS, "qty": 1}]})).status_code == 409
    receipts = (await shop.clerk.get("/v1/stock/receipts", params={"purchase_order_id": po["id"]})).json()["items"]
    assert len(receipts) == 2


async def test_cancelled_purchase_order_is_no_longer_on_order(shop):
    po = (await shop.clerk.post("/v1/purchase-orders", json={"lines": [{"part_no": OIL, "qty": 4}]})).json()
    await put(shop.clerk, f"/v1/stock/{OIL}/reorder-policy", {"reorder_point": 2, "reorder_quantity": 4})
    assert (await shop.clerk.get("/v1/reorder-suggestions")).json()["items"] == []
    r = await shop.clerk.post(f"/v1/purchase-orders/{po['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert [s["part_no"] for s in (await shop.clerk.get("/v1/reorder-suggestions")).json()["items"]] == [OIL]
    assert (await shop.clerk.post(f"/v1/purchase-orders/{po['id']}/cancel")).status_code == 409


async def test_a_purchase_order_and_its_receipt_name_who_raised_and_who_received_it(shop):
    # 张伟 raises it with a key issued to him; 陈静 receives it signed in.
    zhang = Caller(shop.client, "parts_clerk", shop.store_id, "person-zhang", name="张伟", credential="key:k-zhang-1")
    chen = Caller(shop.client, "parts_clerk", shop.store_id, "person-chen", name="陈静", credential="token:s-chen-4")
    raised = await zhang.post("/v1/purchase-orders", json={"lines": [{"part_no": PADS, "qty": 2}]})
    assert raised.status_code == 201, raised.text
    po = raised.json()
    assert (po["created_by"], po["created_by_name"], po["created_by_credential"]) == (
        "person-zhang", "张伟", "key:k-zhang-1")
    received = await chen.post(f"/v1/purchase-orders/{po['id']}/receive",
                               json={"reference": "DN-80", "lines": [{"part_no": PADS, "qty": 2}]})
    assert received.status_code == 200, received.text
    receipt = received.json()["receipt"]
    assert (receipt["received_by"], receipt["received_by_name"], receipt["received_by_credential"]) == (
        "person-chen", "陈静", "token:s-chen-4")
    read = (await chen.get(f"/v1/purchase-orders/{po['id']}")).json()
    assert (read["created_by"], read["created_by_name"], read["created_by_credential"]) == (
        "person-zhang", "张伟", "key:k-zhang-1")
    [listed] = (await chen.get("/v1/purchase-orders")).json()["items"]
    assert (listed["created_by_name"], listed["created_by_credential"]) == ("张伟", "key:k-zhang-1")
