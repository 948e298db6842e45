"""Each state change writes exactly one event to the outbox, in the same transaction, and
the events carry what the other services need."""
from datetime import timedelta

from services.common.events.catalogue import catalogue
from tests.reception import factories


async def _added(reception, call) -> tuple[dict, list[tuple[str, str]]]:
    """Run one request; answer its body and the (type, subject) of each event it wrote."""
    before = len(await reception.outbox())
    r = await call
    assert r.status_code in (200, 201), r.text
    return r.json(), [(e["type"], e["subject"]) for e in (await reception.outbox())[before:]]


async def test_each_repair_order_state_change_writes_exactly_one_event(reception):
    a = reception.advisor
    appointment, events = await _added(reception, a.post("/v1/appointments", json=factories.appointment(
        reception.clock.now() + timedelta(hours=2))))
    assert events == [("reception.appointment.booked", appointment["id"])]
    # Check-in changes two things, the appointment and the new order: one event each.
    order, events = await _added(reception, a.post("/v1/repair-orders", json=factories.check_in(
        appointment_id=appointment["id"])))
    assert events == [("reception.appointment.checked_in", appointment["id"]),
                      ("reception.repair_order.opened", order["id"])]
    url = f"/v1/repair-orders/{order['id']}"
    _, events = await _added(reception, a.post(f"{url}/lines", json=factories.labour()))
    assert events == []  # a line is not a change of state
    # open → awaiting_approval has no event type in the contract (API.md lists none).
    _, events = await _added(reception, a.post(f"{url}/estimate"))
    assert events == []
    _, events = await _added(reception, a.post(f"{url}/approve", json={"approved_by": "Zhang Wei", "channel": "app"}))
    assert events == [("reception.repair_order.approved", order["id"])]
    await reception.deliver(factories.work_started(order, reception.clock.now()))
    await reception.deliver(factories.ready(order, reception.clock.now()))
    order = await reception.get_order(order)
    _, events = await _added(reception, a.post(f"{url}/settle", json={"payments": [
        {"method": "card", "amount_fen": order["totals"]["customer_due_fen"]}]}))
    assert events == [("reception.repair_order.settled", order["id"])]
    _, events = await _added(reception, a.post(f"{url}/deliver", json={"explained": True}))
    assert events == [("reception.repair_order.delivered", order["id"])]
    # A refused request writes nothing.
    before = len(await reception.outbox())
    assert (await a.post(f"{url}/cancel")).status_code == 409
    assert len(await reception.outbox()) == before


async def test_each_appointment_and_roadside_state_change_writes_exactly_one_event(reception):
    a = reception.advisor
    soon = reception.clock.now() + timedelta(hours=1)
    first, events = await _added(reception, a.post("/v1/appointments", json=factories.appointment(soon)))
    _, events = await _added(reception, a.post(f"/v1/appointments/{first['id']}/cancel"))
    assert events == [("reception.appointment.cancelled", first["id"])]
    second, _ = await _added(reception, a.post("/v1/appointments", json=factories.appointment(soon)))
    reception.clock.advance(hours=2)
    _, events = await _added(reception, a.post(f"/v1/appointments/{second['id']}/no-show"))
    assert events == [("reception.appointment.no_show", second["id"])]
    order, _ = await _added(reception, a.post("/v1/repair-orders", json=factories.check_in()))
    _, events = await _added(reception, a.post(f"/v1/repair-orders/{order['id']}/cancel", json={"reason": "declined"}))
    assert events == [("reception.repair_order.cancelled", order["id"])]

    req, events = await _added(reception, a.post("/v1/roadside-requests", json=factories.roadside(mileage_km=8000)))
    assert events == [("reception.roadside.requested", req["id"])]
    # Dispatch and arrival have no event of their own; roadside.resolved carries their times.
    for action, body in (("dispatch", {"responder": "Tow truck 1"}), ("arrive", None)):
        _, events = await _added(reception, a.post(f"/v1/roadside-requests/{req['id']}/{action}", json=body))
        assert events == []
    req, events = await _added(reception, a.post(f"/v1/roadside-requests/{req['id']}/resolve", json={"outcome": "towed"}))
    assert events == [("reception.repair_order.opened", req["repair_order_id"]), ("reception.roadside.resolved", req["id"])]


async def test_events_carry_what_other_services_need(reception):
    lines = [factories.labour("ELE-0320", pay_type="warranty"), factories.part("XB-31100-A18", pay_type="warranty"),
             factories.labour("MNT-0100"), factories.part("XB-15400-001"), factories.part("XB-08880-430")]
    order = await reception.ready_order(lines=lines, mileage_km=15000)
    order = await reception.settle(order)
    await reception.act(order, "deliver", {"explained": True})
    envelopes = {e["type"]: e for e in await reception.outbox(subject=order["id"])}
    for envelope in envelopes.values():
        # Every payload reads back through its catalogue model, and the envelope is routed to this order.
        catalogue[envelope["type"]].model_validate(envelope["data"])
        assert envelope["storeid"] == reception.store_id and envelope["subject"] == order["id"]
        assert envelope["source"] == "/services/reception"
    opened = envelopes["reception.repair_order.opened"]["data"]
    assert opened["number"] == order["number"] and opened["mileage_km"] == 15000
    assert opened["customer"]["phone"] == "13800138000" and opened["vehicle"]["sold_at"] == "2025-03-15"
    assert opened["advisor"]["id"] == "advisor-li" and opened["inspection"]["fuel_level"] == "half"
    approved = envelopes["reception.repair_order.approved"]["data"]
    assert [(l["kind"], l["op_code"], l["part_no"], l["pay_type"]) for l in approved["lines"]] == [
        ("labor", "ELE-0320", None, "warranty"), ("part", None, "XB-31100-A18", "warranty"),
        ("labor", "MNT-0100", None, "customer"), ("part", None, "XB-15400-001", "customer"),
        ("part", None, "XB-08880-430", "customer")]
    alternator = approved["lines"][0]
    assert (alternator["quantity"], alternator["flat_rate_hours"], alternator["amount_fen"]) == ("1.8", "1.8", 68400)
    settled = envelopes["reception.repair_order.settled"]["data"]
    assert settled["invoice_no"] == order["invoice"]["number"]
    assert settled["totals"] == {**order["totals"], "vat_rate": "0.13"}
    assert settled["totals"]["warranty_fen"] == 68400 + 320000
    assert sum(l["amount_fen"] for l in settled["lines"]) == settled["totals"]["subtotal_fen"]
    assert settled["payments"] == [{"method": "wechat_pay", "amount_fen": order["totals"]["customer_due_fen"],
                                    "reference": None}]
    delivered = envelopes["reception.repair_order.delivered"]["data"]
    assert delivered["delivered_by"] == "advisor-li" and delivered["settled_at"] == settled["settled_at"]
    assert len(delivered["lines"]) == 5 and delivered["totals"] == settled["totals"]
