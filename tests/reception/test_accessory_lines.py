"""Accessory lines (issue 18): priced from data/accessories.json by code, customer-paid with
VAT, an unknown code refused naming the field, counted in the order's totals and carried
by the settled and delivered events with the advisor, so network credits them to the advisor.
The catalogue is served as GET /v1/accessories."""
from __future__ import annotations

from services.common import reference
from tests.reception import factories


def accessory(code: str, **over) -> dict:
    return {"kind": "accessory", "accessory_code": code, **over}


async def test_the_catalogue_is_served_chinese_first_with_english(reception):
    r = await reception.advisor.get("/v1/accessories")
    assert r.status_code == 200, r.text
    items = {a["code"]: a for a in r.json()["items"]}
    assert items.keys() == reference.accessories().keys() and len(items) >= 12
    assert (items["ACC-DASHCAM"]["name_zh"], items["ACC-DASHCAM"]["price_fen"]) == ("前后双录行车记录仪", 89900)
    films = (await reception.advisor.get("/v1/accessories?category=film")).json()["items"]
    assert films and {a["category"] for a in films} == {"film"}
    assert [a["code"] for a in (await reception.advisor.get("/v1/accessories?q=脚垫")).json()["items"]] == [
        "ACC-MAT-3D"]


async def test_an_accessory_line_is_priced_from_the_catalogue_and_counted_in_the_totals(reception):
    order = await reception.open_order()
    order = await reception.add_line(order, factories.labour())
    labour = order["lines"][0]["amount_fen"]
    order = await reception.add_line(order, accessory("ACC-MUDFLAP", quantity="2"))
    order = await reception.add_line(order, accessory("ACC-FILM-FULL"))

    mud_flaps, film = order["lines"][1], order["lines"][2]
    assert (mud_flaps["kind"], mud_flaps["accessory_code"], mud_flaps["unit_price_fen"], mud_flaps["amount_fen"],
            mud_flaps["pay_type"]) == ("accessory", "ACC-MUDFLAP", 32000, 64000, "customer")
    assert mud_flaps["description"] == "挡泥板（四只） Mud flaps, set of four"
    assert film["amount_fen"] == 398000
    totals = order["totals"]
    assert totals["customer_fen"] == totals["subtotal_fen"] == labour + 64000 + 398000
    assert totals["tax_fen"] == round((labour + 64000 + 398000) * 0.13)  # every amount here is whole: no half-fen
    assert totals["customer_due_fen"] == totals["customer_fen"] + totals["tax_fen"]


async def test_an_unknown_code_or_a_payer_other_than_the_customer_is_refused_naming_the_field(reception):
    order = await reception.open_order()
    url = f"/v1/repair-orders/{order['id']}/lines"
    refusals = [
        (accessory("ACC-NO-SUCH"), "accessory_code"),
        ({"kind": "accessory"}, "accessory_code"),
        (accessory("ACC-DASHCAM", pay_type="warranty"), "pay_type"),
        (accessory("ACC-DASHCAM", quantity="1.5"), "quantity"),
        (accessory("ACC-DASHCAM", part_no="XB-45022-F10"), "part_no"),
        (factories.part(accessory_code="ACC-DASHCAM"), "accessory_code"),
    ]
    for body, field in refusals:
        r = await reception.advisor.post(url, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field, body
    assert (await reception.get_order(order))["lines"] == []


async def test_the_settled_and_delivered_events_carry_the_accessories_and_the_advisor(reception):
    order = await reception.ready_order([factories.labour(), accessory("ACC-DASHCAM"), accessory("ACC-MAT-3D")])
    order = await reception.settle(order)
    await reception.act(order, "deliver", {"explained": True})

    (settled,) = await reception.outbox("reception.repair_order.settled", subject=order["id"])
    (delivered,) = await reception.outbox("reception.repair_order.delivered", subject=order["id"])
    for event in (settled["data"], delivered["data"]):
        assert event["accessories_fen"] == 89900 + 128000
        sold = [line for line in event["lines"] if line["kind"] == "accessory"]
        assert sorted(line["accessory_code"] for line in sold) == ["ACC-DASHCAM", "ACC-MAT-3D"]
        assert event["advisor"]["id"] == order["advisor"]["id"]
        assert event["totals"]["customer_fen"] == order["totals"]["customer_fen"]
