"""Old-part returns (旧件回收) on PostgreSQL: HQ asks for a claim line's old part, the store
ships it, HQ's warehouse inspects it; a part not shipped by its ship-by date is charged
back (PNR) on the store's next settlement, a part returned is not, and a part that comes
back wrong is charged back at once."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.network.conftest import create_store, network_service, network_settings
from tests.network.factories import T0, labour, order_settled, part
from tests.network.test_settlements_pg import approved_claims
from tests.support.events import deliver
from tests.support.platform import Caller

DECEMBER = "2026-12"
PART_NO = "XB-57450-S01"
PART_LINE_FEN = 46000 * 115 // 100  # dealer cost + 15 % handling, as the claim approved it


@pytest.fixture
async def client(pg_url, clock):
    async with network_service(network_settings(pg_url), clock) as client:
        yield client


def part_line(claim: dict) -> dict:
    return next(line for line in claim["lines"] if line["part_no"] == PART_NO)


async def ask_back(hq: Caller, claim: dict, **kw) -> dict:
    answer = await hq.post(f"/v1/claims/{claim['id']}/lines/{part_line(claim)['line_id']}/return-required", **kw)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def rows(client, sql: str) -> list:
    async with client.app.state.db.transaction() as session:
        return [tuple(r) for r in (await session.exec(sa.text(sql))).all()]


async def test_a_part_not_shipped_by_its_date_is_charged_back_on_the_next_settlement_and_a_returned_one_is_not(
        client, hq, clock):
    store = await create_store(hq)
    kept, returned = await approved_claims(client, hq, store["id"], 2)
    assert part_line(kept)["approved_fen"] == PART_LINE_FEN
    marker = Caller(client, "hq_admin", principal_id="person-zhao", name="赵敏", credential="key:k-zhao-1")
    asked = {c["id"]: await ask_back(marker, c) for c in (kept, returned)}
    for r in asked.values():
        assert (r["status"], datetime.fromisoformat(r["ship_by"]), r["overdue"]) == (
            "due", T0 + timedelta(days=30), False)
        assert (r["marked_by"], r["marked_by_name"], r["marked_by_credential"]) == (
            "person-zhao", "赵敏", "key:k-zhao-1")
        assert (r["part_no"], r["quantity"]) == (PART_NO, "1")

    clerk = Caller(client, "warranty_clerk", store_id=store["id"], principal_id="person-li", name="李娜",
                   credential="token:s-li-1")
    listed = (await clerk.get("/v1/part-returns", params={"status": "due"})).json()["items"]
    assert sorted(r["id"] for r in listed) == sorted(r["id"] for r in asked.values())
    shipped = await clerk.post(f"/v1/part-returns/{asked[returned['id']]['id']}/ship",
                               json={"waybill": "SF1234567890", "carrier": "顺丰 SF Express"})
    assert shipped.status_code == 200, shipped.text
    assert (shipped.json()["status"], shipped.json()["shipped_by_name"], shipped.json()["waybill"]) == (
        "shipped", "李娜", "SF1234567890")
    inspected = await hq.post(f"/v1/part-returns/{asked[returned['id']]['id']}/receive", json={"result": "ok"})
    assert (inspected.json()["status"], inspected.json()["result"], inspected.json()["chargeback_id"]) == (
        "received", "ok", None)

    clock.set(T0 + timedelta(days=31))
    overdue = (await clerk.get(f"/v1/part-returns/{asked[kept['id']]['id']}")).json()
    assert overdue["overdue"] is True
    issued = await hq.post("/v1/settlements", json={"store_id": store["id"], "period": DECEMBER})
    assert issued.status_code == 201, issued.text
    settlement = issued.json()
    assert sorted(c["id"] for c in settlement["claims"]) == sorted([kept["id"], returned["id"]])
    assert [(d["claim_id"], d["reason_code"], d["amount_fen"], d["part_return_id"]) for d in settlement["debits"]] == [
        (kept["id"], "PNR", -PART_LINE_FEN, asked[kept["id"]]["id"])]
    assert settlement["debits"][0]["reason_zh"] == "旧件未按期返回"
    assert (settlement["claims_fen"], settlement["debits_fen"], settlement["total_fen"], settlement["owed_by_store"]) \
        == (2 * 71100, PART_LINE_FEN, 2 * 71100 - PART_LINE_FEN, False)

    charged = (await clerk.get(f"/v1/part-returns/{asked[kept['id']]['id']}")).json()
    assert (charged["status"], charged["chargeback_id"]) == ("charged_back", settlement["debits"][0]["id"])
    assert (await clerk.get(f"/v1/part-returns/{asked[returned['id']]['id']}")).json()["status"] == "received"
    seen = (await clerk.get(f"/v1/claims/{kept['id']}")).json()
    assert [(c["reason_code"], c["amount_fen"], c["settlement_id"]) for c in seen["chargebacks"]] == [
        ("PNR", PART_LINE_FEN, settlement["id"])]
    assert seen["charged_back_fen"] == PART_LINE_FEN
    assert (await clerk.get(f"/v1/claims/{returned['id']}")).json()["chargebacks"] == []
    # Shipping once charged is too late.
    late = await clerk.post(f"/v1/part-returns/{asked[kept['id']]['id']}/ship",
                            json={"waybill": "SF999", "carrier": "SF"})
    assert late.status_code == 409 and late.json()["current_state"] == "charged_back"
    events = await rows(client, "SELECT event_type FROM outbox WHERE event_type LIKE 'network.part_return.%' "
                                "OR event_type = 'network.claim.charged_back' ORDER BY event_type")
    assert events == [("network.claim.charged_back",), ("network.part_return.received",),
                      ("network.part_return.shipped",)]


async def test_a_part_asked_for_during_review_is_due_from_approval_and_a_rejection_cancels_it(client, hq, clock):
    store = await create_store(hq)
    claim, = await approved_claims(client, hq, store["id"], 1)
    # Another claim, still under review: its clock has not started.
    order = order_settled(store["id"], [labour("BRK-0500", "0.7"), part(PART_NO, 1, 52900)])
    assert await deliver(client.app, order) == "applied"
    advisor = Caller(client, "service_advisor", store_id=store["id"])
    pending = (await advisor.post("/v1/claims", json={
        "repair_order_id": order.data["repair_order_id"], "complaint": "ABS light", "cause": "sensor",
        "correction": "replaced", "causal_part_no": PART_NO})).json()
    early = await ask_back(hq, pending)
    assert (early["status"], early["ship_by"]) == ("due", None)
    refused = await advisor.post(f"/v1/part-returns/{early['id']}/ship", json={"waybill": "W1", "carrier": "SF"})
    assert refused.status_code == 409
    clock.set(T0 + timedelta(days=2))
    await hq.post(f"/v1/claims/{pending['id']}/decision", json={"decision": "approve"})
    started = (await hq.get(f"/v1/part-returns/{early['id']}")).json()
    assert datetime.fromisoformat(started["ship_by"]) == T0 + timedelta(days=32)
    # A labour line has no old part; a line asked for twice is 409.
    labour_line = next(line for line in claim["lines"] if line["kind"] != "part")
    not_a_part = await hq.post(f"/v1/claims/{claim['id']}/lines/{labour_line['line_id']}/return-required")
    assert not_a_part.status_code == 422 and not_a_part.json()["errors"][0]["field"] == "line_id"
    await ask_back(hq, claim)
    twice = await hq.post(f"/v1/claims/{claim['id']}/lines/{part_line(claim)['line_id']}/return-required")
    assert twice.status_code == 409
    assert (await advisor.post(f"/v1/claims/{claim['id']}/lines/{part_line(claim)['line_id']}/return-required")
            ).status_code == 403


async def test_a_part_received_as_the_wrong_part_is_charged_back_at_once(client, hq):
    store = await create_store(hq)
    claim, = await approved_claims(client, hq, store["id"], 1)
    asked = await ask_back(hq, claim)
    manager = Caller(client, "store_manager", store_id=store["id"])
    await manager.post(f"/v1/part-returns/{asked['id']}/ship", json={"waybill": "YT88", "carrier": "圆通 YTO"})
    inspector = Caller(client, "hq_admin", principal_id="person-qian", name="钱伟", credential="key:k-qian-2")
    received = await inspector.post(f"/v1/part-returns/{asked['id']}/receive",
                                    json={"result": "wrong_part", "note": "a brake pad, not the sensor"})
    assert received.status_code == 200, received.text
    body = received.json()
    assert (body["status"], body["result"], body["received_by_name"]) == ("received", "wrong_part", "钱伟")
    seen = (await manager.get(f"/v1/claims/{claim['id']}")).json()
    assert [(c["id"], c["reason_code"], c["reason_en"], c["amount_fen"], c["charged_by_name"])
            for c in seen["chargebacks"]] == [
        (body["chargeback_id"], "PWR", "The part returned is not the claimed part", PART_LINE_FEN, "钱伟")]
    assert (await manager.post(f"/v1/part-returns/{asked['id']}/receive", json={"result": "ok"})).status_code == 403


async def test_another_stores_part_return_is_not_found(client, hq):
    store, other = await create_store(hq), await create_store(hq)
    claim, = await approved_claims(client, hq, store["id"], 1)
    asked = await ask_back(hq, claim)
    stranger = Caller(client, "store_manager", store_id=other["id"])
    assert (await stranger.get(f"/v1/part-returns/{asked['id']}")).status_code == 404
    assert (await stranger.post(f"/v1/part-returns/{asked['id']}/ship",
                                json={"waybill": "X", "carrier": "Y"})).status_code == 404
    assert (await stranger.get("/v1/part-returns", params={"store_id": store["id"]})).json()["items"] == []


async def test_replayed_part_return_posts_write_once(client, hq):
    store = await create_store(hq)
    claim, = await approved_claims(client, hq, store["id"], 1)
    key = {"Idempotency-Key": "mark-1"}
    first = await ask_back(hq, claim, headers=key)
    again = await hq.post(f"/v1/claims/{claim['id']}/lines/{part_line(claim)['line_id']}/return-required",
                          headers=key)
    assert (again.status_code, again.json(), again.headers.get("idempotent-replayed")) == (201, first, "true")
    manager = Caller(client, "store_manager", store_id=store["id"])
    body = {"waybill": "SF1", "carrier": "SF"}
    shipped = [await manager.post(f"/v1/part-returns/{first['id']}/ship", json=body, headers={"Idempotency-Key": "s"})
               for _ in range(2)]
    assert [r.status_code for r in shipped] == [200, 200] and shipped[0].json() == shipped[1].json()
    received = [await hq.post(f"/v1/part-returns/{first['id']}/receive", json={"result": "missing"},
                              headers={"Idempotency-Key": "r"}) for _ in range(2)]
    assert [r.status_code for r in received] == [200, 200] and received[0].json() == received[1].json()
    assert await rows(client, "SELECT count(*) FROM part_returns") == [(1,)]
    assert await rows(client, "SELECT reason_code, count(*) FROM claim_chargebacks GROUP BY reason_code") == [
        ("PNR", 1)]
    assert await rows(client, "SELECT event_type, count(*) FROM outbox WHERE event_type LIKE 'network.part_return.%' "
                              "GROUP BY event_type ORDER BY event_type") == [
        ("network.part_return.received", 1), ("network.part_return.shipped", 1)]



async def test_a_part_asked_for_during_review_is_cancelled_when_its_line_is_approved_at_nothing(client, hq):
    store = await create_store(hq)
    order = order_settled(store["id"], [labour("BRK-0500", "0.7"), part(PART_NO, 1, 52900)])
    assert await deliver(client.app, order) == "applied"
    advisor = Caller(client, "service_advisor", store_id=store["id"])
    claim = (await advisor.post("/v1/claims", json={
        "repair_order_id": order.data["repair_order_id"], "complaint": "ABS light", "cause": "sensor",
        "correction": "replaced", "causal_part_no": PART_NO})).json()
    asked = await ask_back(hq, claim)
    cut = await hq.post(f"/v1/claims/{claim['id']}/decision", json={"decision": "partial", "lines": [
        {"line_id": part_line(claim)["line_id"], "approved_fen": 0, "adjustment_code": "R09"}]})
    assert cut.json()["status"] == "partially_approved", cut.text
    assert (await hq.get(f"/v1/part-returns/{asked['id']}")).json()["status"] == "cancelled"
