"""Bad input on the outsourced-work routes (issue 19): vendors and sublet orders. Each case
sends one wrong thing (a price past its bound or negative, a promised day outside
1970..2100, text over its length, a value outside its enum, another store's order, line or
vendor) and expects a 4xx problem+json naming that field, with nothing written."""
from __future__ import annotations

from services.common.inputs import MAX_LINE_FEN, MAX_VERSION
from tests.support.bad_input import Case, refused_all, snapshot
from tests.workshop.factories import approved, sublet
from tests.workshop.test_sublet_orders import _order_with, _sublet_order, _vendor


async def test_vendors_and_sublet_orders_refuse_bad_input_naming_the_field_and_keep_nothing(shop):
    glass = await _vendor(shop)
    line = sublet()
    order_id = await _order_with(shop, line)
    outsider = shop.caller("store_manager", "manager-2", store_id=shop.other_store_id)
    r = await outsider.post("/v1/vendors", json={"name": "Beijing Glass", "specialties": ["glass"]})
    assert r.status_code == 201, r.text
    their_vendor = r.json()
    their_line = sublet("their windscreen")
    their_order = approved(shop.other_store_id, [their_line], approved_at=shop.clock.now())
    await shop.deliver(their_order)
    so = await _sublet_order(shop, order_id, line.line_id, glass["id"])
    spare = sublet("rear quarter glass")
    spare_order = await _order_with(shop, spare)

    vendor = {"name": "Jiahe Paint", "specialties": ["paint"]}
    good = {"repair_order_id": spare_order, "line_id": spare.line_id, "vendor_id": glass["id"], "work": "rear glass",
            "agreed_price_fen": 35000, "promised_on": "2026-03-04"}
    url = f"/v1/sublet-orders/{so['id']}"
    cases = [
        Case("vendor name over length", "POST", "/v1/vendors", {**vendor, "name": "长" * 201}, "name"),
        Case("unknown specialty", "POST", "/v1/vendors", {**vendor, "specialties": ["knitting"]}, "specialties.0"),
        Case("more specialties than there are", "POST", "/v1/vendors", {**vendor, "specialties": ["paint"] * 13},
             "specialties"),
        Case("not a phone", "POST", "/v1/vendors", {**vendor, "phone": "call me"}, "phone"),
        Case("address over length", "POST", "/v1/vendors", {**vendor, "address": "长" * 501}, "address"),
        Case("vendor for another store", "POST", "/v1/vendors", {**vendor, "store_id": shop.other_store_id},
             None, 404),
        Case("list by an unknown specialty", "GET", "/v1/vendors?specialty=knitting", None, "specialty"),
        Case("list limit past the bound", "GET", "/v1/vendors?limit=201", None, "limit"),
        Case("another store's vendor", "GET", f"/v1/vendors/{their_vendor['id']}", None, None, 404),
        Case("change another store's vendor", "PATCH", f"/v1/vendors/{their_vendor['id']}",
             {"version": 1, "active": False}, None, 404),
        Case("version past the bound", "PATCH", f"/v1/vendors/{glass['id']}", {"version": MAX_VERSION + 1},
             "version"),
        Case("version zero", "PATCH", f"/v1/vendors/{glass['id']}", {"version": 0}, "version"),
        Case("price past the bound", "POST", "/v1/sublet-orders", {**good, "agreed_price_fen": MAX_LINE_FEN + 1},
             "agreed_price_fen"),
        Case("negative price", "POST", "/v1/sublet-orders", {**good, "agreed_price_fen": -1}, "agreed_price_fen"),
        Case("promised in 1969", "POST", "/v1/sublet-orders", {**good, "promised_on": "1969-12-31"}, "promised_on"),
        Case("promised in 2101", "POST", "/v1/sublet-orders", {**good, "promised_on": "2101-01-01"}, "promised_on"),
        Case("work over length", "POST", "/v1/sublet-orders", {**good, "work": "长" * 2001}, "work"),
        Case("another store's order", "POST", "/v1/sublet-orders",
             {**good, "repair_order_id": their_order.subject, "line_id": their_line.line_id}, "repair_order_id"),
        Case("another order's line", "POST", "/v1/sublet-orders", {**good, "line_id": their_line.line_id}, "line_id"),
        Case("another store's vendor", "POST", "/v1/sublet-orders", {**good, "vendor_id": their_vendor["id"]},
             "vendor_id"),
        Case("list by an unknown status", "GET", "/v1/sublet-orders?status=lost", None, "status"),
        Case("list limit past the bound", "GET", "/v1/sublet-orders?limit=201", None, "limit"),
        Case("invoice past the bound", "POST", f"{url}/invoice", {"number": "HX-1", "amount_fen": MAX_LINE_FEN + 1},
             "amount_fen"),
        Case("invoice number over length", "POST", f"{url}/invoice", {"number": "H" * 65, "amount_fen": 1}, "number"),
        Case("unknown inspection result", "POST", f"{url}/inspection", {"result": "maybe"}, "result"),
        Case("new promise in 2101", "POST", f"{url}/inspection",
             {"result": "fail", "note": "noise", "promised_on": "2101-01-01"}, "promised_on"),
        Case("cancel reason over length", "POST", f"{url}/cancel", {"reason": "长" * 2001}, "reason"),
    ]
    reads = ("/v1/vendors", "/v1/sublet-orders", url)
    before = await snapshot(shop.manager, *reads)

    assert await refused_all(shop.manager, cases) == []

    assert await snapshot(shop.manager, *reads) == before
    assert (await outsider.get("/v1/sublet-orders")).json()["items"] == []
