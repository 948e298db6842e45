"""Bad input on reception's newest routes (issues 19/20): credit accounts and allowances,
settling on credit, receivables and payments across orders, fleets' statements and
uptime, the insurer's assessment. Each case sends one wrong thing (a number just past its
bound or negative, a day outside 1970..2100 or a reversed window, text over its length, a
value outside its enum, another store's object) and expects a 4xx problem+json naming
that field, with nothing written: what a read shows afterwards is what it showed before."""
from __future__ import annotations

from services.common.inputs import MAX_LINE_FEN, MAX_REQUEST_FEN
from tests.reception import factories
from tests.reception.test_fleets import manager, open_fleet
from tests.reception.test_insurance import BODY, INSURANCE, assessment, insurance_order
from tests.reception.test_receivables import cashier
from tests.reception.test_receivables_ledger import CREDIT_CUSTOMER, credit_account
from tests.support.bad_input import Case, refused_all, snapshot

LONG = "长" * 2_001


async def test_credit_accounts_and_allowances_refuse_bad_input_naming_the_field_and_keep_nothing(reception):
    ours = await credit_account(reception)
    other_manager = manager(reception, reception.other_store_id)
    r = await other_manager.post("/v1/credit-accounts", json={
        "customer": CREDIT_CUSTOMER, "credit_limit_fen": 100_000, "payment_terms_days": 15})
    assert r.status_code == 201, r.text
    theirs = r.json()
    order = await reception.ready_order([factories.labour()])
    their_order = await reception.open_order(caller=reception.other_advisor)
    new = {"customer": {"name": "孙丽 Sun Li", "phone": "13700001111"}, "credit_limit_fen": 1, "payment_terms_days": 1}
    account_url = f"/v1/credit-accounts/{ours['id']}"
    allowance_url = f"/v1/repair-orders/{order['id']}/credit-allowance"
    cases = [
        Case("limit past the bound", "POST", "/v1/credit-accounts",
             {**new, "credit_limit_fen": MAX_REQUEST_FEN + 1}, "credit_limit_fen"),
        Case("negative limit", "POST", "/v1/credit-accounts", {**new, "credit_limit_fen": -1}, "credit_limit_fen"),
        Case("terms past a year", "POST", "/v1/credit-accounts", {**new, "payment_terms_days": 366},
             "payment_terms_days"),
        Case("negative terms", "POST", "/v1/credit-accounts", {**new, "payment_terms_days": -1}, "payment_terms_days"),
        Case("name over length", "POST", "/v1/credit-accounts",
             {**new, "customer": {"name": "长" * 201, "phone": "13700001111"}}, "customer.name"),
        Case("note over length", "POST", "/v1/credit-accounts", {**new, "note": LONG}, "note"),
        Case("another store", "POST", "/v1/credit-accounts", {**new, "store_id": reception.other_store_id},
             None, 404),
        Case("list limit past the bound", "GET", "/v1/credit-accounts?limit=201", None, "limit"),
        Case("list by a phone that is none", "GET", "/v1/credit-accounts?phone=abc", None, "phone"),
        Case("another store's account", "GET", f"/v1/credit-accounts/{theirs['id']}", None, None, 404),
        Case("change another store's account", "PATCH", f"/v1/credit-accounts/{theirs['id']}",
             {"credit_limit_fen": 1}, None, 404),
        Case("change the limit past the bound", "PATCH", account_url, {"credit_limit_fen": MAX_REQUEST_FEN + 1},
             "credit_limit_fen"),
        Case("change the limit below zero", "PATCH", account_url, {"credit_limit_fen": -1}, "credit_limit_fen"),
        Case("change the terms past a year", "PATCH", account_url, {"payment_terms_days": 366}, "payment_terms_days"),
        Case("change the name over length", "PATCH", account_url, {"customer_name": "长" * 201}, "customer_name"),
        Case("allowance terms past a year", "POST", allowance_url, {"reason": "老客户", "payment_terms_days": 366},
             "payment_terms_days"),
        Case("allowance terms negative", "POST", allowance_url, {"reason": "老客户", "payment_terms_days": -1},
             "payment_terms_days"),
        Case("allowance reason over length", "POST", allowance_url, {"reason": "长" * 501}, "reason"),
        Case("allowance on another store's order", "POST",
             f"/v1/repair-orders/{their_order['id']}/credit-allowance", {"reason": "老客户"}, None, 404),
    ]
    reads = ("/v1/credit-accounts", f"/v1/repair-orders/{order['id']}")
    before = await snapshot(manager(reception), *reads)

    assert await refused_all(manager(reception), cases) == []

    assert await snapshot(manager(reception), *reads) == before
    assert (await other_manager.get(f"/v1/credit-accounts/{theirs['id']}")).json() == theirs


