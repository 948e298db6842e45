"""Accessory counter sales (issue 18): accessories of data/accessories.json sold without a
repair order, priced from the catalogue less a discount within the store's limit, VAT as
orders charge it; paid exactly, which writes reception.counter_sale.completed once with the
advisor who sold it; cancelled before payment only; listed per store and local day."""
from __future__ import annotations

from datetime import timedelta

from tests.support.platform import Caller

DASHCAM, MUDFLAP, PPF = "ACC-DASHCAM", "ACC-MUDFLAP", "ACC-PPF"  # 89,900, 32,000 and 1,280,000 fen each


def sale_body(*lines: dict, **over) -> dict:
    return {"lines": list(lines) or [{"accessory_code": DASHCAM}], **over}


async def ring_up(reception, body: dict | None = None, caller: Caller | None = None) -> dict:
    r = await (caller or reception.advisor).post("/v1/counter-sales", json=body or sale_body())
    assert r.status_code == 201, r.text
    return r.json()


async def pay(reception, sale: dict, caller: Caller | None = None, **kw):
    payments = [{"method": "wechat_pay", "amount_fen": sale["total_fen"]}]
    return await (caller or reception.advisor).post(f"/v1/counter-sales/{sale['id']}/pay",
                                                    json={"payments": payments}, **kw)


async def put_settings(caller: Caller, store_id: str, body: dict):
    return await caller.client.put(f"/v1/stores/{store_id}/counter-sale-settings", json=body,
                                   headers=caller._headers(None))


async def test_a_sale_is_priced_to_the_fen_with_its_discount_and_vat(reception):
    sale = await ring_up(reception, sale_body(
        {"accessory_code": DASHCAM, "discount_percent": "7.5"},
        {"accessory_code": MUDFLAP, "quantity": 3},
        customer={"name": "Zhang Wei", "phone": "13800138000"}, vin="lsvau2180n2183294"))

    dashcam, mudflaps = sale["lines"]
    # 89,900 × 92.5 % = 83,157.5 fen: rounded once, half up, as the tax office does.
    assert (dashcam["unit_price_fen"], dashcam["amount_fen"], dashcam["discount_fen"]) == (89900, 83158, 6742)
    assert dashcam["description"] == "前后双录行车记录仪 Front and rear dash cam"
    assert (mudflaps["quantity"], mudflaps["amount_fen"], mudflaps["discount_fen"]) == (3, 96000, 0)
    # VAT on the sale's sum, 13 %: 179,158 × 0.13 = 23,290.54 fen.
    assert (sale["list_fen"], sale["discount_fen"], sale["amount_fen"], sale["tax_fen"], sale["total_fen"]) == (
        185900, 6742, 179158, 23291, 202449)
    assert sale["vat_rate"] == "0.13" and sale["status"] == "open"
    assert sale["number"] == "CS-SH-PD-01-20261201-0001" and sale["sale_day"] == "2026-12-01"
    assert sale["vin"] == "LSVAU2180N2183294" and sale["customer"]["phone"] == "13800138000"
    assert sale["sold_by"]["id"] == "advisor-li" and sale["paid_by"] is None
    assert [h["action"] for h in sale["history"]] == ["ring_up"]

    again = await ring_up(reception)
    assert again["number"] == "CS-SH-PD-01-20261201-0002"
    # Nothing is announced until the buyer has paid.
    assert await reception.outbox("reception.counter_sale.completed") == []


async def test_payment_writes_the_completed_event_once_crediting_the_advisor(reception):
    sale = await ring_up(reception, sale_body({"accessory_code": PPF, "discount_percent": "10"},
                                              {"accessory_code": DASHCAM}))
    cashier = reception.caller("cashier", principal_id="cashier-wu")
    key = {"Idempotency-Key": "till-2-cs-1"}
    first = await pay(reception, sale, cashier, headers=key)
    assert first.status_code == 200, first.text
    replay = await pay(reception, sale, cashier, headers=key)
    assert replay.status_code == 200 and replay.json() == first.json()
    twice = await pay(reception, sale, cashier)
    assert twice.status_code == 409 and twice.json()["current_state"] == "paid"

    paid = first.json()
    assert paid["status"] == "paid" and paid["paid_by"]["id"] == "cashier-wu"
    assert paid["payments"] == [{"method": "wechat_pay", "amount_fen": paid["total_fen"], "reference": None}]
    (completed,) = await reception.outbox("reception.counter_sale.completed")
    event = completed["data"]
    assert completed["subject"] == sale["id"]
    assert (event["counter_sale_id"], event["number"], event["store_id"]) == (
        sale["id"], sale["number"], reception.store_id)
    assert event["sold_by"]["id"] == "advisor-li" and event["paid_by"]["id"] == "cashier-wu"
    # 1,280,000 × 90 % + 89,900 = 1,241,900; VAT 161,447.
    assert (event["amount_fen"], event["tax_fen"], event["total_fen"]) == (1241900, 161447, 1403347)
    assert [(line["kind"], line["accessory_code"], line["amount_fen"], line["pay_type"], line["quantity"])
            for line in event["lines"]] == [("accessory", PPF, 1152000, "customer", "1"),
                                            ("accessory", DASHCAM, 89900, "customer", "1")]
    assert event["customer"] is None and event["vin"] is None


