"""Gross margin: reception's revenue of a delivered order less the workshop's cost of it
(`workshop.order.costed`), to the fen by a hand computation, whichever event arrives first,
and unchanged by a cost event delivered again; per store in the KPIs, per advisor, and the
gross margin target's attainment."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.common.events.catalogue import reception, workshop
from services.common.ids import new_id
from services.network.kpis.projection import project
from tests.network import factories as f
from tests.network.conftest import create_store
from tests.support.events import deliver, envelope_for
from tests.support.platform import Caller, identity

DAY = date(2026, 12, 3)  # the clock (tests/network/factories.T0) says 10 December in Shanghai


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def lines() -> list[dict]:
    """Customer-pay labour, parts and sublet and a fee; warranty labour and a warranty part."""
    sublet = {"line_id": "l-sublet", "kind": "sublet", "description": "four-wheel alignment (sublet)",
              "quantity": "1", "unit_price_fen": 40_000, "amount_fen": 40_000, "pay_type": "customer"}
    return [f.labour("MNT-0100", "2", unit_price_fen=30_000, pay_type="customer", line_id="l-labour"),  # 60 000
            f.part("XB-1", 2, 15_000, pay_type="customer", line_id="l-part"),  # 30 000
            sublet,  # 40 000
            {**f.fee(1_000, pay_type="customer"), "line_id": "l-fee"},  # 1 000
            f.labour("WTY-0200", "1", unit_price_fen=26_000, pay_type="warranty", line_id="l-w-labour"),  # 26 000
            f.part("XB-2", 1, 50_000, pay_type="warranty", line_id="l-w-part")]  # 50 000


# Revenue: customer 60 000 + 30 000 + 40 000 + 1 000 = 131 000; warranty 26 000 + 50 000 = 76 000.
# Cost: customer labour 13 800 (2.3 h at 6 000), parts 19 000, sublet 28 000 = 60 800;
# warranty labour 6 600 (1.1 h), part 36 000 = 42 600; a part over the counter 1 200.
HAND = {
    "orders": 1, "orders_incomplete": 0, "revenue_fen": 207_000,
    "cost_fen": {"parts": 19_000 + 36_000 + 1_200, "labour": 13_800 + 6_600, "sublet": 28_000, "total": 104_600},
    "margin_fen": 207_000 - 104_600,
    "margin_rate": "0.4947",  # 102 400 / 207 000 = 0.494685...
    "by_payer_fen": {"customer": 131_000 - 60_800, "warranty": 76_000 - 42_600, "internal": 0, "other": -1_200},
}


def delivered(store_id: str, rid: str, advisor_id: str, day: date = DAY, order_lines: list[dict] | None = None):
    at = local(day, 16)
    order_lines = lines() if order_lines is None else order_lines
    event = reception.RepairOrderDelivered(
        repair_order_id=rid, number=f"RO-{rid[-6:]}", store_id=store_id,
        customer={"name": "Li Na", "phone": "13900001111"}, vehicle={"vin": "LSVAB4180E2100001"}, mileage_km=20000,
        advisor={"id": advisor_id, "name": "advisor", "role": "service_advisor"}, delivered_by=advisor_id,
        opened_at=local(day, 9), settled_at=local(day, 15), delivered_at=at, lines=order_lines,
        totals={"customer_fen": 131_000, "warranty_fen": 76_000})
    return envelope_for(event, subject=rid, store_id=store_id, time=at)


def settled(store_id: str, rid: str, advisor_id: str, day: date = DAY):
    event = reception.RepairOrderSettled(
        repair_order_id=rid, number=f"RO-{rid[-6:]}", store_id=store_id,
        customer={"name": "Li Na", "phone": "13900001111"}, vehicle={"vin": "LSVAB4180E2100001"}, mileage_km=20000,
        advisor={"id": advisor_id, "name": "advisor", "role": "service_advisor"}, opened_at=local(day, 9),
        settled_at=local(day, 15), invoice_no="INV-1", lines=lines(),
        totals={"customer_fen": 131_000, "warranty_fen": 76_000}, payments=[])
    return envelope_for(event, subject=rid, store_id=store_id, time=local(day, 15))


def costed(store_id: str, rid: str, day: date = DAY, missing: list[str] | None = None):
    at = local(day, 16, 5)
    event = workshop.OrderCosted(
        repair_order_id=rid, store_id=store_id, costed_at=at, delivered_at=local(day, 16),
        parts_cost_fen=56_200, labor_cost_fen=20_400, sublet_cost_fen=28_000, total_cost_fen=104_600,
        clocked_hours="3.4",
        by_pay_type=[{"pay_type": "customer", "parts_cost_fen": 19_000, "labor_cost_fen": 13_800,
                      "sublet_cost_fen": 28_000},
                     {"pay_type": "warranty", "parts_cost_fen": 36_000, "labor_cost_fen": 6_600},
                     {"pay_type": "counter", "parts_cost_fen": 1_200}],
        lines=[{"line_id": "l-labour", "kind": "labor", "pay_type": "customer", "cost_fen": 13_800},
               {"line_id": "l-part", "kind": "part", "pay_type": "customer", "cost_fen": 19_000},
               {"line_id": "l-sublet", "kind": "sublet", "pay_type": "customer", "cost_fen": 28_000},
               {"line_id": "l-w-labour", "kind": "labor", "pay_type": "warranty", "cost_fen": 6_600},
               {"line_id": "l-w-part", "kind": "part", "pay_type": "warranty", "cost_fen": 36_000},
               {"line_id": None, "kind": "part", "pay_type": None, "cost_fen": 1_200}],
        missing=missing)
    return envelope_for(event, subject=rid, store_id=store_id, time=at)


async def margin_of(hq: Caller, store_id: str, since: date = DAY, until: date = DAY) -> dict:
    response = await hq.get(f"/v1/kpis?from={since}&to={until}&store_id={store_id}")
    assert response.status_code == 200, response.text
    return response.json()["stores"][0]["gross_margin"]


async def test_margin_of_an_order_equals_the_hand_computation_whichever_event_comes_first(client, hq):
    in_order, cost_first, settled_only = await create_store(hq), await create_store(hq), await create_store(hq)
    for event in (settled(in_order["id"], "ro-a", "adv-a"), delivered(in_order["id"], "ro-a", "adv-a"),
                  costed(in_order["id"], "ro-a")):
        await deliver(client.app, event)
    # The cost before reception's delivery: nothing yet (no revenue to set it against), then the margin.
    await deliver(client.app, costed(cost_first["id"], "ro-b"))
    assert (await margin_of(hq, cost_first["id"]))["orders"] == 0
    await deliver(client.app, delivered(cost_first["id"], "ro-b", "adv-b"))
    # The cost, then only the settlement: the settled lines are the revenue; the day is the cost's delivery.
    await deliver(client.app, costed(settled_only["id"], "ro-c"))
    await deliver(client.app, settled(settled_only["id"], "ro-c", "adv-c"))

    for store in (in_order, cost_first, settled_only):
        assert await margin_of(hq, store["id"]) == HAND, store["code"]
    network = (await hq.get(f"/v1/kpis?from={DAY}&to={DAY}")).json()["network"]["gross_margin"]
    assert (network["orders"], network["margin_fen"]) == (3, 3 * HAND["margin_fen"])


async def test_a_cost_event_delivered_again_changes_nothing(client, hq):
    store = await create_store(hq)
    s = store["id"]
    cost = costed(s, "ro-d")
    for event in (delivered(s, "ro-d", "adv-d"), cost):
        await deliver(client.app, event)
    before = await margin_of(hq, s)
    assert before == HAND
    await deliver(client.app, cost)  # the inbox has it
    # A rebuild's reading goes past the inbox: the projection itself must see it is the same event.
    async with client.app.state.db.transaction() as session:
        assert await project(session, workshop.OrderCosted.model_validate(cost.data), cost) is False
    # The same cost sent again under a new id, later: the same figures, so the same margin.
    again = envelope_for(workshop.OrderCosted.model_validate(cost.data), subject="ro-d", store_id=s,
                         time=cost.time + timedelta(minutes=5))
    await deliver(client.app, again)
    assert await margin_of(hq, s) == before


async def test_an_order_costed_with_something_missing_is_counted_and_flagged(client, hq):
    store = await create_store(hq)
    await deliver(client.app, delivered(store["id"], "ro-e", "adv-e"))
    await deliver(client.app, costed(store["id"], "ro-e", missing=["technician t-1 has no cost rate"]))
    assert await margin_of(hq, store["id"]) == {**HAND, "orders_incomplete": 1}


async def register(hq: Caller, store_id: str, name: str) -> str:
    response = await hq.post("/v1/people", json=f.person_body([(store_id, "service_advisor")], name=name))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def by_measure(rows: list[dict]) -> dict[str, dict]:
    return {row["measure"]: row for row in rows}


async def test_the_gross_margin_target_is_attained_by_the_store_and_its_advisor(client, hq):
    """December 2026, 10 of 31 days gone by the clock: one costed order of 102 400 fen
    margin against a month of 1 000 000; an order delivered but not costed yet adds nothing."""
    store = await create_store(hq)
    s = store["id"]
    li = await register(hq, s, "李娜")
    manager = Caller(client, "store_manager", store_id=s)
    headers = identity("hq_admin", None, "hq-admin-1")
    year = await client.put(f"/v1/stores/{s}/targets/2026", json={"gross_margin_fen": 12_000_000}, headers=headers)
    assert year.status_code == 200, year.text
    months = {"months": [{"month": m, "gross_margin_fen": 1_000_000} for m in range(1, 13)]}
    split = await client.put(f"/v1/stores/{s}/targets/2026/months", json=months,
                             headers=identity("store_manager", s, manager.principal_id))
    assert split.status_code == 200, split.text
    shares = {"people": [{"person_id": li, "month": 12, "gross_margin_fen": 1_000_000}]}
    share = await client.put(f"/v1/stores/{s}/targets/2026/people", json=shares,
                             headers=identity("store_manager", s, manager.principal_id))
    assert share.status_code == 200, share.text

    november = by_measure((await hq.get(f"/v1/targets/attainment?period=2026-11&store_id={s}")
                           ).json()["stores"][0]["measures"])["gross_margin_fen"]
    assert november["actual"] is None and "costed" in november["not_measured"]  # none costed: no figure, not 0

    rid = new_id()
    await deliver(client.app, costed(s, rid))
    await deliver(client.app, delivered(s, rid, li))
    await deliver(client.app, delivered(s, new_id(), li, day=date(2026, 12, 4)))  # its cost still to come

    body = (await hq.get(f"/v1/targets/attainment?period=2026-12&store_id={s}")).json()
    (figures,) = body["stores"]
    row = by_measure(figures["measures"])["gross_margin_fen"]
    assert (row["target"], row["target_source"], row["actual"], row["attained"]) == (1_000_000, "month", 102_400,
                                                                                     "0.1024")
    assert row["not_measured"] is None
    assert (row["projected"], row["projected_attained"]) == (317_440, "0.3174")  # 102 400 × 31 / 10
    (person,) = [p for p in figures["people"] if p["person_id"] == li]
    mine = by_measure(person["measures"])["gross_margin_fen"]
    assert (mine["target"], mine["actual"], mine["attained"], mine["not_measured"]) == (1_000_000, 102_400, "0.1024",
                                                                                       None)
    network = by_measure(body["network"]["measures"])["gross_margin_fen"]
    assert (network["target"], network["actual"]) == (1_000_000, 102_400)