async def test_settling_on_credit_and_paying_receivables_refuse_bad_input_naming_the_field(reception):
    await credit_account(reception)
    order = await reception.ready_order([factories.labour()], customer=CREDIT_CUSTOMER)
    due = order["totals"]["customer_due_fen"]
    their_fleet_vin = factories.vin()
    r = await manager(reception, reception.other_store_id).post("/v1/fleets", json={
        "name": "别家车队 Another fleet", "contract": {
            "labour_discount_percent": "0", "parts_discount_percent": "0", "approval_limit_fen": 10**8,
            "credit_limit_fen": 10**8, "payment_terms_days": 0}, "vehicles": [{"vin": their_fleet_vin}]})
    assert r.status_code == 201, r.text
    their_fleet = r.json()
    their_order = await reception.open_order(caller=reception.other_advisor,
                                             vehicle=factories.vehicle(vin=their_fleet_vin))
    for line in (factories.labour(),):
        their_order = await reception.add_line(their_order, line, caller=reception.other_advisor)
    await reception.act(their_order, "estimate", caller=reception.other_advisor)
    await reception.act(their_order, "approve", {"approved_by": "李 Li", "channel": "in_person"},
                        caller=reception.other_advisor)
    reception.clock.advance(minutes=30)
    await reception.deliver(factories.work_started(their_order, reception.clock.now()))
    await reception.deliver(factories.ready(their_order, reception.clock.now()))
    their_order = (await reception.other_advisor.get(f"/v1/repair-orders/{their_order['id']}")).json()
    settled = await reception.other_advisor.post(f"/v1/repair-orders/{their_order['id']}/settle", json={
        "payments": [{"method": "on_account", "amount_fen": their_order["totals"]["customer_due_fen"]}]})
    assert settled.status_code == 200, settled.text
    their_receivable = settled.json()["receivables"][0]
    theirs_id = their_receivable["receivable_id"]

    settle = f"/v1/repair-orders/{order['id']}/settle"
    payment = {"payer_kind": "fleet", "payer_id": their_fleet["id"], "amount_fen": 100, "received_on": "2026-12-01",
               "method": "bank_transfer", "allocations": [{"receivable_id": theirs_id, "amount_fen": 100}]}
    cases = [
        Case("on credit past the bound", "POST", settle,
             {"payments": [{"method": "on_credit", "amount_fen": MAX_REQUEST_FEN + 1}]}, "payments.0.amount_fen"),
        Case("on credit negative", "POST", settle, {"payments": [{"method": "on_credit", "amount_fen": -due}]},
             "payments.0.amount_fen"),
        Case("unknown method", "POST", settle, {"payments": [{"method": "barter", "amount_fen": due}]},
             "payments.0.method"),
        Case("reference over length", "POST", settle,
             {"payments": [{"method": "on_credit", "amount_fen": due, "reference": "R" * 101}]},
             "payments.0.reference"),
        Case("settle another store's order", "POST", f"/v1/repair-orders/{their_order['id']}/settle",
             {"payments": [{"method": "on_credit", "amount_fen": due}]}, None, 404),
        Case("unknown bucket", "GET", "/v1/receivables?bucket=91-120", None, "bucket"),
        Case("unknown payer kind", "GET", "/v1/receivables?payer_kind=bank", None, "payer_kind"),
        Case("unknown payer kind overdue", "GET", "/v1/receivables/overdue?payer_kind=bank", None, "payer_kind"),
        Case("payment past the bound", "POST", "/v1/receivables/payments",
             {**payment, "amount_fen": MAX_REQUEST_FEN + 1}, "amount_fen"),
        Case("negative payment", "POST", "/v1/receivables/payments", {**payment, "amount_fen": -1}, "amount_fen"),
        Case("received in year 1969", "POST", "/v1/receivables/payments", {**payment, "received_on": "1969-12-31"},
             "received_on"),
        Case("received in year 2101", "POST", "/v1/receivables/payments", {**payment, "received_on": "2101-01-01"},
             "received_on"),
        Case("received tomorrow", "POST", "/v1/receivables/payments", {**payment, "received_on": "2026-12-02"},
             "received_on"),
        Case("unknown method", "POST", "/v1/receivables/payments", {**payment, "method": "barter"}, "method"),
        Case("reference over length", "POST", "/v1/receivables/payments", {**payment, "reference": "R" * 101},
             "reference"),
        Case("allocation past the bound", "POST", "/v1/receivables/payments",
             {**payment, "allocations": [{"receivable_id": theirs_id, "amount_fen": MAX_REQUEST_FEN + 1}]},
             "allocations.0.amount_fen"),
        Case("another store's fleet and receivable", "POST", "/v1/receivables/payments", payment,
             "allocations.0.receivable_id"),
    ]
    reads = ("/v1/receivables", f"/v1/repair-orders/{order['id']}", "/v1/credit-accounts")
    before = await snapshot(cashier(reception), *reads)

    assert await refused_all(cashier(reception), cases) == []

    assert await snapshot(cashier(reception), *reads) == before
    theirs_after = (await reception.other_advisor.get(f"/v1/repair-orders/{their_order['id']}")).json()
    assert theirs_after["receivables"][0]["paid_fen"] == their_receivable["paid_fen"] == 0


