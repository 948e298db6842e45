"""A store principal never reaches another store's jobs, stock, reservations or orders:
each is 404, and lists leave them out. HQ sees every store."""
from __future__ import annotations

from tests.workshop.factories import approved, labor, part, put

PADS = "XB-45022-F10"


async def test_another_stores_objects_are_404_and_absent_from_lists(shop):
    await shop.receive(PADS, 3)
    env = approved(shop.store_id, [labor("BRK-0210"), part(PADS, "1")], approved_at=shop.clock.now())
    await shop.deliver(env)
    (job,) = await shop.jobs_of(env.subject)
    (reservation,) = await shop.reservations_of(env.subject)
    tech = await shop.technician()
    po = (await shop.clerk.post("/v1/purchase-orders", json={"lines": [{"part_no": PADS, "qty": 2}]})).json()
    receipt_id = (await shop.clerk.get("/v1/stock/receipts")).json()["items"][0]["id"]

    manager_b = shop.caller("store_manager", "manager-b", shop.other_store_id)
    clerk_b = shop.caller("parts_clerk", "clerk-b", shop.other_store_id)
    for caller, url in [
        (manager_b, f"/v1/jobs/{job['id']}"),
        (manager_b, f"/v1/repair-orders/{env.subject}"),
        (manager_b, f"/v1/technicians/{tech['id']}"),
        (clerk_b, f"/v1/reservations/{reservation['id']}"),
        (clerk_b, f"/v1/purchase-orders/{po['id']}"),
        (clerk_b, f"/v1/stock/receipts/{receipt_id}"),
        (clerk_b, f"/v1/stock/{PADS}?store_id={shop.store_id}"),
        (clerk_b, f"/v1/stock/{PADS}/movements?store_id={shop.store_id}"),
    ]:
        r = await caller.get(url)
        assert r.status_code == 404, (url, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")

    for caller, url, body in [
        (manager_b, f"/v1/jobs/{job['id']}/assign", {"technician_id": tech["id"]}),
        (manager_b, f"/v1/jobs/{job['id']}/start", None),
        (clerk_b, f"/v1/reservations/{reservation['id']}/issue", None),
        (clerk_b, f"/v1/purchase-orders/{po['id']}/receive", {"reference": "x", "lines": [{"part_no": PADS, "qty": 1}]}),
        (clerk_b, f"/v1/purchase-orders/{po['id']}/cancel", None),
        (clerk_b, "/v1/stock/issues", {"part_no": PADS, "qty": 1, "store_id": shop.store_id}),
    ]:
        r = await caller.post(url, json=body)
        assert r.status_code == 404, (url, r.status_code, r.text)
    r = await put(clerk_b, f"/v1/stock/{PADS}/reorder-policy",
                  {"reorder_point": 1, "reorder_quantity": 1, "store_id": shop.store_id})
    assert r.status_code == 404

    # Their own view of the same part is their own store's, empty, stock.
    own = (await clerk_b.get(f"/v1/stock/{PADS}")).json()
    assert (own["store_id"], own["on_hand"]) == (shop.other_store_id, 0)
    for caller, url in [(manager_b, "/v1/jobs"), (manager_b, "/v1/repair-orders"), (manager_b, "/v1/technicians"),
                        (clerk_b, "/v1/stock"), (clerk_b, "/v1/reservations"), (clerk_b, "/v1/purchase-orders"),
                        (clerk_b, "/v1/stock/receipts"), (manager_b, "/v1/comebacks")]:
        assert (await caller.get(url, params={"store_id": shop.store_id})).json()["items"] == [], url

    # Nothing of store A changed.
    assert (await shop.manager.get(f"/v1/jobs/{job['id']}")).json()["status"] == "pending"
    assert (await shop.stock(PADS))["on_hand"] == 3

    analyst = shop.caller("hq_analyst", "analyst-1")
    assert (await analyst.get(f"/v1/jobs/{job['id']}")).status_code == 200
    assert len((await analyst.get("/v1/stock")).json()["items"]) == 1
    assert (await analyst.post(f"/v1/reservations/{reservation['id']}/issue")).status_code == 403
    assert (await analyst.get(f"/v1/stock/{PADS}")).status_code == 422  # HQ names the store
    assert (await analyst.get(f"/v1/stock/{PADS}", params={"store_id": shop.store_id})).json()["on_hand"] == 3
