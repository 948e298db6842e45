"""Chargebacks on PostgreSQL: HQ takes money back from a paid claim after a post-payment
audit; the debit lands on the store's next settlement, which may go below zero (the store
owes the brand), and both HQ and the store see why, on the statement and on the claim."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.network.conftest import create_store, network_service, network_settings
from tests.network.test_settlements_pg import AFTER_DECEMBER, DECEMBER, approved_claims
from tests.support.platform import Caller

CLAIM_FEN = 71100  # what approved_claims' claim is paid
IN_JANUARY = datetime(2027, 1, 20, 3, 0, tzinfo=UTC)
AFTER_JANUARY = datetime(2027, 2, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
async def client(pg_url, clock):
    async with network_service(network_settings(pg_url), clock) as client:
        yield client


async def paid_claims(client, hq: Caller, store_id: str, count: int, clock) -> list[dict]:
    """Claims approved in December, on December's settlement, which the store confirms and HQ pays."""
    claims = await approved_claims(client, hq, store_id, count)
    clock.set(AFTER_DECEMBER)
    settlement = (await hq.post("/v1/settlements", json={"store_id": store_id, "period": DECEMBER})).json()
    await Caller(client, "store_manager", store_id=store_id).post(f"/v1/settlements/{settlement['id']}/confirm")
    paid = await hq.post(f"/v1/settlements/{settlement['id']}/pay", json={"reference": "BANK-DEC"})
    assert paid.json()["status"] == "paid", paid.text
    return claims


async def rows(client, sql: str) -> list:
    async with client.app.state.db.transaction() as session:
        return [tuple(r) for r in (await session.exec(sa.text(sql))).all()]


async def test_a_debit_after_an_audit_makes_the_next_settlement_negative_and_both_sides_see_why(client, hq, clock):
    store = await create_store(hq)
    claim, = await paid_claims(client, hq, store["id"], 1, clock)
    clock.set(IN_JANUARY)
    auditor = Caller(client, "hq_admin", principal_id="person-sun", name="孙丽", credential="key:k-sun-4")
    debit = await auditor.post(f"/v1/claims/{claim['id']}/chargebacks", json={
        "reason_code": "C02", "amount_fen": CLAIM_FEN, "note": "工单只换了一个传感器 one sensor, not two"})
    assert debit.status_code == 201, debit.text
    assert (debit.json()["amount_fen"], debit.json()["reason_zh"], debit.json()["charged_by_name"],
            debit.json()["charged_by_credential"], debit.json()["settlement_id"]) == (
        CLAIM_FEN, "工时或配件数量超出实际维修", "孙丽", "key:k-sun-4", None)

    clock.set(AFTER_JANUARY)
    issued = await hq.post("/v1/settlements", json={"store_id": store["id"], "period": "2027-01"})
    assert issued.status_code == 201, issued.text
    settlement = issued.json()
    assert (settlement["claims"], settlement["claims_fen"], settlement["debits_fen"], settlement["total_fen"],
            settlement["owed_by_store"]) == ([], 0, CLAIM_FEN, -CLAIM_FEN, True)

    manager = Caller(client, "store_manager", store_id=store["id"])
    for side in (hq, manager):
        statement = (await side.get(f"/v1/settlements/{settlement['id']}")).json()
        assert [(d["claim_id"], d["reason_code"], d["reason_zh"], d["reason_en"], d["amount_fen"], d["note"],
                 d["charged_by_name"]) for d in statement["debits"]] == [
            (claim["id"], "C02", "工时或配件数量超出实际维修", "Hours or parts beyond the work actually done",
             -CLAIM_FEN, "工单只换了一个传感器 one sensor, not two", "孙丽")]
        seen = (await side.get(f"/v1/claims/{claim['id']}")).json()
        assert [(c["reason_code"], c["amount_fen"], c["settlement_id"]) for c in seen["chargebacks"]] == [
            ("C02", CLAIM_FEN, settlement["id"])]
        assert seen["charged_back_fen"] == CLAIM_FEN and seen["history"][-1]["action"] == "charged_back"
        listed = (await side.get("/v1/settlements", params={"store_id": store["id"], "period": "2027-01"})).json()
        assert [s["total_fen"] for s in listed["items"]] == [-CLAIM_FEN]

    # The store owes it: it confirms, and HQ records the store's transfer as the payment.
    assert (await manager.post(f"/v1/settlements/{settlement['id']}/confirm")).status_code == 200
    paid = await hq.post(f"/v1/settlements/{settlement['id']}/pay", json={"reference": "STORE-TRANSFER-0120"})
    assert (paid.json()["status"], paid.json()["total_fen"]) == ("paid", -CLAIM_FEN)
    # Taken once: nothing is left for another statement.
    assert (await hq.post("/v1/settlements", json={"store_id": store["id"], "period": "2027-01"})).status_code == 409
    issued_events = await rows(client, "SELECT payload FROM outbox WHERE event_type = 'network.settlement.issued'")
    assert f'"debits_fen":{CLAIM_FEN}' in issued_events[-1][0].replace(" ", "")


