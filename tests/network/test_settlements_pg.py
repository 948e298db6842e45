"""Monthly settlement on PostgreSQL: a claim is on one settlement at most, enforced by the
database (settlement_claims.claim_id is unique), also when two are issued at once; the
store confirms, HQ pays and the claims become settled."""
from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from services.common.errors import Conflict
from services.common.identity import Principal
from services.common.tables import OutboxMessage
from services.network.settlements import service as settlements
from services.network.stores.models import Store
from tests.network.conftest import create_store, network_service, network_settings
from tests.network.factories import labour, order_settled, part
from tests.support.events import deliver
from tests.support.platform import Caller, eventually

DECEMBER = "2026-12"
AFTER_DECEMBER = datetime(2027, 1, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
async def client(pg_url, clock):
    async with network_service(network_settings(pg_url), clock) as client:
        yield client


async def approved_claims(client, hq: Caller, store_id: str, count: int) -> list[dict]:
    advisor = Caller(client, "service_advisor", store_id=store_id)
    claims = []
    for _ in range(count):
        order = order_settled(store_id, [labour("BRK-0500", "0.7"), part("XB-57450-S01", 1, 52900)])
        assert await deliver(client.app, order) == "applied"
        submitted = await advisor.post("/v1/claims", json={
            "repair_order_id": order.data["repair_order_id"], "complaint": "ABS light", "cause": "sensor",
            "correction": "replaced", "causal_part_no": "XB-57450-S01"})
        assert submitted.status_code == 201, submitted.text
        decided = await hq.post(f"/v1/claims/{submitted.json()['id']}/decision", json={"decision": "approve"})
        assert decided.json()["status"] == "approved"
        claims.append(decided.json())
    return claims


async def settlement_rows(client) -> list[tuple[str, str]]:
    async with client.app.state.db.transaction() as session:
        return [tuple(r) for r in (await session.exec(sa.text(
            "SELECT settlement_id, claim_id FROM settlement_claims ORDER BY claim_id"))).all()]


async def test_two_settlements_issued_at_once_for_one_store_and_month_one_wins_and_no_claim_is_on_both(
        client, hq, clock):
    store = await create_store(hq)
    claims = await approved_claims(client, hq, store["id"], 3)
    clock.set(AFTER_DECEMBER)
    answers = await asyncio.gather(*(hq.post("/v1/settlements", json={"store_id": store["id"], "period": DECEMBER})
                                     for _ in range(2)))
    assert sorted(r.status_code for r in answers) == [201, 409]
    winner = next(r.json() for r in answers if r.status_code == 201)
    assert sorted(c["id"] for c in winner["claims"]) == sorted(c["id"] for c in claims)
    assert winner["total_fen"] == 3 * 71100
    rows = await settlement_rows(client)
    assert len(rows) == 3 and {s for s, _ in rows} == {winner["id"]} and len({c for _, c in rows}) == 3


async def test_the_database_refuses_a_claim_on_a_second_settlement_even_when_both_read_it_as_unsettled(
        client, hq, pg_url):
    store = await create_store(hq)
    claims = await approved_claims(client, hq, store["id"], 2)
    db = client.app.state.db
    now, issuer = AFTER_DECEMBER, Principal(id="hq-admin-1", role="hq_admin")
    admin = await asyncpg.connect(make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        async with db.sessions() as first, db.sessions() as second:
            store_1, store_2 = await first.get(Store, store["id"]), await second.get(Store, store["id"])
            seen_1 = await settlements.gather(first, now, store_1, DECEMBER)
            seen_2 = await settlements.gather(second, now, store_2, DECEMBER)
            assert [c.id for c in seen_1] == [c.id for c in seen_2] == sorted(c["id"] for c in claims)
            await settlements.record(first, now, issuer, store_1, DECEMBER, seen_1)
            racing = asyncio.create_task(settlements.record(second, now, issuer, store_2, DECEMBER, seen_2))

            async def second_waits_on_a_lock():
                return await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'")

            await eventually(second_waits_on_a_lock, timeout=10, message="the second settlement never waited")
            assert not racing.done()
            await first.commit()
            with pytest.raises(Conflict):
                await racing
            await second.rollback()
    finally:
        await admin.close()
    rows = await settlement_rows(client)
    assert len(rows) == 2 and len({s for s, _ in rows}) == 1


async def test_a_settlement_is_issued_confirmed_by_its_store_and_paid_by_hq_each_step_naming_the_person(
        client, hq, clock):
    store = await create_store(hq)
    december = await approved_claims(client, hq, store["id"], 2)
    url = "/v1/settlements"
    not_begun = await hq.post(url, json={"store_id": store["id"], "period": "2027-01"})
    assert not_begun.status_code == 422 and not_begun.json()["errors"][0]["field"] == "period"
    clock.set(AFTER_DECEMBER)
    january = await approved_claims(client, hq, store["id"], 1)  # decided after December's end
    # Three people: HQ's issuer with a key issued to her, the store's manager signed in, and
    # HQ's cashier with a key of his own; the gateway signs a person's key as the person.
    issuer = Caller(client, "hq_admin", principal_id="person-zhou", name="周敏", credential="key:k-zhou-1")
    payer = Caller(client, "hq_admin", principal_id="person-li", name="李强", credential="key:k-li-7")
    issued = await issuer.post(url, json={"store_id": store["id"], "period": DECEMBER})
    assert issued.status_code == 201, issued.text
    settlement = issued.json()
    assert (settlement["issued_by"], settlement["issued_by_name"], settlement["issued_by_credential"]) == (
        "person-zhou", "周敏", "key:k-zhou-1")
    assert settlement["confirmed_by"] is settlement["confirmed_by_name"] is settlement["paid_by_credential"] is None
    assert sorted(c["id"] for c in settlement["claims"]) == sorted(c["id"] for c in december)
    assert (settlement["status"], settlement["total_fen"]) == ("issued", 142200)
    nothing_left = await hq.post(url, json={"store_id": store["id"], "period": DECEMBER})
    assert nothing_left.status_code == 409
    claim = (await hq.get(f"/v1/claims/{december[0]['id']}")).json()
    assert (claim["status"], claim["settlement_id"]) == ("approved", settlement["id"])

    sid = settlement["id"]
    assert (await hq.post(f"{url}/{sid}/pay", json={"reference": "TRX-1"})).status_code == 409
    assert (await hq.post(f"{url}/{sid}/confirm")).status_code == 403
    advisor = Caller(client, "service_advisor", store_id=store["id"])
    assert (await advisor.post(f"{url}/{sid}/confirm")).status_code == 403
    other = await create_store(hq)
    assert (await Caller(client, "store_manager", store_id=other["id"]).post(f"{url}/{sid}/confirm")).status_code == 404
    manager = Caller(client, "store_manager", store_id=store["id"], principal_id="manager-1", name="王芳",
                     credential="token:s-wang-3")
    confirmed = (await manager.post(f"{url}/{sid}/confirm")).json()
    assert (confirmed["status"], confirmed["confirmed_by"], confirmed["confirmed_by_name"],
            confirmed["confirmed_by_credential"]) == ("confirmed", "manager-1", "王芳", "token:s-wang-3")
    paid = await payer.post(f"{url}/{sid}/pay", json={"reference": "TRX-20270105-001"})
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["reference"]) == ("paid", "TRX-20270105-001")
    read = (await manager.get(f"{url}/{sid}")).json()
    who_fields = ("issued_by", "confirmed_by", "paid_by")
    assert [(read[f], read[f"{f}_name"], read[f"{f}_credential"]) for f in who_fields] == [
        ("person-zhou", "周敏", "key:k-zhou-1"), ("manager-1", "王芳", "token:s-wang-3"),
        ("person-li", "李强", "key:k-li-7")]
    for claim in december:
        body = (await hq.get(f"/v1/claims/{claim['id']}")).json()
        assert body["status"] == "settled" and body["settled_at"] is not None
    assert (await hq.get(f"/v1/claims/{january[0]['id']}")).json()["status"] == "approved"
    assert [s["id"] for s in (await manager.get(url)).json()["items"]] == [sid]
    assert (await Caller(client, "store_manager", store_id=other["id"]).get(url)).json()["items"] == []

    async with client.app.state.db.transaction() as session:
        events = [(t, json.loads(p)["data"]) for t, p in (await session.exec(
            sa.select(OutboxMessage.event_type, OutboxMessage.payload).where(
                OutboxMessage.event_type.like("network.settlement.%")).order_by(OutboxMessage.id))).all()]
    assert [(t, d["settlement_id"], d["total_fen"]) for t, d in events] == [
        ("network.settlement.issued", sid, 142200), ("network.settlement.paid", sid, 142200)]
    assert events[1][1]["reference"] == "TRX-20270105-001"
    # Each event names the person who did it, as the settlement does.
    assert [(d["issued_by"], d["issued_by_name"], d["issued_by_credential"]) for t, d in events[:1]] + [
        (d["paid_by"], d["paid_by_name"], d["paid_by_credential"]) for t, d in events[1:]] == [
        ("person-zhou", "周敏", "key:k-zhou-1"), ("person-li", "李强", "key:k-li-7")]
