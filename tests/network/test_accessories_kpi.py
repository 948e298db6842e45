"""Accessories revenue (issue 18): the accessory lines of settled repair orders, per store
in the KPIs and per advisor in the people's attainment, equal to a hand computation over
seeded events; the store's accessories target is attained from the same figure. Events go
through the KPI projection as the consumer applies them."""
from __future__ import annotations

from datetime import date

from services.common import reference
from services.common.events.catalogue import reception
from services.common.ids import new_id
from tests.network import factories as f
from tests.network.conftest import create_store
from tests.network.test_targets import YEAR, by_measure, even_months, local, put, register
from tests.support.events import deliver, envelope_for
from tests.support.platform import Caller

NOV = [date(2026, 11, d) for d in (4, 12, 20, 28)]


def accessory(code: str, quantity: int = 1) -> dict:
    """An accessory line priced from the catalogue, as reception sends it."""
    price = reference.accessories()[code]["price_fen"]
    return {"line_id": new_id(), "kind": "accessory", "accessory_code": code, "description": code,
            "quantity": str(quantity), "unit_price_fen": price, "amount_fen": quantity * price, "pay_type": "customer"}


def delivered(store_id: str, advisor_id: str, day: date, lines: list[dict]):
    rid = new_id()
    at = local(day, 17)
    sold = sum(line["amount_fen"] for line in lines if line["kind"] == "accessory")
    event = reception.RepairOrderDelivered(
        repair_order_id=rid, number=f"RO-{rid[-6:]}", store_id=store_id,
        customer={"name": "Li Na", "phone": "13900001111"}, vehicle={"vin": "LSVAB4180E2100001"}, mileage_km=20000,
        advisor={"id": advisor_id, "name": "advisor", "role": "service_advisor"}, delivered_by=advisor_id,
        opened_at=local(day, 9), settled_at=at, delivered_at=at, lines=lines, accessories_fen=sold,
        totals={"customer_fen": sum(line["amount_fen"] for line in lines if line["pay_type"] == "customer")})
    return envelope_for(event, subject=rid, store_id=store_id, time=at)


async def test_accessories_revenue_per_store_and_advisor_equals_a_hand_computation(client, hq):
    store, neighbour = await create_store(hq, timezone_name="Asia/Shanghai"), await create_store(hq)
    s = store["id"]
    li, wang = await register(hq, s, "service_advisor", "李娜"), await register(hq, s, "service_advisor", "王强")
    orders = [
        (li, NOV[0], [accessory("ACC-MAT-3D"), f.labour("MNT-0100", "1", 26000, pay_type="customer")]),
        (li, NOV[1], [accessory("ACC-FILM-FULL"), accessory("ACC-DASHCAM")]),
        (wang, NOV[2], [accessory("ACC-MUDFLAP", 2), f.part("XB-15400-001", 1, 4500, pay_type="customer")]),
        (wang, NOV[3], [f.part("XB-57450-S01", 1, 80000)]),  # no accessory sold
    ]
    for advisor, day, lines in orders:
        await deliver(client.app, delivered(s, advisor, day, lines))
    await deliver(client.app, delivered(s, li, date(2026, 10, 31), [accessory("ACC-PPF")]))  # October
    await deliver(client.app, delivered(neighbour["id"], "someone", NOV[1], [accessory("ACC-TOWBAR")]))

    # By hand, from data/accessories.json: 3D mats 1 280.00, window film 3 980.00, dash cam 899.00 (李娜);
    # two sets of mud flaps at 320.00 (王强).
    li_fen, wang_fen = 128000 + 398000 + 89900, 2 * 32000
    kpis = (await hq.get(f"/v1/kpis?from=2026-11-01&to=2026-11-30&store_id={s}")).json()
    assert kpis["stores"][0]["accessories_revenue_fen"] == li_fen + wang_fen == 679900
    network = (await hq.get("/v1/kpis?from=2026-11-01&to=2026-11-30")).json()["network"]
    assert network["accessories_revenue_fen"] >= li_fen + wang_fen + 258000  # other tests' stores may add to it

    assert (await put(hq, f"/v1/stores/{s}/targets/{YEAR}", {"accessories_revenue_fen": 12_000_000})).status_code == 200
    manager_months = even_months(accessories_revenue_fen=1_000_000)
    manager = Caller(client, "store_manager", store_id=s)
    assert (await put(manager, f"/v1/stores/{s}/targets/{YEAR}/months", manager_months)).status_code == 200
    shares = {"people": [{"person_id": li, "month": 11, "accessories_revenue_fen": 600_000},
                         {"person_id": wang, "month": 11, "accessories_revenue_fen": 400_000}]}
    assert (await put(manager, f"/v1/stores/{s}/targets/{YEAR}/people", shares)).status_code == 200

    body = (await hq.get(f"/v1/targets/attainment?period=2026-11&store_id={s}")).json()
    (figures,) = body["stores"]
    row = by_measure(figures["measures"])["accessories_revenue_fen"]
    assert (row["target"], row["actual"], row["attained"], row["not_measured"]) == (
        1_000_000, 679900, "0.6799", None)
    people = {p["name"]: by_measure(p["measures"])["accessories_revenue_fen"] for p in figures["people"]}
    assert (people["李娜"]["actual"], people["李娜"]["attained"]) == (li_fen, "1.0265")  # 615 900 of 600 000
    assert (people["王强"]["actual"], people["王强"]["attained"]) == (wang_fen, "0.1600")  # 64 000 of 400 000
    mine = (await Caller(client, "service_advisor", store_id=s, principal_id=wang).get(
        f"/v1/people/{wang}/attainment?period=2026-11")).json()
    assert by_measure(mine["stores"][0]["measures"])["accessories_revenue_fen"]["actual"] == wang_fen


async def test_a_repeated_delivery_counts_its_accessories_once(client, hq):
    store = await create_store(hq, timezone_name="Asia/Shanghai")
    event = delivered(store["id"], "advisor-1", NOV[0], [accessory("ACC-TPMS", 4)])
    for _ in range(2):
        await deliver(client.app, event)
    kpis = (await hq.get(f"/v1/kpis?from=2026-11-01&to=2026-11-30&store_id={store['id']}")).json()
    assert kpis["stores"][0]["accessories_revenue_fen"] == 4 * 59900