async def test_a_debit_larger_than_what_is_left_of_the_paid_claim_is_422_naming_amount_fen(client, hq, clock):
    store = await create_store(hq)
    claim, = await paid_claims(client, hq, store["id"], 1, clock)
    url = f"/v1/claims/{claim['id']}/chargebacks"
    too_much = await hq.post(url, json={"reason_code": "C04", "amount_fen": CLAIM_FEN + 1})
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "amount_fen"
    assert (await hq.post(url, json={"reason_code": "C04", "amount_fen": 50000})).status_code == 201
    over_what_is_left = await hq.post(url, json={"reason_code": "C01", "amount_fen": CLAIM_FEN - 50000 + 1})
    assert over_what_is_left.status_code == 422, over_what_is_left.text
    assert over_what_is_left.json()["errors"][0]["field"] == "amount_fen"
    assert (over_what_is_left.json()["paid_fen"], over_what_is_left.json()["charged_back_fen"]) == (CLAIM_FEN, 50000)
    # The rest through API.md's singular path, which is the same action.
    rest = await hq.post(f"/v1/claims/{claim['id']}/chargeback", json={"reason_code": "C01",
                                                                        "amount_fen": CLAIM_FEN - 50000})
    assert rest.status_code == 201, rest.text
    assert (await hq.get(f"/v1/claims/{claim['id']}")).json()["charged_back_fen"] == CLAIM_FEN


async def test_only_hq_debits_only_a_paid_claim_and_only_with_an_audit_reason(client, hq, clock):
    store = await create_store(hq)
    unpaid, = await approved_claims(client, hq, store["id"], 1)
    url = f"/v1/claims/{unpaid['id']}/chargebacks"
    not_paid = await hq.post(url, json={"reason_code": "C01", "amount_fen": 100})
    assert not_paid.status_code == 409 and not_paid.json()["current_state"] == "approved"
    paid, = await paid_claims(client, hq, store["id"], 1, clock)
    url = f"/v1/claims/{paid['id']}/chargebacks"
    system_code = await hq.post(url, json={"reason_code": "PNR", "amount_fen": 100})
    assert system_code.status_code == 422 and system_code.json()["errors"][0]["field"] == "reason_code"
    unknown = await hq.post(url, json={"reason_code": "C99", "amount_fen": 100})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "reason_code"
    for role in ("store_manager", "warranty_clerk"):
        caller = Caller(client, role, store_id=store["id"])
        assert (await caller.post(url, json={"reason_code": "C01", "amount_fen": 100})).status_code == 403


async def test_a_replayed_debit_is_written_once(client, hq, clock):
    store = await create_store(hq)
    claim, = await paid_claims(client, hq, store["id"], 1, clock)
    url, body = f"/v1/claims/{claim['id']}/chargebacks", {"reason_code": "C05", "amount_fen": 2000, "note": "twice"}
    answers = [await hq.post(url, json=body, headers={"Idempotency-Key": "audit-7"}) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201] and answers[0].json() == answers[1].json()
    assert answers[1].headers.get("idempotent-replayed") == "true"
    assert await rows(client, "SELECT count(*) FROM claim_chargebacks") == [(1,)]
    assert await rows(client, "SELECT count(*) FROM outbox WHERE event_type = 'network.claim.charged_back'") == [(1,)]
    reused = await hq.post(url, json={**body, "amount_fen": 3000}, headers={"Idempotency-Key": "audit-7"})
    assert reused.status_code == 422
