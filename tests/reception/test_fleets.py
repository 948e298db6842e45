"""Fleet accounts (issue 19): a fleet's car is priced by its contract, waits above the
approval limit for the fleet's approval, settles on account and appears on the month's
statement; a fleet over its credit limit needs the service manager's override."""
from __future__ import annotations

import csv
import io

from tests.reception import factories
from tests.support.platform import Caller

# Contract: 12.50 % off labour, 7.50 % off parts.
LABOUR_PERCENT, PARTS_PERCENT = "12.50", "7.50"
# 1.5 h at 333.33 CNY: 49,999.5 fen at list, 43,749.5625 after 12.5 % → 43,750 (rounded once;
# per unit it would be 29,166 × 1.5 = 43,749).
LABOUR = factories.labour("BRK-0220", quantity="1.5", unit_price_fen=33_333)
LABOUR_FEN, LABOUR_LIST_FEN = 43_750, 50_000
# 3 × 100.03 CNY: 30,009 at list, 27,758.325 after 7.5 % → 27,758 (per unit: 9,253 × 3 = 27,759).
PART = factories.part("XB-45022-F10", quantity="3", unit_price_fen=10_003)
PART_FEN, PART_LIST_FEN = 27_758, 30_009
# A fee is not labour or parts: no discount.
FEE = {"kind": "fee", "description": "Hazardous waste disposal", "unit_price_fen": 5_000}
CUSTOMER_FEN = LABOUR_FEN + PART_FEN + 5_000  # 76,508
TAX_FEN = 9_946  # 76,508 × 13 % = 9,946.04
DUE_FEN = CUSTOMER_FEN + TAX_FEN  # 86,454


def manager(reception, store_id: str | None = None) -> Caller:
    return Caller(reception.client, "service_manager", store_id or reception.store_id, "person-zhao-min",
                  name="赵敏 Zhao Min")


def fleet_body(vins: list[str], **contract) -> dict:
    return {
        "name": "顺达物流 Shunda Logistics",
        "contract": {"labour_discount_percent": LABOUR_PERCENT, "parts_discount_percent": PARTS_PERCENT,
                     "approval_limit_fen": 50_000, "credit_limit_fen": 1_000_000, "payment_terms_days": 30,
                     **contract},
        "contacts": [
            {"name": "王强 Wang Qiang", "phone": "13911112222", "title": "车队经理 fleet manager", "approves": True},
            {"name": "陈静 Chen Jing", "phone": "13933334444", "title": "调度 dispatcher"},
        ],
        "vehicles": [{"vin": vin, "plate": "沪B88888", "driver": {"name": "李师傅 Li", "phone": "13955556666"}}
                     for vin in vins],
    }


async def open_fleet(reception, vins: list[str], **contract) -> dict:
    r = await manager(reception).post("/v1/fleets", json=fleet_body(vins, **contract))
    assert r.status_code == 201, r.text
    return r.json()


async def fleet_order(reception, vin: str, lines: list[dict] | None = None) -> dict:
    order = await reception.open_order(vehicle=factories.vehicle(vin=vin))
    for line in lines or [LABOUR, PART, FEE]:
        order = await reception.add_line(order, line)
    return await reception.act(order, "estimate")


async def approve(reception, order: dict, caller: Caller | None = None):
    return await (caller or reception.advisor).post(f"/v1/repair-orders/{order['id']}/approve",
                                                    json={"approved_by": "李师傅 Li", "channel": "in_person"})


async def to_ready(reception, order: dict) -> dict:
    reception.clock.advance(minutes=30)
    await reception.deliver(factories.work_started(order, reception.clock.now()))
    reception.clock.advance(hours=2)
    await reception.deliver(factories.ready(order, reception.clock.now()))
    return await reception.get_order(order)


async def settle_on_account(reception, order: dict):
    return await reception.advisor.post(f"/v1/repair-orders/{order['id']}/settle", json={
        "payments": [{"method": "on_account", "amount_fen": order["totals"]["customer_due_fen"]}]})


async def fleet_of(reception, fleet: dict) -> dict:
    r = await reception.advisor.get(f"/v1/fleets/{fleet['id']}")
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_fleet_order_is_priced_by_the_contract_to_the_fen(reception):
    vin = factories.vin()
    fleet = await open_fleet(reception, [vin])

    order = await fleet_order(reception, vin)

    lines = {line["kind"]: line for line in order["lines"]}
    assert lines["labor"]["amount_fen"] == LABOUR_FEN and lines["labor"]["discount_percent"] == LABOUR_PERCENT
    assert lines["labor"]["unit_price_fen"] == 33_333
    assert lines["part"]["amount_fen"] == PART_FEN and lines["part"]["discount_percent"] == PARTS_PERCENT
    assert lines["fee"]["amount_fen"] == 5_000 and lines["fee"]["discount_percent"] is None
    assert order["totals"]["customer_fen"] == CUSTOMER_FEN
    assert order["totals"]["tax_fen"] == TAX_FEN and order["totals"]["customer_due_fen"] == DUE_FEN
    assert order["fleet"]["fleet_id"] == fleet["id"] and order["fleet"]["name"] == fleet["name"]