async def test_bad_input_is_422_naming_the_field(reception):
    refusals = [
        (sale_body({"accessory_code": "ACC-NO-SUCH"}), "lines.0.accessory_code"),
        (sale_body({"accessory_code": DASHCAM}, {"accessory_code": MUDFLAP, "discount_percent": "10.01"}),
         "lines.1.discount_percent"),
        (sale_body({"accessory_code": DASHCAM, "quantity": 0}), "lines.0.quantity"),
        (sale_body({"accessory_code": PPF, "quantity": 1000}), "lines.0.quantity"),  # 12.8 million CNY on one line
        (sale_body({"accessory_code": DASHCAM, "discount_percent": "-1"}), "lines.0.discount_percent"),
        (sale_body(vin="LSVAU2180N218329O"), "vin"),
        (sale_body(customer={"name": "Zhang Wei"}), "customer.phone"),
        ({"lines": []}, "lines"),
        (sale_body(sold_by="someone-else"), "sold_by"),
    ]
    for body, field in refusals:
        r = await reception.advisor.post("/v1/counter-sales", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field, (body, r.text)
    assert (await reception.advisor.get("/v1/counter-sales")).json()["items"] == []

    sale = await ring_up(reception)
    url = f"/v1/counter-sales/{sale['id']}/pay"
    short = await reception.advisor.post(url, json={"payments": [{"method": "cash", "amount_fen": 1}]})
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "payments", short.text
    unknown = await reception.advisor.post(url, json={"payments": [{"method": "cheque", "amount_fen": 1}]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "payments.0.method", unknown.text
    assert await reception.outbox("reception.counter_sale.completed") == []


async def test_the_store_manager_sets_the_discount_limit_and_an_advisor_may_not(reception):
    default = await reception.advisor.get(f"/v1/stores/{reception.store_id}/counter-sale-settings")
    assert default.status_code == 200 and (default.json()["max_discount_percent"], default.json()["source"]) == (
        "10", "default")
    refused = await put_settings(reception.advisor, reception.store_id, {"max_discount_percent": "50"})
    assert refused.status_code == 403, refused.text

    manager = reception.caller("service_manager", principal_id="manager-zhao")
    raised = await put_settings(manager, reception.store_id, {"max_discount_percent": "20"})
    assert raised.status_code == 200, raised.text
    assert (raised.json()["source"], raised.json()["updated_by"]["id"]) == ("store", "manager-zhao")
    other = await put_settings(manager, reception.other_store_id, {"max_discount_percent": "90"})
    assert other.status_code == 404, other.text

    sale = await ring_up(reception, sale_body({"accessory_code": MUDFLAP, "discount_percent": "20"}))
    assert sale["amount_fen"] == 25600
    # The other store keeps the group's limit.
    r = await reception.other_advisor.post("/v1/counter-sales", json=sale_body(
        {"accessory_code": MUDFLAP, "discount_percent": "20"}))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lines.0.discount_percent", r.text


async def test_a_sale_is_cancelled_before_payment_and_not_after(reception):
    sale = await ring_up(reception)
    cancelled = await reception.advisor.post(f"/v1/counter-sales/{sale['id']}/cancel",
                                             json={"reason": "客户改主意 the buyer changed their mind"})
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["cancelled_by"]["id"]) == ("cancelled", "advisor-li")
    late = await pay(reception, sale)
    assert late.status_code == 409 and late.json()["current_state"] == "cancelled"

    paid = await ring_up(reception)
    assert (await pay(reception, paid)).status_code == 200
    r = await reception.advisor.post(f"/v1/counter-sales/{paid['id']}/cancel")
    assert r.status_code == 409 and r.json()["current_state"] == "paid"
    assert len(await reception.outbox("reception.counter_sale.completed")) == 1


async def test_a_store_sees_only_its_own_sales_by_local_day(reception):
    first = await ring_up(reception)
    reception.clock.advance(days=1)
    second = await ring_up(reception)
    theirs = await ring_up(reception, caller=reception.other_advisor)

    listed = (await reception.advisor.get("/v1/counter-sales")).json()["items"]
    assert [s["id"] for s in listed] == [second["id"], first["id"]]
    # Naming another store does not widen a store's view.
    named = await reception.advisor.get("/v1/counter-sales", params={"store_id": reception.other_store_id})
    assert [s["id"] for s in named.json()["items"]] == [second["id"], first["id"]]
    url = f"/v1/counter-sales/{theirs['id']}"
    assert (await reception.advisor.get(url)).status_code == 404
    assert (await pay(reception, theirs)).status_code == 404
    assert (await reception.advisor.post(f"{url}/cancel")).status_code == 404
    foreign = await reception.advisor.get(f"/v1/stores/{reception.other_store_id}/counter-sale-settings")
    assert foreign.status_code == 404

    day_one = first["sale_day"]
    day_two = (reception.clock.now() + timedelta(hours=8)).date().isoformat()
    assert second["sale_day"] == day_two
    only_first = await reception.advisor.get("/v1/counter-sales", params={"from": day_one, "to": day_one})
    assert [s["id"] for s in only_first.json()["items"]] == [first["id"]]
    only_second = await reception.advisor.get("/v1/counter-sales", params={"from": day_two})
    assert [s["id"] for s in only_second.json()["items"]] == [second["id"]]
    backwards = await reception.advisor.get("/v1/counter-sales", params={"from": day_two, "to": day_one})
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "from"

    every = (await reception.hq.get("/v1/counter-sales")).json()["items"]
    assert {s["id"] for s in every} == {first["id"], second["id"], theirs["id"]}
    one_store = await reception.hq.get("/v1/counter-sales", params={"store_id": reception.other_store_id})
    assert [s["id"] for s in one_store.json()["items"]] == [theirs["id"]]
    by_number = await reception.hq.get("/v1/counter-sales", params={"number": theirs["number"]})
    assert [s["id"] for s in by_number.json()["items"]] == [theirs["id"]]
