"""Every payer on the receivables ledger (issue 19): at settlement an insurance order's insurer
owes its share (insurer_due_fen) and a customer on credit owes what was settled on_credit,
beside fleets and the brand; ageing, partial payments and one payment across several orders
apply to them all, concurrent payments never overpay, and each payer kind is reminded in its
own words. A customer's credit is stopped at its limit until the service manager allows the order."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tests.reception import factories
from tests.reception.test_fleets import manager, to_ready
from tests.reception.test_insurance import BODY, BRAKES, BUMPER, INSURANCE, assess, assessment, insurance_order
from tests.reception.test_receivables import cashier, receivables, shanghai_morning

CREDIT_CUSTOMER = {"name": "周敏 Zhou Min", "phone": "139 1234 5678"}
PHONE = "13912345678"
BRAKES_DUE_FEN = 30_000 + 3_900  # 300.00 CNY of brake work and 13 % VAT


async def settled_insurance_order(reception, lines: list[dict], approved: dict[str, int], excess_fen: int,
                                  at: datetime | None = None) -> dict:
    if at is not None:
        reception.clock.set(at)
    order = await insurance_order(reception, lines)
    order = (await assess(reception, order, assessment(order, approved, excess_fen))).json()
    await reception.act(order, "approve", {"approved_by": "张伟 Zhang Wei", "channel": "in_person"})
    return await reception.settle(await to_ready(reception, order))


async def credit_account(reception, **over) -> dict:
    r = await manager(reception).post("/v1/credit-accounts", json={
        "customer": CREDIT_CUSTOMER, "credit_limit_fen": 100_000, "payment_terms_days": 15, **over})
    assert r.status_code == 201, r.text
    return r.json()


async def ready_credit_order(reception, at: datetime | None = None) -> dict:
    if at is not None:
        reception.clock.set(at)
    customer = {"name": "周敏 Zhou Min", "phone": PHONE}
    return await reception.ready_order([BRAKES], customer=customer)


async def settle_on_credit(reception, order: dict):
    return await reception.advisor.post(f"/v1/repair-orders/{order['id']}/settle", json={
        "payments": [{"method": "on_credit", "amount_fen": order["totals"]["customer_due_fen"]}]})


async def test_insurers_and_customers_on_credit_are_aged_paid_in_part_and_reminded_against_a_hand_computation(
        reception):
    account = await credit_account(reception)
    assert account["phone"] == PHONE and account["payer_id"] == f"customer:{PHONE}"
    # A: settled 1 Dec 2026; the insurer owes 1,000.00 + 450.00 approved less the 20.00 excess, due 30 days on.
    a = await settled_insurance_order(reception, [BODY, BUMPER], {"BDY-0200": 100_000, "XB-45022-F10": 45_000}, 2_000)
    # B: settled 20 Jan 2027; 1,100.00 approved less a 10.00 excess; due 19 Feb.
    b = await settled_insurance_order(reception, [BODY], {"BDY-0200": 110_000}, 1_000, shanghai_morning(2027, 1, 20))
    # C: the account's customer settles on credit on 25 Jan 2027, 15 days' terms: due 9 Feb.
    c = await settle_on_credit(reception, await ready_credit_order(reception, shanghai_morning(2027, 1, 25)))
    assert c.status_code == 200, c.text
    c = c.json()
    assert [(r["payer_kind"], r["amount_fen"], r["due_on"]) for r in a["receivables"]] == [
        ("insurer", 143_000, "2026-12-31")]
    assert a["receivables"][0]["payer_name"] == INSURANCE["insurer"]
    assert [(r["payer_kind"], r["payer_id"], r["amount_fen"], r["due_on"]) for r in c["receivables"]] == [
        ("customer", f"customer:{PHONE}", BRAKES_DUE_FEN, "2027-02-09")]
    # 16:30 UTC on 15 April is 00:30 on 16 April in Shanghai.
    reception.clock.set(datetime(2027, 4, 15, 16, 30, tzinfo=UTC))

    aged = await receivables(reception)

    assert aged["as_of"] == "2027-04-16"
    by_order = {item["source_id"]: item for item in aged["items"]}
    # By hand to 16 April: from 31 Dec 31 + 28 + 31 + 16 = 106 days; from 19 Feb 9 + 31 + 16 = 56;
    # from 9 Feb 19 + 31 + 16 = 66.
    assert {k: (v["payer_kind"], v["open_fen"], v["days_past_due"], v["bucket"]) for k, v in by_order.items()} == {
        a["id"]: ("insurer", 143_000, 106, "90+"), b["id"]: ("insurer", 109_000, 56, "31-60"),
        c["id"]: ("customer", BRAKES_DUE_FEN, 66, "61-90")}
    assert by_order[a["id"]]["reference"] == INSURANCE["claim_no"]
    assert [t["open_fen"] for t in aged["totals"]] == [0, 109_000, BRAKES_DUE_FEN, 143_000]
    account = (await reception.advisor.get(f"/v1/credit-accounts/{account['id']}")).json()
    assert (account["balance_fen"], account["credit_available_fen"]) == (BRAKES_DUE_FEN, 100_000 - BRAKES_DUE_FEN)

    # The insurer pays A in full and 500.00 of B with one transfer; the customer pays 100.00.
    insurer_id = by_order[a["id"]]["payer_id"]
    paid = await cashier(reception).post("/v1/receivables/payments", json={
        "payer_kind": "insurer", "payer_id": insurer_id, "amount_fen": 193_000, "received_on": "2027-04-16",
        "method": "bank_transfer", "reference": "PICC-20270416-7",
        "allocations": [{"receivable_id": by_order[a["id"]]["id"], "amount_fen": 143_000},
                        {"receivable_id": by_order[b["id"]]["id"], "amount_fen": 50_000}]})
    assert paid.status_code == 201, paid.text
    assert [x["open_fen"] for x in paid.json()["allocations"]] == [0, 59_000]
    partly = await cashier(reception).post("/v1/receivables/payments", json={
        "payer_kind": "customer", "payer_id": f"customer:{PHONE}", "amount_fen": 10_000, "received_on": "2027-04-16",
        "method": "wechat", "allocations": [{"receivable_id": by_order[c["id"]]["id"], "amount_fen": 10_000}]})
    assert partly.status_code == 201, partly.text

    after = await receivables(reception)
    assert {i["source_id"]: (i["paid_fen"], i["open_fen"]) for i in after["items"]} == {
        b["id"]: (50_000, 59_000), c["id"]: (10_000, BRAKES_DUE_FEN - 10_000)}
    assert (await reception.get_order(b))["receivables"][0]["paid_fen"] == 50_000
    account = (await reception.advisor.get(f"/v1/credit-accounts/{account['id']}")).json()
    assert account["balance_fen"] == BRAKES_DUE_FEN - 10_000

    overdue = (await cashier(reception).get("/v1/receivables/overdue")).json()["accounts"]
    by_kind = {o["payer_kind"]: o for o in overdue}
    assert set(by_kind) == {"insurer", "customer"}
    assert (by_kind["customer"]["overdue_fen"], by_kind["customer"]["days_past_due"]) == (BRAKES_DUE_FEN - 10_000, 66)
    assert by_kind["customer"]["contact_phone"] == PHONE
    assert "维修款" in by_kind["customer"]["reminder"] and "repair bill" in by_kind["customer"]["reminder"]
    assert by_kind["customer"]["references"] == [c["invoice"]["number"]]
    assert (by_kind["insurer"]["overdue_fen"], by_kind["insurer"]["days_past_due"]) == (59_000, 56)
    assert by_kind["insurer"]["references"] == [INSURANCE["claim_no"]]
    assert "保险理赔款" in by_kind["insurer"]["reminder"] and INSURANCE["claim_no"] in by_kind["insurer"]["reminder"]
    only = (await cashier(reception).get("/v1/receivables/overdue?payer_kind=insurer")).json()["accounts"]
    assert [o["payer_kind"] for o in only] == ["insurer"]


async def test_a_customers_credit_stops_at_its_limit_until_the_service_manager_allows_the_order(reception):
    await credit_account(reception, credit_limit_fen=50_000)
    first = await settle_on_credit(reception, await ready_credit_order(reception))
    assert first.status_code == 200, first.text
    second = await ready_credit_order(reception)

    stopped = await settle_on_credit(reception, second)

    assert stopped.status_code == 409, stopped.text
    problem = stopped.json()
    assert problem["rule"] == "customer_credit_stop"
    assert (problem["balance_fen"], problem["amount_fen"], problem["credit_limit_fen"]) == (
        BRAKES_DUE_FEN, BRAKES_DUE_FEN, 50_000)
    url = f"/v1/repair-orders/{second['id']}/credit-allowance"
    assert (await reception.advisor.post(url, json={"reason": "老客户 regular"})).status_code == 403
    allowed = await manager(reception).post(url, json={"reason": "老客户 regular", "payment_terms_days": 7})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["credit_allowance"]["allowed_by"]["id"] == "person-zhao-min"
    assert allowed.json()["history"][-1]["action"] == "credit_allowance"

    settled = await settle_on_credit(reception, await reception.get_order(second))

    assert settled.status_code == 200, settled.text
    [owed] = settled.json()["receivables"]
    assert (owed["amount_fen"], owed["due_on"]) == (BRAKES_DUE_FEN, "2026-12-08")
    account = (await reception.advisor.get("/v1/credit-accounts", params={"phone": PHONE})).json()["items"][0]
    assert account["balance_fen"] == 2 * BRAKES_DUE_FEN and account["credit_stop"] is True


async def test_without_an_account_or_allowance_an_order_does_not_go_on_credit(reception):
    order = await ready_credit_order(reception)

    refused = await settle_on_credit(reception, order)

    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "payments"
    assert (await reception.get_order(order))["status"] == "ready"
    assert (await receivables(reception))["items"] == []
    taken = await manager(reception).post("/v1/credit-accounts", json={
        "customer": {"name": "x", "phone": PHONE}, "credit_limit_fen": 1, "payment_terms_days": 0})
    assert taken.status_code == 201
    again = await manager(reception).post("/v1/credit-accounts", json={
        "customer": {"name": "y", "phone": "139-1234-5678"}, "credit_limit_fen": 1, "payment_terms_days": 0})
    assert again.status_code == 409 and again.json()["field"] == "customer.phone"
    assert (await reception.other_advisor.get(f"/v1/credit-accounts/{taken.json()['id']}")).status_code == 404
    stopped = await manager(reception).patch(f"/v1/credit-accounts/{taken.json()['id']}", json={"active": False},
                                             headers={"If-Match": '"1"'})
    assert stopped.status_code == 200 and stopped.json()["active"] is False


async def test_concurrent_payments_across_an_insurers_orders_never_overpay_them(reception):
    first = await settled_insurance_order(reception, [BODY], {"BDY-0200": 100_000}, 1_000)  # the insurer owes 99,000
    second = await settled_insurance_order(reception, [BODY], {"BDY-0200": 80_000}, 1_000)  # and 79,000
    items = {i["source_id"]: i for i in (await receivables(reception, "?payer_kind=insurer"))["items"]}
    insurer_id = items[first["id"]]["payer_id"]
    assert items[second["id"]]["payer_id"] == insurer_id  # one insurer, whichever order it paid for
    # Each payment fits alone (60,000 of 99,000 and 50,000 of 79,000); two of them overpay both items.
    body = {"payer_kind": "insurer", "payer_id": insurer_id, "amount_fen": 110_000, "received_on": "2026-12-01",
            "method": "bank_transfer",
            "allocations": [{"receivable_id": items[first["id"]]["id"], "amount_fen": 60_000},
                            {"receivable_id": items[second["id"]]["id"], "amount_fen": 50_000}]}
    reversed_body = {**body, "allocations": body["allocations"][::-1]}

    answers = await asyncio.gather(*(cashier(reception).post("/v1/receivables/payments", json=b)
                                     for b in (body, reversed_body, body)))

    assert sorted(r.status_code for r in answers) == [201, 422, 422]
    left = {i["source_id"]: (i["paid_fen"], i["open_fen"])
            for i in (await receivables(reception, "?payer_kind=insurer"))["items"]}
    assert left == {first["id"]: (60_000, 39_000), second["id"]: (50_000, 29_000)}


async def test_repair_order_events_carry_the_fleet_the_payer_split_and_what_is_owed(reception):
    from tests.reception.test_fleets import approve, fleet_order, open_fleet, settle_on_account

    vin = factories.vin()
    fleet = await open_fleet(reception, [vin], approval_limit_fen=1_000_000)
    order = await fleet_order(reception, vin)
    assert (await approve(reception, order)).status_code == 200
    settled = (await settle_on_account(reception, await to_ready(reception, order))).json()
    await reception.act(settled, "deliver", {"explained": True})
    plain = await reception.open_order()

    events = await reception.outbox(subject=order["id"])
    assert {e["type"] for e in events} >= {"reception.repair_order.opened", "reception.repair_order.approved",
                                           "reception.repair_order.settled", "reception.repair_order.delivered"}
    assert all(e["data"]["fleet_id"] == fleet["id"] for e in events if e["type"].startswith("reception."))
    [opened] = await reception.outbox("reception.repair_order.opened", plain["id"])
    assert opened["data"]["fleet_id"] is None
    [settled_event] = [e for e in events if e["type"] == "reception.repair_order.settled"]
    assert [(r["payer_kind"], r["payer_id"], r["amount_fen"]) for r in settled_event["data"]["receivables"]] == [
        ("fleet", fleet["id"], settled["totals"]["customer_due_fen"])]
    [delivered] = [e for e in events if e["type"] == "reception.repair_order.delivered"]
    assert [(p["payer"], p["total_fen"]) for p in delivered["data"]["payers"]] == [
        (p["payer"], p["total_fen"]) for p in settled["invoice"]["payers"]]


async def test_credit_posts_replay_with_their_idempotency_key_and_write_once(reception):
    boss = manager(reception)
    body = {"customer": CREDIT_CUSTOMER, "credit_limit_fen": 100_000, "payment_terms_days": 15}
    key = {"Idempotency-Key": "credit-account-1"}
    once = await boss.post("/v1/credit-accounts", json=body, headers=key)
    twice = await boss.post("/v1/credit-accounts", json=body, headers=key)
    assert once.status_code == twice.status_code == 201, once.text
    assert twice.json() == once.json() and twice.headers.get("Idempotent-Replayed") == "true"
    assert len((await reception.advisor.get("/v1/credit-accounts")).json()["items"]) == 1

    order = await ready_credit_order(reception)
    url = f"/v1/repair-orders/{order['id']}/credit-allowance"
    key = {"Idempotency-Key": "credit-allowance-1"}
    first = await boss.post(url, json={"reason": "老客户 regular"}, headers=key)
    again = await boss.post(url, json={"reason": "老客户 regular"}, headers=key)
    assert first.status_code == again.status_code == 200, first.text
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    history = [h["action"] for h in (await reception.get_order(order))["history"]]
    assert history.count("credit_allowance") == 1