async def test_a_car_of_no_fleet_pays_list_price_and_cannot_settle_on_account(reception):
    await open_fleet(reception, [factories.vin()])
    order = await fleet_order(reception, factories.vin())
    assert order["fleet"] is None
    assert {line["kind"]: line["amount_fen"] for line in order["lines"]} == {
        "labor": LABOUR_LIST_FEN, "part": PART_LIST_FEN, "fee": 5_000}
    assert (await approve(reception, order)).status_code == 200
    ready = await to_ready(reception, order)

    refused = await settle_on_account(reception, ready)

    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [{"field": "payments", "message": "记账只限车队工单。 Only a fleet's order "
                                                                         "settles on account."}]


async def test_a_fleet_order_over_the_limit_waits_is_approved_settles_on_account_and_is_on_the_statement(reception):
    vin = factories.vin()
    fleet = await open_fleet(reception, [vin])
    approver = next(c for c in fleet["contacts"] if c["approves"])
    order = await fleet_order(reception, vin)
    assert order["fleet"]["approval_needed"] is True

    waiting = await approve(reception, order)

    assert waiting.status_code == 409, waiting.text
    problem = waiting.json()
    assert problem["rule"] == "fleet_approval" and problem["amount_fen"] == DUE_FEN
    assert problem["approval_limit_fen"] == 50_000 and problem["current_state"] == "awaiting_approval"
    assert (await reception.get_order(order))["status"] == "awaiting_approval"

    link = await reception.advisor.post(f"/v1/repair-orders/{order['id']}/fleet-approval-link",
                                        json={"contact_id": approver["id"]})
    assert link.status_code == 201, link.text
    assert link.json()["amount_fen"] == DUE_FEN and link.json()["contact"]["name"] == approver["name"]
    # The contact follows the link: no key, only the token.
    contact = Caller(reception.client, "anonymous", None, "anon:203.0.113.7")
    wrong = await contact.post(f"/v1/repair-orders/{order['id']}/fleet-approval", json={"token": "x" * 43})
    assert wrong.status_code == 404, wrong.text
    approved = await contact.post(f"/v1/repair-orders/{order['id']}/fleet-approval",
                                  json={"token": link.json()["token"], "note": "同意 agreed"})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["fleet"]["approved_fen"] == DUE_FEN and body["fleet"]["approval_needed"] is False
    assert body["fleet"]["approved_by"]["name"] == approver["name"]
    assert body["fleet"]["approved_by"]["channel"] == "link"
    assert body["history"][-1]["action"] == "fleet_approve"
    # A link approves once.
    again = await contact.post(f"/v1/repair-orders/{order['id']}/fleet-approval", json={"token": link.json()["token"]})
    assert again.status_code == 404

    assert (await approve(reception, order)).status_code == 200
    ready = await to_ready(reception, order)
    settled = await settle_on_account(reception, ready)
    assert settled.status_code == 200, settled.text
    assert settled.json()["invoice"]["payments"] == [{"method": "on_account", "amount_fen": DUE_FEN,
                                                      "reference": None}]
    assert settled.json()["fleet"]["on_account_fen"] == DUE_FEN
    assert (await fleet_of(reception, fleet))["balance_fen"] == DUE_FEN

    r = await reception.advisor.get(f"/v1/fleets/{fleet['id']}/statements/2026-12")
    assert r.status_code == 200, r.text
    statement = r.json()
    assert statement["due_on"] == "2027-01-30" and statement["payment_terms_days"] == 30
    (line,) = statement["orders"]
    assert line["number"] == order["number"] and line["vin"] == vin
    assert line["invoice_no"] == settled.json()["invoice"]["number"]
    assert (line["labour_fen"], line["parts_fen"], line["other_fen"]) == (LABOUR_FEN, PART_FEN, 5_000)
    assert line["list_fen"] == LABOUR_LIST_FEN + PART_LIST_FEN + 5_000
    assert line["discount_fen"] == LABOUR_LIST_FEN + PART_LIST_FEN - LABOUR_FEN - PART_FEN  # 8,501
    assert (line["tax_fen"], line["customer_due_fen"], line["on_account_fen"], line["paid_fen"]) == (
        TAX_FEN, DUE_FEN, DUE_FEN, 0)
    assert statement["totals"] == {"orders": 1, "discount_fen": 8_501, "customer_due_fen": DUE_FEN,
                                   "on_account_fen": DUE_FEN, "paid_fen": 0}
    assert (await reception.advisor.get(f"/v1/fleets/{fleet['id']}/statements/2026-11")).json()["orders"] == []

    as_csv = await reception.advisor.get(f"/v1/fleets/{fleet['id']}/statements/2026-12", params={"format": "csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0][0] == "工单号 order" and rows[1][0] == order["number"] and rows[1][-2] == str(DUE_FEN)
    assert rows[-1][0] == "合计 total" and rows[-1][-2] == str(DUE_FEN)


async def test_the_fleets_approval_by_api_names_its_approving_contact_and_a_grown_order_waits_again(reception):
    vin = factories.vin()
    fleet = await open_fleet(reception, [vin])
    approver, dispatcher = (next(c for c in fleet["contacts"] if c["approves"] is flag) for flag in (True, False))
    order = await fleet_order(reception, vin)
    url = f"/v1/repair-orders/{order['id']}/fleet-approval"

    not_an_approver = await reception.advisor.post(url, json={"contact_id": dispatcher["id"]})
    assert not_an_approver.status_code == 422 and "contact_id" in not_an_approver.text
    recorded = await reception.advisor.post(url, json={"contact_id": approver["id"]})
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["fleet"]["approved_by"]["channel"] == "api"
    assert recorded.json()["fleet"]["approved_by"]["recorded_by"]["id"] == "advisor-li"
    assert (await approve(reception, order)).status_code == 200

    grown = await reception.add_line(order, factories.part("XB-43022-R10"))
    assert grown["fleet"]["approval_needed"] is True
    waits = await approve(reception, grown)
    assert waits.status_code == 409 and waits.json()["approved_fen"] == DUE_FEN
    assert (await reception.advisor.post(url, json={"contact_id": approver["id"]})).status_code == 200
    assert (await approve(reception, grown)).status_code == 200


async def test_the_credit_stop_refuses_new_work_until_the_service_managers_override(reception):
    first_vin, second_vin = factories.vin(), factories.vin()
    fleet = await open_fleet(reception, [first_vin, second_vin], approval_limit_fen=1_000_000,
                             credit_limit_fen=100_000)
    first = await fleet_order(reception, first_vin)
    assert (await approve(reception, first)).status_code == 200
    assert (await settle_on_account(reception, await to_ready(reception, first))).status_code == 200
    assert (await fleet_of(reception, fleet))["balance_fen"] == DUE_FEN

    second = await fleet_order(reception, second_vin)
    stopped = await approve(reception, second)

    assert stopped.status_code == 409, stopped.text
    problem = stopped.json()
    assert problem["rule"] == "fleet_credit_stop"
    assert (problem["balance_fen"], problem["amount_fen"], problem["credit_limit_fen"]) == (DUE_FEN, DUE_FEN, 100_000)
    assert "信用" in problem["detail"] and "credit limit" in problem["detail"]

    url = f"/v1/repair-orders/{second['id']}/credit-override"
    by_advisor = await reception.advisor.post(url, json={"reason": "old customer"})
    assert by_advisor.status_code == 403
    overridden = await manager(reception).post(url, json={"reason": "付款已在途 payment on its way"})
    assert overridden.status_code == 200, overridden.text
    assert overridden.json()["fleet"]["credit_override"]["by"]["id"] == "person-zhao-min"
    assert (await approve(reception, second)).status_code == 200
    assert (await settle_on_account(reception, await to_ready(reception, second))).status_code == 200
    after = await fleet_of(reception, fleet)
    assert after["balance_fen"] == 2 * DUE_FEN and after["credit_stop"] is True
    assert after["credit_available_fen"] == 100_000 - 2 * DUE_FEN


async def test_settling_on_account_past_the_credit_limit_without_override_is_refused(reception):
    vin = factories.vin()
    fleet = await open_fleet(reception, [vin], approval_limit_fen=1_000_000, credit_limit_fen=100_000)
    order = await fleet_order(reception, vin)
    assert (await approve(reception, order)).status_code == 200
    # The contract is cut after the work started: settling on account now would pass it.
    patched = await manager(reception).patch(f"/v1/fleets/{fleet['id']}", json={"contract": {
        **fleet["contract"], "credit_limit_fen": 50_000}}, headers={"If-Match": f'"{fleet["version"]}"'})
    assert patched.status_code == 200, patched.text

    refused = await settle_on_account(reception, await to_ready(reception, order))

    assert refused.status_code == 409 and refused.json()["rule"] == "fleet_credit_stop"
    assert (await fleet_of(reception, fleet))["balance_fen"] == 0
    paid = await reception.settle(await reception.get_order(order))
    assert paid["status"] == "settled"
    statement = (await reception.advisor.get(f"/v1/fleets/{fleet['id']}/statements/2026-12")).json()
    assert statement["orders"][0]["paid_fen"] == DUE_FEN and statement["orders"][0]["on_account_fen"] == 0


async def test_fleet_accounts_keep_versions_one_fleet_per_car_and_their_store(reception):
    vin = factories.vin()
    fleet = await open_fleet(reception, [vin])
    assert fleet["version"] == 1 and [v["vin"] for v in fleet["vehicles"]] == [vin]
    assert fleet["vehicles"][0]["driver"] == {"name": "李师傅 Li", "phone": "13955556666"}
    boss = manager(reception)

    by_advisor = await reception.advisor.post("/v1/fleets", json=fleet_body([factories.vin()]))
    assert by_advisor.status_code == 403
    taken = await boss.post("/v1/fleets", json=fleet_body([vin]))
    assert taken.status_code == 409 and taken.json()["vin"] == vin

    url = f"/v1/fleets/{fleet['id']}"
    renamed = await boss.patch(url, json={"name": "顺达物流（华东）"}, headers={"If-Match": '"1"'})
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    stale = await boss.patch(url, json={"name": "x"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    keep = renamed.json()["contacts"][0]
    contacts = await boss.patch(url, json={"contacts": [{**keep, "phone": "13911110000"}]},
                                headers={"If-Match": '"2"'})
    assert contacts.status_code == 200 and contacts.json()["contacts"] == [{**keep, "phone": "13911110000"}]

    second = factories.vin()
    added = await boss.post(f"{url}/vehicles", json={"vin": second.lower()}, headers={"If-Match": '"3"'})
    assert added.status_code == 201 and {v["vin"] for v in added.json()["vehicles"]} == {vin, second}
    removed = await boss.delete(f"{url}/vehicles/{vin}", headers={"If-Match": '"4"'})
    assert removed.status_code == 200 and [v["vin"] for v in removed.json()["vehicles"]] == [second]
    assert (await reception.open_order(vehicle=factories.vehicle(vin=vin)))["fleet"] is None

    assert (await reception.other_advisor.get(url)).status_code == 404
    assert (await reception.other_advisor.get(f"{url}/statements/2026-12")).status_code == 404
    mine = (await reception.advisor.get("/v1/fleets")).json()["items"]
    assert [f["id"] for f in mine] == [fleet["id"]]
    assert (await reception.other_advisor.get("/v1/fleets")).json()["items"] == []
    no_such_month = await reception.advisor.get(f"{url}/statements/2026-13")
    assert no_such_month.status_code == 422 and no_such_month.json()["errors"][0]["field"] == "statement_month"


async def test_fleet_posts_replay_with_their_idempotency_key_and_write_once(reception):
    vin = factories.vin()
    boss = manager(reception)
    headers = {"Idempotency-Key": "fleet-create-1"}
    first = await boss.post("/v1/fleets", json=fleet_body([vin]), headers=headers)
    replay = await boss.post("/v1/fleets", json=fleet_body([vin]), headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"] and replay.headers.get("Idempotent-Replayed") == "true"
    fleet = first.json()
    approver = next(c for c in fleet["contacts"] if c["approves"])

    added = [await boss.post(f"/v1/fleets/{fleet['id']}/vehicles", json={"vin": "LSVAU2180N9999999"},
                             headers={"Idempotency-Key": "fleet-vehicle-1"}) for _ in range(2)]
    assert [a.status_code for a in added] == [201, 201] and added[0].json() == added[1].json()

    order = await fleet_order(reception, vin)
    for action, body, caller in (("fleet-approval-link", {"contact_id": approver["id"]}, reception.advisor),
                                 ("fleet-approval", {"contact_id": approver["id"]}, reception.advisor),
                                 ("credit-override", {"reason": "standing customer"}, boss)):
        key = {"Idempotency-Key": f"fleet-{action}"}
        url = f"/v1/repair-orders/{order['id']}/{action}"
        once, twice = await caller.post(url, json=body, headers=key), await caller.post(url, json=body, headers=key)
        assert once.status_code in (200, 201), once.text
        assert twice.json() == once.json() and twice.headers.get("Idempotent-Replayed") == "true"
    history = [h["action"] for h in (await reception.get_order(order))["history"]]
    assert history.count("fleet_approve") == 1 and history.count("credit_override") == 1
