"""Repair orders over HTTP (PostgreSQL, in-process; workshop's events applied with `deliver`)."""
from datetime import timedelta

from services.common.events.catalogue.network import StoreSuspended
from tests.reception import factories
from tests.support.events import envelope_for
from tests.support.platform import Caller


async def test_check_in_opens_an_order_numbered_by_store_and_local_day_with_the_caller_as_advisor(reception):
    first = await reception.open_order()
    second = await reception.open_order()
    assert first["number"] == "SH-PD-01-20261201-0001"
    assert second["number"] == "SH-PD-01-20261201-0002"
    assert first["status"] == "open"
    assert first["advisor"] == {"id": "advisor-li", "person_id": "advisor-li", "name": "advisor-li",
                                "role": "service_advisor", "credential": None}
    assert first["inspection"]["exterior_damage"] == [{"position": "rear_bumper", "kind": "scratch",
                                                       "note": "10 cm, left side"}]
    assert first["inspection"]["fuel_level"] == "half"
    assert first["store_id"] == reception.store_id


async def test_who_fields_name_the_person_and_the_key_or_sign_in_they_used(reception):
    # As the gateway signs a key issued to a person: the person's id and name, the key as credential.
    wang = Caller(reception.client, "service_advisor", reception.store_id, "person-wang", name="王芳",
                  credential="key:k-wang-1")
    order = await reception.open_order(caller=wang)
    who = {"id": "person-wang", "person_id": "person-wang", "name": "王芳", "role": "service_advisor",
           "credential": "key:k-wang-1"}
    assert order["advisor"] == who
    with_line = await reception.add_line(order, factories.labour(), caller=wang)
    assert with_line["lines"][-1]["added_by"] == who
    # The same person signed in on a tablet: another credential, the same person.
    tablet = Caller(reception.client, "service_advisor", reception.store_id, "person-wang", name="王芳",
                    credential="token:s-tablet")
    estimated = await reception.act(order, "estimate", caller=tablet)
    assert [h["by"] for h in estimated["history"]] == [who, {**who, "credential": "token:s-tablet"}]
    [opened] = await reception.outbox("reception.repair_order.opened", subject=order["id"])
    assert opened["data"]["advisor"] == {"id": "person-wang", "name": "王芳", "role": "service_advisor",
                                         "credential": "key:k-wang-1"}


async def test_numbers_follow_the_store_local_day_not_utc(reception):
    # 16:30 UTC on 1 December is 00:30 on 2 December in Shanghai.
    reception.clock.set(reception.clock.now().replace(hour=16, minute=30))
    order = await reception.open_order()
    assert order["number"] == "SH-PD-01-20261202-0001"


async def test_each_store_numbers_its_own_orders(reception):
    await reception.open_order()
    other = await reception.open_order(caller=reception.other_advisor)
    assert other["number"] == "BJ-CY-01-20261201-0001"


