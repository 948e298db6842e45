"""Receivables (回款, issue 19): a fleet's orders settled on account are owed to the store,
aged by the store's days past due; money received is matched to one or several of them,
wholly or partly, lowers the fleet's balance and never overpays an item."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from services.common.consumer import Outcome
from services.common.events.catalogue import network as nw
from services.common.ids import new_id
from tests.reception import factories
from tests.reception.test_fleets import DUE_FEN, approve, fleet_of, fleet_order, open_fleet, settle_on_account, to_ready
from tests.support.events import envelope_for
from tests.support.platform import Caller


def cashier(reception) -> Caller:
    return Caller(reception.client, "cashier", reception.store_id, "person-qian-li", name="钱丽 Qian Li")


async def settled_fleet_order(reception, vin: str, at: datetime | None = None) -> dict:
    if at is not None:
        reception.clock.set(at)
    order = await fleet_order(reception, vin)
    assert (await approve(reception, order)).status_code == 200
    settled = await settle_on_account(reception, await to_ready(reception, order))
    assert settled.status_code == 200, settled.text
    return settled.json()


async def receivables(reception, query: str = "") -> dict:
    r = await cashier(reception).get(f"/v1/receivables{query}")
    assert r.status_code == 200, r.text
    return r.json()


def shanghai_morning(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


async def test_ageing_buckets_count_the_stores_days_past_due_against_a_hand_computation(reception):
    vins = [factories.vin() for _ in range(4)]
    # Terms of 0 days: each order is due at the end of the month it was settled in.
    fleet = await open_fleet(reception, vins, approval_limit_fen=1_000_000, payment_terms_days=0)
    oldest = await settled_fleet_order(reception, vins[0])                                      # due 2026-12-31
    older = await settled_fleet_order(reception, vins[1], shanghai_morning(2027, 1, 20))         # due 2027-01-31
    old = await settled_fleet_order(reception, vins[2], shanghai_morning(2027, 2, 10))           # due 2027-02-28
    recent = await settled_fleet_order(reception, vins[3], shanghai_morning(2027, 3, 5))         # due 2027-03-31
    # 16:30 UTC on 15 April is 00:30 on 16 April in Shanghai: the store's day counts.
    reception.clock.set(datetime(2027, 4, 15, 16, 30, tzinfo=UTC))

    aged = await receivables(reception, f"?payer_kind=fleet&payer_id={fleet['id']}")

    assert aged["as_of"] == "2027-04-16"
    by_order = {item["source_id"]: item for item in aged["items"]}
    # Hand computation to 16 April 2027: from 31 Dec 31 + 28 + 31 + 16 = 106; from 31 Jan 28 + 31 + 16 = 75;
    # from 28 Feb 31 + 16 = 47; from 31 Mar 16.
    expected = {oldest["id"]: ("2026-12-31", 106, "90+"), older["id"]: ("2027-01-31", 75, "61-90"),
                old["id"]: ("2027-02-28", 47, "31-60"), recent["id"]: ("2027-03-31", 16, "0-30")}
    assert {k: (v["due_on"], v["days_past_due"], v["bucket"]) for k, v in by_order.items()} == expected
    assert all(item["open_fen"] == DUE_FEN and item["payer_name"] == fleet["name"] for item in aged["items"])
    assert aged["totals"] == [{"bucket": b, "count": 1, "open_fen": DUE_FEN} for b in ("0-30", "31-60", "61-90", "90+")]
    assert aged["open_fen"] == 4 * DUE_FEN

    only = await receivables(reception, "?bucket=61-90")
    assert [item["source_id"] for item in only["items"]] == [older["id"]]
    assert [t["count"] for t in only["totals"]] == [0, 0, 1, 0]

    overdue = await cashier(reception).get("/v1/receivables/overdue")
    assert overdue.status_code == 200, overdue.text
    [account] = overdue.json()["accounts"]
    assert (account["payer_id"], account["overdue_fen"], account["items"]) == (fleet["id"], 4 * DUE_FEN, 4)
    assert (account["oldest_due_on"], account["days_past_due"]) == ("2026-12-31", 106)
    assert "逾期" in account["reminder"] and "overdue" in account["reminder"]


async def test_a_payment_matched_to_two_orders_one_partly_lowers_the_fleets_balance(reception):
    vins = [factories.vin(), factories.vin()]
    fleet = await open_fleet(reception, vins, approval_limit_fen=1_000_000)
    first = await settled_fleet_order(reception, vins[0])
    second = await settled_fleet_order(reception, vins[1])
    assert (await fleet_of(reception, fleet))["balance_fen"] == 2 * DUE_FEN
    items = {item["source_id"]: item["id"] for item in (await receivables(reception))["items"]}

    paid = await cashier(reception).post("/v1/receivables/payments", json={
        "payer_kind": "fleet", "payer_id": fleet["id"], "amount_fen": DUE_FEN + 30_000, "received_on": "2026-12-01",
        "method": "bank_transfer", "reference": "BOC-20261201-0042",
        "allocations": [{"receivable_id": items[first["id"]], "amount_fen": DUE_FEN},
                        {"receivable_id": items[second["id"]], "amount_fen": 30_000}]})

    assert paid.status_code == 201, paid.text
    assert paid.json()["allocations"] == [
        {"receivable_id": items[first["id"]], "amount_fen": DUE_FEN, "open_fen": 0},
        {"receivable_id": items[second["id"]], "amount_fen": 30_000, "open_fen": DUE_FEN - 30_000}]
    assert (await fleet_of(reception, fleet))["balance_fen"] == DUE_FEN - 30_000
    [left] = (await receivables(reception))["items"]
    assert (left["source_id"], left["paid_fen"], left["open_fen"]) == (second["id"], 30_000, DUE_FEN - 30_000)


async def test_a_payment_that_does_not_add_up_is_refused_naming_the_field(reception):
    vins = [factories.vin(), factories.vin()]
    fleet = await open_fleet(reception, vins[:1], approval_limit_fen=1_000_000)
    other = await open_fleet(reception, vins[1:], approval_limit_fen=1_000_000)
    await settled_fleet_order(reception, vins[0])
    await settled_fleet_order(reception, vins[1])
    by_payer = {item["payer_id"]: item["id"] for item in (await receivables(reception))["items"]}
    ours, theirs = by_payer[fleet["id"]], by_payer[other["id"]]

    async def pay(amount_fen: int, allocations: list[dict]) -> dict:
        r = await cashier(reception).post("/v1/receivables/payments", json={
            "payer_kind": "fleet", "payer_id": fleet["id"], "amount_fen": amount_fen, "received_on": "2026-12-01",
            "method": "cash", "allocations": allocations})
        assert r.status_code == 422, r.text
        return r.json()["errors"][0]["field"]

    assert await pay(50_000, [{"receivable_id": ours, "amount_fen": 40_000}]) == "allocations"
    assert await pay(DUE_FEN + 1, [{"receivable_id": ours, "amount_fen": DUE_FEN + 1}]) == "allocations.0.amount_fen"
    assert await pay(20_000, [{"receivable_id": ours, "amount_fen": 10_000},
                              {"receivable_id": theirs, "amount_fen": 10_000}]) == "allocations.1.receivable_id"
    assert (await fleet_of(reception, fleet))["balance_fen"] == DUE_FEN
    advisor = await reception.advisor.get("/v1/receivables")
    assert advisor.status_code == 403


async def test_concurrent_payments_against_one_receivable_never_overpay_it(reception):
    vin = factories.vin()
    fleet = await open_fleet(reception, [vin], approval_limit_fen=1_000_000)
    await settled_fleet_order(reception, vin)
    [item] = (await receivables(reception))["items"]
    amount = DUE_FEN - 10_000  # either payment fits alone; both would overpay

    answers = await asyncio.gather(*(cashier(reception).post("/v1/receivables/payments", json={
        "payer_kind": "fleet", "payer_id": fleet["id"], "amount_fen": amount, "received_on": "2026-12-01",
        "method": "wechat", "allocations": [{"receivable_id": item["id"], "amount_fen": amount}]}) for _ in range(2)))

    assert sorted(r.status_code for r in answers) == [201, 422]
    [left] = (await receivables(reception))["items"]
    assert left["paid_fen"] == amount and left["open_fen"] == 10_000
    assert (await fleet_of(reception, fleet))["balance_fen"] == 10_000


async def test_a_payment_replayed_with_its_idempotency_key_is_recorded_once(reception):
    vin = factories.vin()
    fleet = await open_fleet(reception, [vin], approval_limit_fen=1_000_000)
    await settled_fleet_order(reception, vin)
    [item] = (await receivables(reception))["items"]
    body = {"payer_kind": "fleet", "payer_id": fleet["id"], "amount_fen": 40_000, "received_on": "2026-12-01",
            "method": "bank_transfer", "allocations": [{"receivable_id": item["id"], "amount_fen": 40_000}]}
    key = {"Idempotency-Key": "receivable-payment-1"}

    once = await cashier(reception).post("/v1/receivables/payments", json=body, headers=key)
    twice = await cashier(reception).post("/v1/receivables/payments", json=body, headers=key)

    assert once.status_code == twice.status_code == 201, once.text
    assert twice.json() == once.json() and twice.headers.get("Idempotent-Replayed") == "true"
    [left] = (await receivables(reception))["items"]
    assert left["paid_fen"] == 40_000
    assert (await fleet_of(reception, fleet))["balance_fen"] == DUE_FEN - 40_000


async def test_the_brands_warranty_statement_is_owed_from_its_issue_and_settled_when_paid(reception):
    settlement_id = new_id()
    # Issued 23:30 on 30 November UTC: already 1 December in Shanghai.
    issued_at = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    issued = envelope_for(nw.SettlementIssued(
        settlement_id=settlement_id, store_id=reception.store_id, period="2026-11", claim_ids=["c1", "c2"],
        total_fen=1_234_500, issued_at=issued_at), subject=settlement_id, store_id=reception.store_id)
    refund = envelope_for(nw.SettlementIssued(
        settlement_id=new_id(), store_id=reception.store_id, period="2026-10", claim_ids=[], total_fen=-5_000,
        issued_at=issued_at), subject=settlement_id, store_id=reception.store_id)

    assert await reception.deliver(issued) == Outcome.APPLIED
    assert await reception.deliver(issued) == Outcome.DUPLICATE
    assert await reception.deliver(refund) == Outcome.APPLIED
    reception.clock.set(datetime(2027, 1, 10, 1, 0, tzinfo=UTC))

    [item] = (await receivables(reception, "?payer_kind=brand"))["items"]
    assert (item["source_kind"], item["source_id"], item["amount_fen"]) == ("settlement", settlement_id, 1_234_500)
    # Due 30 days after 1 December: 31 December; 10 January is 10 days past it.
    assert (item["issued_on"], item["due_on"], item["days_past_due"], item["bucket"]) == (
        "2026-12-01", "2026-12-31", 10, "0-30")

    paid = envelope_for(nw.SettlementPaid(
        settlement_id=settlement_id, store_id=reception.store_id, period="2026-11", claim_ids=["c1", "c2"],
        total_fen=1_234_500, reference="HQ-PAY-2026-11", paid_at=datetime(2027, 1, 10, 2, 0, tzinfo=UTC)),
        subject=settlement_id, store_id=reception.store_id)
    assert await reception.deliver(paid) == Outcome.APPLIED
    assert (await receivables(reception, "?payer_kind=brand"))["items"] == []
    assert (await cashier(reception).get("/v1/receivables/overdue")).json()["accounts"] == []
