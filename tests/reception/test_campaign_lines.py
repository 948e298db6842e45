"""Campaign and first-maintenance lines: the brand pays them, so they are not in what the
customer owes; a campaign's work goes on the order in one action, for an open campaign of
the car, once."""
from __future__ import annotations

from datetime import date

from tests.reception import factories
from tests.reception import network_events as nw

CAMPAIGN = "cmp-rc-2026-014"
CAR = "LRCAL000000000042"
# Labour at the store's default rate, 380.00 CNY an hour, for the campaign's 0.5 flat hours;
# the fuel pump relay at its list price, 90.00 CNY.
LABOUR_FEN, RELAY_FEN = 19000, 9000


async def _recall(reception, vins: list[str] | None = None, **over) -> None:
    at = reception.clock.now()
    vins = vins or [CAR]
    dates = dict(starts_on=date(2026, 11, 1), ends_on=date(2027, 6, 30))
    await reception.deliver(nw.published(CAMPAIGN, vin_count=len(vins), at=at, **dates, **over))
    for chunk in nw.chunks(CAMPAIGN, vins, at=at, **dates, **over):
        await reception.deliver(chunk)


def _url(order: dict) -> str:
    return f"/v1/repair-orders/{order['id']}/campaign-lines"


async def test_the_campaign_line_is_added_in_one_action_priced_and_paid_by_the_brand(reception):
    await _recall(reception)
    order = await reception.open_order(vehicle=factories.vehicle(vin=CAR))
    order = await reception.add_line(order, factories.labour("BRK-0210"))  # the customer's own brake job, 38000
    r = await reception.advisor.post(_url(order), json={"campaign_code": "RC-2026-014"})
    assert r.status_code == 201, r.text
    order = r.json()
    labour, relay = order["lines"][1:]
    assert {k: labour[k] for k in ("kind", "op_code", "quantity", "flat_rate_hours", "unit_price_fen", "amount_fen",
                                   "pay_type", "campaign_code", "description")} == {
        "kind": "labor", "op_code": "RCL-2026-01", "quantity": "0.5", "flat_rate_hours": "0.5",
        "unit_price_fen": 38000, "amount_fen": LABOUR_FEN, "pay_type": "campaign", "campaign_code": "RC-2026-014",
        "description": "RC-2026-014 燃油泵继电器更换 Fuel pump relay replacement"}
    assert {k: relay[k] for k in ("kind", "part_no", "quantity", "unit_price_fen", "amount_fen", "pay_type",
                                  "campaign_code")} == {
        "kind": "part", "part_no": "XB-39794-FPR", "quantity": "1", "unit_price_fen": RELAY_FEN,
        "amount_fen": RELAY_FEN, "pay_type": "campaign", "campaign_code": "RC-2026-014"}
    t = order["totals"]
    assert (t["customer_fen"], t["campaign_fen"], t["warranty_fen"], t["first_maintenance_fen"]) == (
        38000, LABOUR_FEN + RELAY_FEN, 0, 0)
    assert t["tax_fen"] == 4940 and t["customer_due_fen"] == 42940  # the campaign's work carries no VAT to the customer
    assert t["subtotal_fen"] == 38000 + LABOUR_FEN + RELAY_FEN
    # Settled: the brand is the campaign's payer, and the event names the campaign on its lines.
    await reception.act(order, "estimate")
    await reception.act(order, "approve", {"approved_by": "Zhang Wei", "channel": "in_person"})
    reception.clock.advance(minutes=30)
    await reception.deliver(factories.work_started(order, reception.clock.now()))
    await reception.deliver(factories.ready(order, reception.clock.now()))
    settled = await reception.settle(await reception.get_order(order))
    payers = {p["payer"]: p for p in settled["invoice"]["payers"]}
    assert payers["brand"] == {"payer": "brand", "name": "brand", "pay_types": ["campaign"],
                               "amount_fen": LABOUR_FEN + RELAY_FEN, "tax_fen": 0,
                               "total_fen": LABOUR_FEN + RELAY_FEN, "claim_no": None,
                               "excess_fen": 0, "write_off_fen": 0}  # an insurer's figures; none here
    (event,) = await reception.outbox("reception.repair_order.settled", subject=order["id"])
    assert [(line["pay_type"], line["campaign_code"]) for line in event["data"]["lines"]] == [
        ("customer", None), ("campaign", "RC-2026-014"), ("campaign", "RC-2026-014")]
    assert event["data"]["totals"]["campaign_fen"] == LABOUR_FEN + RELAY_FEN