async def test_walk_in_without_vehicle_is_422_naming_the_field(reception):
    body = factories.check_in()
    del body["vehicle"]
    r = await reception.advisor.post("/v1/repair-orders", json=body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "vehicle"


async def test_bad_vin_and_missing_inspection_are_422_naming_the_field(reception):
    r = await reception.advisor.post("/v1/repair-orders", json=factories.check_in(vehicle=factories.vehicle(vin="LSVAU2180NO000001")))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "vehicle.vin"
    body = factories.check_in()
    del body["inspection"]
    r = await reception.advisor.post("/v1/repair-orders", json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "inspection"


async def test_mileage_lower_than_the_last_seen_in_this_store_needs_a_correction_reason(reception):
    car = factories.vehicle()
    await reception.open_order(vehicle=car, mileage_km=30000)
    r = await reception.advisor.post("/v1/repair-orders", json=factories.check_in(vehicle=car, mileage_km=29000))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "mileage_km"
    assert r.json()["last_mileage_km"] == 30000
    # Another store has not seen this car, so the same reading is fine there.
    await reception.open_order(caller=reception.other_advisor, vehicle=car, mileage_km=29000)
    corrected = await reception.open_order(vehicle=car, mileage_km=29000,
                                           mileage_correction_reason="instrument cluster replaced")
    assert corrected["mileage_correction_reason"] == "instrument cluster replaced"
    # The corrected reading is now the last one seen.
    await reception.open_order(vehicle=car, mileage_km=29500)


async def test_hq_checks_in_only_naming_a_store(reception):
    r = await reception.hq.post("/v1/repair-orders", json=factories.check_in())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "store_id"
    order = await reception.open_order(caller=reception.hq, store_id=reception.other_store_id)
    assert order["store_id"] == reception.other_store_id and order["number"].startswith("BJ-CY-01-")


async def test_a_store_unknown_or_suspended_takes_no_new_orders(reception):
    stranger = reception.caller("service_advisor", "store-not-known")
    r = await stranger.post("/v1/repair-orders", json=factories.check_in())
    assert r.status_code == 409
    r = await reception.hq.post("/v1/repair-orders", json=factories.check_in(store_id="store-not-known"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "store_id"
    await reception.deliver(envelope_for(
        StoreSuspended(store_id=reception.store_id, code="SH-PD-01", name="Store SH-PD-01", kind="dealer_store",
                       status="suspended", reason="audit", suspended_at=reception.clock.now()),
        subject=reception.store_id, store_id=reception.store_id))
    r = await reception.advisor.post("/v1/repair-orders", json=factories.check_in())
    assert r.status_code == 409 and r.json()["current_state"] == "suspended"


async def test_lines_are_priced_from_the_catalogue_and_totals_follow(reception):
    order = await reception.open_order()
    order = await reception.add_line(order, factories.labour("BRK-0210"))
    order = await reception.add_line(order, factories.part("XB-45022-F10"))
    order = await reception.add_line(order, {"kind": "fee", "description": "brake fluid disposal", "unit_price_fen": 1550})
    labour, part, fee = order["lines"]
    assert (labour["quantity"], labour["unit_price_fen"], labour["amount_fen"]) == ("1.0", 38000, 38000)
    assert labour["flat_rate_hours"] == "1.0"
    assert (part["quantity"], part["unit_price_fen"], part["amount_fen"]) == ("1", 68000, 68000)
    assert fee["amount_fen"] == 1550
    assert order["totals"]["customer_fen"] == 107550
    assert order["totals"]["tax_fen"] == 13982  # 13981.5 rounds half up
    assert order["totals"]["customer_due_fen"] == 121532
    assert [l["position"] for l in order["lines"]] == [1, 2, 3]


async def test_a_warranty_line_for_wear_parts_is_422(reception):
    order = await reception.open_order()
    r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/lines",
                                     json=factories.labour("BRK-0210", pay_type="warranty"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "pay_type"
    r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/lines", json={**factories.part(), "quantity": 0.5})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "quantity"


async def test_insurance_jobs_carry_insurer_and_claim_number(reception):
    order = await reception.open_order()
    r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/lines",
                                     json=factories.labour("BDY-0200", pay_type="insurance"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "pay_type"
    r = await reception.advisor.client.put(
        f"/v1/repair-orders/{order['id']}/insurance",
        json={"insurer": "PICC", "claim_no": "PICC-2026-0042", "accident_date": "2026-11-30"},
        headers=reception.advisor._headers(None))
    assert r.status_code == 200, r.text
    order = await reception.add_line(r.json(), factories.labour("BDY-0200", pay_type="insurance"))
    assert order["insurance"]["claim_no"] == "PICC-2026-0042"
    assert order["totals"]["insurance_fen"] == 152000 and order["totals"]["tax_fen"] == 0


async def test_removing_lines_only_before_the_customer_approved_them(reception):
    order = await reception.approved_order()
    approved_line = order["lines"][0]
    r = await reception.advisor.delete(f"/v1/repair-orders/{order['id']}/lines/{approved_line['id']}")
    assert r.status_code == 409 and r.json()["current_state"] == "approved"
    order = await reception.add_line(order, factories.labour("SUS-0320"))
    supplement = order["lines"][-1]
    before = order["totals"]["customer_fen"]
    r = await reception.advisor.delete(f"/v1/repair-orders/{order['id']}/lines/{supplement['id']}")
    assert r.status_code == 200
    assert r.json()["totals"]["customer_fen"] == before - supplement["amount_fen"]
    assert r.json()["awaiting_supplement_approval"] is False


async def test_supplements_need_their_own_approval_and_only_they_are_sent_on(reception):
    order = await reception.approved_order()
    first_lines = {l["id"] for l in order["lines"]}
    order = await reception.add_line(order, factories.part("XB-45251-D20", quantity="2"))
    supplement = order["lines"][-1]
    assert supplement["supplement"] is True and supplement["approved"] is False
    assert order["awaiting_supplement_approval"] is True
    assert order["status"] == "approved"
    order = await reception.act(order, "approve", {"approved_by": "Zhang Wei", "channel": "phone"})
    assert order["status"] == "approved" and order["awaiting_supplement_approval"] is False
    assert [a["supplement"] for a in order["approvals"]] == [False, True]
    assert order["approvals"][1]["line_ids"] == [supplement["id"]]
    assert order["approvals"][1]["channel"] == "phone"
    events = await reception.outbox("reception.repair_order.approved", order["id"])
    assert len(events) == 2
    assert {l["line_id"] for l in events[0]["data"]["lines"]} == first_lines
    assert events[1]["data"]["supplement"] is True
    assert [l["line_id"] for l in events[1]["data"]["lines"]] == [supplement["id"]]
    # Nothing left to approve.
    r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/approve",
                                     json={"approved_by": "Zhang Wei", "channel": "phone"})
    assert r.status_code == 409 and r.json()["current_state"] == "approved"


async def test_settlement_waits_for_pending_supplements(reception):
    order = await reception.approved_order()
    await reception.deliver(factories.work_started(order, reception.clock.now()))
    order = await reception.add_line(await reception.get_order(order), factories.labour("SUS-0320"))
    assert order["status"] == "in_progress" and order["lines"][-1]["supplement"] is True
    await reception.deliver(factories.ready(order, reception.clock.now()))
    order = await reception.get_order(order)
    r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/settle",
                                     json={"payments": [{"method": "cash", "amount_fen": order["totals"]["customer_due_fen"]}]})
    assert r.status_code == 409 and r.json()["current_state"] == "ready"


async def test_settlement_splits_the_invoice_by_payer_and_payments_must_match_exactly(reception):
    order = await reception.open_order(insurance={"insurer": "Ping An", "claim_no": "PA-77"})
    lines = [
        factories.labour("BRK-0210"),                                   # customer 38000
        factories.labour("ELE-0110", pay_type="warranty"),              # brand 0.4 h = 15200
        factories.part("XB-31500-B60", pay_type="warranty"),            # brand 88000
        factories.labour("BDY-0100", pay_type="insurance"),             # insurer 3.5 h = 133000
        factories.labour("INS-0100", pay_type="internal"),              # store 0.7 h = 26600
        factories.part("XB-76622-WPR", pay_type="goodwill"),            # store 16000
    ]
    for line in lines:
        order = await reception.add_line(order, line)
    order = await reception.act(order, "estimate")
    # The insurer's assessment (定损) comes before the work; it approves the bodywork in full.
    insured = next(line for line in order["lines"] if line["pay_type"] == "insurance")
    r = await reception.advisor.client.put(f"/v1/repair-orders/{order['id']}/assessment", json={
        "insurer": "Ping An", "claim_no": "PA-77", "assessor": {"name": "Sun Li", "phone": "95511"},
        "lines": [{"line_id": insured["id"], "approved_fen": insured["amount_fen"]}],
        "approved_total_fen": insured["amount_fen"], "excess_fen": 0}, headers=reception.advisor._headers(None))
    assert r.status_code == 200, r.text
    await reception.act(order, "approve", {"approved_by": "Zhang Wei", "channel": "in_person"})
    reception.clock.advance(minutes=30)
    await reception.deliver(factories.work_started(order, reception.clock.now()))
    reception.clock.advance(hours=2)
    await reception.deliver(factories.ready(order, reception.clock.now()))
    order = await reception.get_order(order)
    t = order["totals"]
    assert (t["customer_fen"], t["warranty_fen"], t["insurance_fen"], t["internal_fen"], t["goodwill_fen"]) == (
        38000, 103200, 133000, 26600, 16000)
    assert t["tax_fen"] == 4940 and t["customer_due_fen"] == 42940
    assert t["subtotal_fen"] == sum(l["amount_fen"] for l in order["lines"]) == 316800
    url = f"/v1/repair-orders/{order['id']}/settle"
    for wrong in ([{"method": "cash", "amount_fen": 42939}], [{"method": "card", "amount_fen": 42941}], []):
        r = await reception.advisor.post(url, json={"payments": wrong})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "payments", r.text
    r = await reception.advisor.post(url, json={"payments": [{"method": "bitcoin", "amount_fen": 42940}]})
    assert r.status_code == 422
    r = await reception.advisor.post(url, json={"payments": [{"method": "cash", "amount_fen": 42940.0}]})
    assert r.status_code == 422  # fen are whole numbers
    settled = await reception.act(order, "settle", {"payments": [
        {"method": "cash", "amount_fen": 10000}, {"method": "alipay", "amount_fen": 32940, "reference": "2026120122001"}]})
    invoice = settled["invoice"]
    assert settled["status"] == "settled"
    assert invoice["number"] == "INV-SH-PD-01-20261201-0001"
    payers = {p["payer"]: p for p in invoice["payers"]}
    assert payers["customer"]["total_fen"] == 42940 and payers["customer"]["tax_fen"] == 4940
    assert payers["brand"]["total_fen"] == 103200
    assert payers["insurer"]["name"] == "Ping An" and payers["insurer"]["claim_no"] == "PA-77"
    assert payers["insurer"]["total_fen"] == 133000
    assert payers["store"]["total_fen"] == 42600 and payers["store"]["pay_types"] == ["internal", "goodwill"]
    assert sum(p["total_fen"] for p in invoice["payers"]) == t["subtotal_fen"] + t["tax_fen"]
    assert sum(p["amount_fen"] for p in invoice["payments"]) == t["customer_due_fen"]


async def test_a_fully_covered_order_settles_with_no_payment(reception):
    order = await reception.ready_order(lines=[factories.labour("RCL-2026-01", pay_type="warranty"),
                                               factories.part("XB-39794-FPR", pay_type="warranty")])
    assert order["totals"]["customer_due_fen"] == 0
    settled = await reception.act(order, "settle", {"payments": []})
    assert [p["payer"] for p in settled["invoice"]["payers"]] == ["customer", "brand"]


async def test_handover_needs_settlement_and_explanation_and_records_who(reception):
    order = await reception.ready_order()
    r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/deliver", json={"explained": True})
    assert r.status_code == 409 and r.json()["current_state"] == "ready"
    order = await reception.settle(order)
    r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/deliver", json={"explained": False})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "explained"
    delivered = await reception.act(order, "deliver", {"delivered_by": "Li Na", "explained": True,
                                                       "notes": "old pads returned in the boot"})
    assert delivered["status"] == "delivered"
    assert delivered["delivery"]["delivered_by"] == "Li Na" and delivered["delivery"]["explained"] is True
    assert delivered["delivery"]["recorded_by"]["id"] == "advisor-li"


async def test_history_keeps_every_state_change_with_who_when_from_and_to(reception):
    order = await reception.ready_order()
    order = await reception.settle(order)
    order = await reception.act(order, "deliver", {"explained": True})
    steps = [(h["from_status"], h["to_status"], h["by"]["id"]) for h in order["history"]]
    assert steps == [
        (None, "open", "advisor-li"), ("open", "awaiting_approval", "advisor-li"),
        ("awaiting_approval", "approved", "advisor-li"), ("approved", "in_progress", "workshop"),
        ("in_progress", "ready", "workshop"), ("ready", "settled", "advisor-li"), ("settled", "delivered", "advisor-li"),
    ]
    times = [h["at"] for h in order["history"]]
    assert times == sorted(times) and order["history"][3]["at"] == "2026-12-01T01:30:00Z"
    assert order["version"] > 7


async def test_a_stale_version_is_412_and_the_current_one_passes(reception):
    order = await reception.open_order()
    order = await reception.add_line(order, factories.labour())
    r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/estimate",
                                     headers={"If-Match": f'"{order["version"] - 1}"'})
    assert r.status_code == 412 and r.json()["current_version"] == order["version"]
    r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/estimate",
                                     headers={"If-Match": f'"{order["version"]}"'})
    assert r.status_code == 200 and r.headers["ETag"] == f'"{r.json()["version"]}"'


async def test_a_store_principal_gets_404_for_another_stores_order(reception):
    order = await reception.open_order()
    for call in (
        reception.other_advisor.get(f"/v1/repair-orders/{order['id']}"),
        reception.other_advisor.post(f"/v1/repair-orders/{order['id']}/lines", json=factories.labour()),
        reception.other_advisor.post(f"/v1/repair-orders/{order['id']}/cancel"),
    ):
        r = await call
        assert r.status_code == 404, r.text
    listed = (await reception.other_advisor.get("/v1/repair-orders")).json()["items"]
    assert order["id"] not in [o["id"] for o in listed]
    # A store principal cannot widen the list by naming another store: it still sees only its own.
    own = await reception.open_order(caller=reception.other_advisor)
    listed = (await reception.other_advisor.get(f"/v1/repair-orders?store_id={reception.store_id}")).json()["items"]
    assert [o["id"] for o in listed] == [own["id"]]
    # HQ sees every store, and can narrow to one.
    assert (await reception.hq.get(f"/v1/repair-orders/{order['id']}")).status_code == 200
    hq_list = (await reception.hq.get(f"/v1/repair-orders?store_id={reception.store_id}")).json()["items"]
    assert [o["id"] for o in hq_list] == [order["id"]]


async def test_read_only_roles_read_but_do_not_write(reception):
    order = await reception.open_order()
    technician = reception.caller("technician")
    assert (await technician.get(f"/v1/repair-orders/{order['id']}")).status_code == 200
    r = await technician.post(f"/v1/repair-orders/{order['id']}/lines", json=factories.labour())
    assert r.status_code == 403
    analyst = reception.caller("hq_analyst")
    assert (await analyst.post("/v1/repair-orders", json=factories.check_in(store_id=reception.store_id))).status_code == 403
    unsigned = await reception.client.get(f"/v1/repair-orders/{order['id']}")
    assert unsigned.status_code == 401


async def test_list_filters_by_status_and_vin_and_pages(reception):
    car = factories.vehicle()
    mine = await reception.open_order(vehicle=car)
    for _ in range(3):
        await reception.open_order()
    r = await reception.advisor.get(f"/v1/repair-orders?vin={car['vin'].lower()}")
    assert [o["id"] for o in r.json()["items"]] == [mine["id"]]
    page = (await reception.advisor.get("/v1/repair-orders?status=open&limit=3")).json()
    assert len(page["items"]) == 3 and page["next_cursor"]
    rest = (await reception.advisor.get(f"/v1/repair-orders?status=open&limit=3&cursor={page['next_cursor']}")).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert (await reception.advisor.get("/v1/repair-orders?status=delivered")).json()["items"] == []


async def test_retried_check_in_with_the_same_key_makes_one_order(reception):
    body = factories.check_in()
    key = {"Idempotency-Key": "checkin-7f3a"}
    first = await reception.advisor.post("/v1/repair-orders", json=body, headers=key)
    again = await reception.advisor.post("/v1/repair-orders", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert len((await reception.advisor.get("/v1/repair-orders")).json()["items"]) == 1
    assert len(await reception.outbox("reception.repair_order.opened")) == 1
    other = await reception.advisor.post("/v1/repair-orders", json={**body, "mileage_km": 12001}, headers=key)
    assert other.status_code == 422
    assert len((await reception.advisor.get("/v1/repair-orders")).json()["items"]) == 1


async def test_retried_settlement_with_the_same_key_makes_one_invoice(reception):
    order = await reception.ready_order()
    url = f"/v1/repair-orders/{order['id']}/settle"
    body = {"payments": [{"method": "card", "amount_fen": order["totals"]["customer_due_fen"]}]}
    key = {"Idempotency-Key": "settle-91"}
    first = await reception.advisor.post(url, json=body, headers=key)
    again = await reception.advisor.post(url, json=body, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json()["invoice"]["number"] == first.json()["invoice"]["number"]
    assert len(await reception.outbox("reception.repair_order.settled")) == 1
    other = await reception.advisor.post(url, json={"payments": [{"method": "cash", "amount_fen": 1}]}, headers=key)
    assert other.status_code == 422
    # Without the key, a second settlement is refused by the state machine, not double-issued.
    r = await reception.advisor.post(url, json=body)
    assert r.status_code == 409 and r.json()["current_state"] == "settled"


async def test_cancel_before_work_starts_records_the_reason(reception):
    order = await reception.approved_order()
    cancelled = await reception.act(order, "cancel", {"reason": "customer will come back next week"})
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "customer will come back next week"
    (event,) = await reception.outbox("reception.repair_order.cancelled")
    assert event["data"]["previous_status"] == "approved"
    assert event["data"]["reason"] == "customer will come back next week"


async def test_towed_car_is_inspected_when_it_arrives(reception):
    order = await reception.open_order()
    r = await reception.client.put(f"/v1/repair-orders/{order['id']}/inspection",
                                   json=factories.inspection(fuel_level="empty", valuables=[]),
                                   headers=reception.advisor._headers(None))
    assert r.status_code == 200 and r.json()["inspection"]["fuel_level"] == "empty"
    ready = await reception.ready_order()
    r = await reception.client.put(f"/v1/repair-orders/{ready['id']}/inspection", json=factories.inspection(),
                                   headers=reception.advisor._headers(None))
    assert r.status_code == 409 and r.json()["current_state"] == "ready"


async def test_promised_time_must_be_ahead(reception):
    order = await reception.add_line(await reception.open_order(), factories.labour())
    past = (reception.clock.now() - timedelta(hours=1)).isoformat()
    r = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/estimate", json={"promised_at": past})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "promised_at"
    later = (reception.clock.now() + timedelta(hours=5)).isoformat()
    order = await reception.act(order, "estimate", {"promised_at": later})
    assert order["promised_at"] == "2026-12-01T06:00:00Z"


async def test_junk_in_ids_text_and_queries_is_4xx_never_500(reception):
    order = await reception.open_order()
    for r in (
        await reception.advisor.post("/v1/repair-orders", json=factories.check_in(complaint="brakes\u0000squeal")),
        await reception.advisor.post(f"/v1/repair-orders/{order['id']}/lines",
                                     json={"kind": "fee", "description": "x", "unit_price_fen": 10, "quantity": "1E+9"}),
        await reception.advisor.get("/v1/repair-orders/%00"),
        await reception.advisor.get("/v1/repair-orders?vin=%00"),
        await reception.advisor.get("/v1/repair-orders?cursor=%%%"),
        await reception.advisor.post(f"/v1/repair-orders/{order['id']}/estimate", headers={"If-Match": "soon"}),
    ):
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
    assert (await reception.advisor.get("/v1/repair-orders/no-such-order")).status_code == 404