async def test_fleets_statements_and_uptime_refuse_bad_input_naming_the_field(reception):
    vin = factories.vin()
    fleet = await open_fleet(reception, [vin])
    r = await manager(reception, reception.other_store_id).post("/v1/fleets", json={
        "name": "别家车队 Another fleet", "contract": {
            "labour_discount_percent": "0", "parts_discount_percent": "0", "approval_limit_fen": 1,
            "credit_limit_fen": 1, "payment_terms_days": 0}})
    assert r.status_code == 201, r.text
    theirs = r.json()
    url = f"/v1/fleets/{fleet['id']}"
    contract = {"labour_discount_percent": "10", "parts_discount_percent": "5", "approval_limit_fen": 1,
                "credit_limit_fen": 1, "payment_terms_days": 30}
    body = {"name": "新车队 New fleet", "contract": contract}
    cases = [
        Case("approval limit past the bound", "POST", "/v1/fleets",
             {**body, "contract": {**contract, "approval_limit_fen": MAX_REQUEST_FEN + 1}},
             "contract.approval_limit_fen"),
        Case("negative credit limit", "POST", "/v1/fleets", {**body, "contract": {**contract, "credit_limit_fen": -1}},
             "contract.credit_limit_fen"),
        Case("discount over 100 %", "POST", "/v1/fleets",
             {**body, "contract": {**contract, "labour_discount_percent": "100.01"}},
             "contract.labour_discount_percent"),
        Case("discount not a number", "POST", "/v1/fleets",
             {**body, "contract": {**contract, "parts_discount_percent": "NaN"}}, "contract.parts_discount_percent"),
        Case("discount finer than a hundredth", "POST", "/v1/fleets",
             {**body, "contract": {**contract, "parts_discount_percent": "7.125"}}, "contract.parts_discount_percent"),
        Case("terms past a year", "POST", "/v1/fleets", {**body, "contract": {**contract, "payment_terms_days": 366}},
             "contract.payment_terms_days"),
        Case("name over length", "POST", "/v1/fleets", {**body, "name": "长" * 201}, "name"),
        Case("another store", "POST", "/v1/fleets", {**body, "store_id": reception.other_store_id}, None, 404),
        Case("vin too short", "POST", f"{url}/vehicles", {"vin": vin[:16]}, "vin"),
        Case("another store's fleet", "GET", f"/v1/fleets/{theirs['id']}", None, None, 404),
        Case("change another store's fleet", "PATCH", f"/v1/fleets/{theirs['id']}", {"name": "x"}, None, 404),
        Case("change the limit past the bound", "PATCH", url,
             {"contract": {**contract, "credit_limit_fen": MAX_REQUEST_FEN + 1}}, "contract.credit_limit_fen"),
        Case("a thirteenth month", "GET", f"{url}/statements/2026-13", None, "statement_month"),
        Case("month zero", "GET", f"{url}/statements/2026-00", None, "statement_month"),
        Case("year zero", "GET", f"{url}/statements/0000-01", None, "statement_month"),
        Case("year 9999", "GET", f"{url}/statements/9999-12", None, "statement_month"),
        Case("unknown format", "GET", f"{url}/statements/2026-11?format=xml", None, "format"),
        Case("another store's statement", "GET", f"/v1/fleets/{theirs['id']}/statements/2026-11", None, None, 404),
        Case("uptime from 1969", "GET", f"{url}/uptime?from=1969-12-31&to=1970-01-31", None, "from"),
        Case("uptime to 2101", "GET", f"{url}/uptime?from=2100-12-31&to=2101-01-01", None, "to"),
        Case("uptime reversed", "GET", f"{url}/uptime?from=2026-12-01&to=2026-11-30", None, "to"),
        Case("uptime over 366 days", "GET", f"{url}/uptime?from=2025-01-01&to=2026-01-03", None, "to"),
        Case("another store's uptime", "GET", f"/v1/fleets/{theirs['id']}/uptime?from=2026-11-01&to=2026-11-30",
             None, None, 404),
    ]
    reads = ("/v1/fleets", url)
    before = await snapshot(manager(reception), *reads)

    assert await refused_all(manager(reception), cases) == []

    assert await snapshot(manager(reception), *reads) == before