async def test_a_campaign_the_car_is_not_in_or_already_on_the_order_is_409(reception):
    await _recall(reception)
    stranger = await reception.open_order()
    r = await reception.advisor.post(_url(stranger), json={"campaign_code": "RC-2026-014"})
    assert r.status_code == 409 and r.json()["campaign_code"] == "RC-2026-014", r.text
    order = await reception.open_order(vehicle=factories.vehicle(vin=CAR))
    r = await reception.advisor.post(_url(order), json={"campaign_code": "RC-2099-001"})
    assert r.status_code == 409, r.text
    assert (await reception.advisor.post(_url(order), json={"campaign_code": "RC-2026-014"})).status_code == 201
    again = await reception.advisor.post(_url(order), json={"campaign_code": "RC-2026-014"})
    assert again.status_code == 409 and "already" in again.json()["detail"], again.text
    assert len((await reception.get_order(order))["lines"]) == 2
    # Done for the car (network's word): no longer open, so refused at the next order too.
    await reception.deliver(nw.completed(CAMPAIGN, CAR, store_id=reception.store_id, at=reception.clock.now()))
    later = await reception.open_order(vehicle=factories.vehicle(vin=CAR), mileage_km=12100)
    assert (await reception.advisor.post(_url(later), json={"campaign_code": "RC-2026-014"})).status_code == 409


async def test_campaign_lines_after_approval_are_one_supplement_round(reception):
    await _recall(reception)
    order = await reception.approved_order(vehicle=factories.vehicle(vin=CAR))
    r = await reception.advisor.post(_url(order), json={"campaign_code": "RC-2026-014"})
    assert r.status_code == 201, r.text
    assert r.json()["awaiting_supplement_approval"] is True
    assert [line["supplement"] for line in r.json()["lines"][-2:]] == [True, True]
    (proposed,) = await reception.outbox("reception.repair_order.extra_work_proposed", subject=order["id"])
    assert proposed["data"]["customer_fen"] == 0 and proposed["data"]["amount_fen"] == LABOUR_FEN + RELAY_FEN


async def test_campaign_pay_on_an_ordinary_line_is_422_naming_pay_type(reception):
    await _recall(reception)
    order = await reception.open_order(vehicle=factories.vehicle(vin=CAR))
    r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/lines",
                                     json=factories.labour("RCL-2026-01", pay_type="campaign"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "pay_type", r.text
    r = await reception.advisor.post(_url(order), json={"campaign_code": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "campaign_code", r.text


async def test_first_maintenance_pays_maintenance_work_only_and_the_customer_owes_none_of_it(reception):
    order = await reception.open_order()
    order = await reception.add_line(order, factories.labour("MNT-0110", pay_type="first_maintenance"))  # 0.8 h
    order = await reception.add_line(order, factories.part("XB-15400-001", pay_type="first_maintenance"))  # 4500
    for line in (factories.labour("BRK-0210", pay_type="first_maintenance"),
                 factories.part("XB-45022-F10", pay_type="first_maintenance"),
                 {"kind": "fee", "description": "car wash", "unit_price_fen": 3000, "pay_type": "first_maintenance"}):
        r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/lines", json=line)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "pay_type", r.text
    t = (await reception.get_order(order))["totals"]
    assert (t["first_maintenance_fen"], t["customer_fen"], t["tax_fen"], t["customer_due_fen"]) == (
        30400 + 4500, 0, 0, 0)
    ready = await reception.ready_order(lines=[factories.labour("MNT-0110", pay_type="first_maintenance"),
                                               factories.labour("MNT-0200")])  # the customer's filters, 11400
    settled = await reception.settle(ready)
    payers = {p["payer"]: p for p in settled["invoice"]["payers"]}
    assert payers["brand"]["pay_types"] == ["first_maintenance"] and payers["brand"]["total_fen"] == 30400
    assert payers["customer"]["total_fen"] == 11400 + 1482


async def test_a_retried_campaign_lines_request_with_the_same_key_writes_once(reception):
    await _recall(reception)
    order = await reception.open_order(vehicle=factories.vehicle(vin=CAR))
    key = {"Idempotency-Key": "campaign-lines-5c1e"}
    first = await reception.advisor.post(_url(order), json={"campaign_code": "RC-2026-014"}, headers=key)
    again = await reception.advisor.post(_url(order), json={"campaign_code": "RC-2026-014"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = await reception.advisor.post(_url(order), json={"campaign_code": "SC-2026-003"}, headers=key)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key", other.text
    assert len((await reception.get_order(order))["lines"]) == 2