async def test_the_insurers_assessment_refuses_bad_input_naming_the_field(reception):
    order = await insurance_order(reception, [BODY])
    their_order = await reception.open_order(caller=reception.other_advisor, insurance=INSURANCE)
    their_order = await reception.add_line(their_order, BODY, caller=reception.other_advisor)
    their_line = their_order["lines"][0]["id"]
    good = assessment(order, {"BDY-0200": 100_000}, 0)
    url = f"/v1/repair-orders/{order['id']}/assessment"
    cases = [
        Case("line amount past the bound", "PUT", url,
             {**good, "lines": [{**good["lines"][0], "approved_fen": MAX_LINE_FEN + 1}]}, "lines.0.approved_fen"),
        Case("negative line amount", "PUT", url, {**good, "lines": [{**good["lines"][0], "approved_fen": -1}]},
             "lines.0.approved_fen"),
        Case("total past the bound", "PUT", url, {**good, "approved_total_fen": MAX_REQUEST_FEN + 1},
             "approved_total_fen"),
        Case("negative excess", "PUT", url, {**good, "excess_fen": -1}, "excess_fen"),
        Case("excess past the bound", "PUT", url, {**good, "excess_fen": MAX_REQUEST_FEN + 1}, "excess_fen"),
        Case("claim number over length", "PUT", url, {**good, "claim_no": "C" * 65}, "claim_no"),
        Case("insurer over length", "PUT", url, {**good, "insurer": "长" * 101}, "insurer"),
        Case("version past the bound", "PUT", url, {**good, "version": 2**31}, "version"),
        Case("another store's line", "PUT", url, {**good, "lines": [{"line_id": their_line, "approved_fen": 1}]},
             "lines.0.line_id"),
        Case("another store's order", "PUT", f"/v1/repair-orders/{their_order['id']}/assessment",
             {**good, "lines": [{"line_id": their_line, "approved_fen": 1}]}, None, 404),
    ]
    reads = (f"/v1/repair-orders/{order['id']}",)
    before = await snapshot(reception.advisor, *reads)

    assert await refused_all(reception.advisor, cases) == []

    assert await snapshot(reception.advisor, *reads) == before
    assert (await reception.other_advisor.get(f"/v1/repair-orders/{their_order['id']}")).json()[
        "insurance_assessment"] is None
