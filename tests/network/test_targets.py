"""Targets and attainment: HQ's year split by the store into months and people (adding up,
and refused naming the field when not), who may set what, attainment against a hand
computation over a seeded month, and the month's projection at the current pace in the
store's time zone. Events go through the KPI projection as the consumer applies them."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.common.events.catalogue import reception
from services.common.ids import new_id
from tests.network import factories as f
from tests.network.conftest import create_store
from tests.support.events import deliver, envelope_for
from tests.support.platform import Caller, identity

YEAR = 2026
SHANGHAI = "Asia/Shanghai"


def local(day: date, hh: int, zone: str = SHANGHAI) -> datetime:
    return datetime(day.year, day.month, day.day, hh, tzinfo=ZoneInfo(zone)).astimezone(UTC)


async def put(caller: Caller, url: str, body: Any):
    return await caller.client.put(url, json=body, headers=identity(caller.role, caller.store_id,
                                                                    caller.principal_id))


async def register(hq: Caller, store_id: str, role: str, name: str) -> str:
    response = await hq.post("/v1/people", json=f.person_body([(store_id, role)], name=name))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def even_months(**per_month: int) -> dict:
    return {"months": [{"month": m, **per_month} for m in range(1, 13)]}


def delivered(store_id: str, advisor_id: str, day: date, *, labour_fen: int = 0, parts_fen: int = 0,
              zone: str = SHANGHAI):
    """A repair order settled and delivered on `day` (store time) by `advisor_id`, with a
    customer-pay labour line and a warranty part line of the amounts given."""
    lines = []
    if labour_fen:
        lines.append(f.labour("MNT-0100", "1", unit_price_fen=labour_fen, pay_type="customer"))
    if parts_fen:
        lines.append(f.part("XB-57450-S01", 1, parts_fen, pay_type="warranty"))
    rid = new_id()
    at = local(day, 16, zone)
    event = reception.RepairOrderDelivered(
        repair_order_id=rid, number=f"RO-{rid[-6:]}", store_id=store_id,
        customer={"name": "Li Na", "phone": "13900001111"}, vehicle={"vin": "LSVAB4180E2100001"}, mileage_km=20000,
        advisor={"id": advisor_id, "name": "advisor", "role": "service_advisor"}, delivered_by=advisor_id,
        opened_at=local(day, 9, zone), settled_at=at, delivered_at=at, lines=lines,
        totals={"customer_fen": labour_fen, "warranty_fen": parts_fen})
    return envelope_for(event, subject=rid, store_id=store_id, time=at)


def by_measure(rows: list[dict]) -> dict[str, dict]:
    return {row["measure"]: row for row in rows}


async def test_people_shares_add_up_to_the_store_month_and_refusals_name_the_field(client, hq):
    store, other = await create_store(hq), await create_store(hq)
    s = store["id"]
    li, wang = await register(hq, s, "service_advisor", "李娜"), await register(hq, s, "service_advisor", "王强")
    cashier = await register(hq, s, "cashier", "赵敏")
    elsewhere = await register(hq, other["id"], "service_advisor", "周杰")
    manager = Caller(client, "store_manager", store_id=s)
    base = f"/v1/stores/{s}/targets/{YEAR}"

    set_year = await put(hq, base, {"repair_orders": 1200, "labour_revenue_fen": 12_000_000, "csi": 4600,
                                    "callback_sla": 950})
    assert set_year.status_code == 200, set_year.text
    uneven = even_months(repair_orders=100, labour_revenue_fen=1_000_000)
    uneven["months"][11]["repair_orders"] = 99
    refused = await put(manager, base + "/months", uneven)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "months.repair_orders"
    no_year = await put(manager, base + "/months", even_months(repair_orders=100, labour_revenue_fen=1_000_000,
                                                               parts_revenue_fen=5))
    assert (no_year.status_code, no_year.json()["errors"][0]["field"]) == (422, "months.parts_revenue_fen")
    split = await put(manager, base + "/months", even_months(repair_orders=100, labour_revenue_fen=1_000_000))
    assert split.status_code == 200, split.text
    assert sum(m["repair_orders"] for m in split.json()["months"]) == 1200

    shares = {"people": [
        {"person_id": li, "month": 12, "repair_orders": 60, "labour_revenue_fen": 650_000, "csi": 4700},
        {"person_id": wang, "month": 12, "repair_orders": 40, "labour_revenue_fen": 350_000, "csi": 4500},
    ]}
    accepted = await put(manager, base + "/people", shares)
    assert accepted.status_code == 200, accepted.text
    people = (await manager.get(base + "/people")).json()["people"]
    assert sum(p["repair_orders"] for p in people if p["month"] == 12) == 100
    assert sum(p["labour_revenue_fen"] for p in people if p["month"] == 12) == 1_000_000
    assert {(p["name"], p["csi"]) for p in people} == {("李娜", 4700), ("王强", 4500)}  # rates as they are

    short = {"people": [dict(shares["people"][0]), dict(shares["people"][1], repair_orders=39)]}
    answer = await put(manager, base + "/people", short)
    assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, "people.repair_orders")
    for who in (cashier, elsewhere, "no-such-person"):
        answer = await put(manager, base + "/people", {"people": [
            dict(shares["people"][0]), dict(shares["people"][1], person_id=who)]})
        assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, "people[1].person_id"), who
    unsplit_month = await put(manager, base + "/people", {"people": [
        {"person_id": li, "month": 12, "parts_revenue_fen": 10}]})
    assert (unsplit_month.status_code, unsplit_month.json()["errors"][0]["field"]) == (422, "people.parts_revenue_fen")
    assert (await manager.get(base + "/people")).json()["people"] == people  # refusals changed nothing

    # One month through API.md's path: November's shares set, December's kept.
    november = await put(manager, base + "/11/people", {"people": [
        {"person_id": li, "repair_orders": 55, "labour_revenue_fen": 500_000},
        {"person_id": wang, "repair_orders": 45, "labour_revenue_fen": 500_000}]})
    assert november.status_code == 200, november.text
    both = {(p["month"], p["name"]): p["repair_orders"] for p in november.json()["people"]}
    assert both == {(11, "李娜"): 55, (11, "王强"): 45, (12, "李娜"): 60, (12, "王强"): 40}
    short_month = await put(manager, base + "/11/people", {"people": [
        {"person_id": li, "repair_orders": 55}, {"person_id": cashier, "repair_orders": 45}]})
    assert (short_month.status_code, short_month.json()["errors"][0]["field"]) == (422, "people[1].person_id")
    assert (await put(manager, base + "/13/people", {"people": []})).status_code == 422
    assert (await put(manager, base + "/11/people", {"people": []})).json()["people"] == people  # emptied

    # HQ moves the year: the split of what moved is dropped, the store splits it again.
    moved = await put(hq, base, {"repair_orders": 1300, "labour_revenue_fen": 12_000_000, "csi": 4600,
                                 "callback_sla": 950})
    assert moved.json()["splits_dropped"] == ["repair_orders"]
    months = (await manager.get(base + "/months")).json()["months"]
    assert all("repair_orders" not in {k for k, v in m.items() if v is not None} for m in months)
    left = (await manager.get(base + "/people")).json()["people"]
    assert [p["repair_orders"] for p in left] == [None, None]
    assert sorted(p["labour_revenue_fen"] for p in left) == [350_000, 650_000]


async def test_a_store_manager_sets_neither_another_stores_split_nor_the_annual_target(client, hq):
    mine, theirs = await create_store(hq), await create_store(hq)
    for store in (mine, theirs):
        assert (await put(hq, f"/v1/stores/{store['id']}/targets/{YEAR}", {"repair_orders": 1200})).status_code == 200
    manager = Caller(client, "store_manager", store_id=mine["id"])
    months = even_months(repair_orders=100)

    own_year = await put(manager, f"/v1/stores/{mine['id']}/targets/{YEAR}", {"repair_orders": 9999})
    assert own_year.status_code == 403
    other = f"/v1/stores/{theirs['id']}/targets/{YEAR}"
    assert (await put(manager, other, {"repair_orders": 9999})).status_code == 403  # the year is HQ's, any store's
    assert (await put(manager, other + "/months", months)).status_code == 404
    assert (await put(manager, other + "/people", {"people": []})).status_code == 404
    assert (await manager.get(other + "/months")).status_code == 404
    assert (await manager.get(f"/v1/targets/attainment?store_id={theirs['id']}")).status_code == 404
    assert (await hq.get(other)).json()["targets"]["repair_orders"] == 1200
    assert (await hq.get(other + "/months")).json()["months"] == []

    service_manager = Caller(client, "service_manager", store_id=mine["id"])
    assert (await put(service_manager, f"/v1/stores/{mine['id']}/targets/{YEAR}/months", months)).status_code == 200
    advisor = Caller(client, "service_advisor", store_id=mine["id"])
    assert (await put(advisor, f"/v1/stores/{mine['id']}/targets/{YEAR}/months", months)).status_code == 403


async def test_attainment_equals_a_hand_computation_over_a_seeded_month(client, hq):
    """November 2026, over by the clock's 10 December: the projection is the actual."""
    store, neighbour = await create_store(hq), await create_store(hq)
    s, n = store["id"], neighbour["id"]
    li, wang = await register(hq, s, "service_advisor", "李娜"), await register(hq, s, "service_advisor", "王强")
    manager = Caller(client, "store_manager", store_id=s)
    year = {"repair_orders": 1200, "labour_revenue_fen": 12_000_000, "parts_revenue_fen": 24_000_000, "csi": 4600,
            "callback_sla": 900, "first_time_fix": 950, "gross_margin_fen": 5_000_000}
    assert (await put(hq, f"/v1/stores/{s}/targets/{YEAR}", year)).status_code == 200
    months = even_months(repair_orders=100, labour_revenue_fen=1_000_000, parts_revenue_fen=2_000_000,
                         gross_margin_fen=5_000_000 // 12)
    months["months"][0]["gross_margin_fen"] += 5_000_000 - 5_000_000 // 12 * 12
    months["months"][10]["csi"] = 4800  # November's CSI target, set apart from the year's
    assert (await put(manager, f"/v1/stores/{s}/targets/{YEAR}/months", months)).status_code == 200
    shares = {"people": [{"person_id": li, "month": 11, "repair_orders": 70, "labour_revenue_fen": 600_000},
                         {"person_id": wang, "month": 11, "repair_orders": 30, "labour_revenue_fen": 400_000}]}
    assert (await put(manager, f"/v1/stores/{s}/targets/{YEAR}/people", shares)).status_code == 200
    assert (await put(hq, f"/v1/stores/{n}/targets/{YEAR}", {"repair_orders": 600})).status_code == 200

    nov = [date(2026, 11, d) for d in (3, 9, 15, 22, 30)]
    orders = [(li, nov[0], 30_000, 50_000), (li, nov[1], 45_000, 0), (li, nov[2], 25_000, 120_000),
              (wang, nov[3], 60_000, 80_000), (wang, nov[4], 0, 40_000)]
    for advisor, day, labour_fen, parts_fen in orders:
        await deliver(client.app, delivered(s, advisor, day, labour_fen=labour_fen, parts_fen=parts_fen))
    await deliver(client.app, delivered(s, li, date(2026, 10, 31), labour_fen=99_000))  # October: not counted
    await deliver(client.app, delivered(n, "someone", nov[1], labour_fen=10_000))
    await deliver(client.app, f.comeback_detected(s, "cmb-1", local(nov[3], 11)))
    for i, (due_day, done_day, overall) in enumerate([(nov[0], nov[0], 5), (nov[1], nov[2], 3), (nov[2], nov[2], 4),
                                                      (nov[3], nov[3], None)]):
        await deliver(client.app, f.callback_created(s, f"cb-{i}", local(due_day, 18), local(due_day, 8)))
        await deliver(client.app, f.callback_completed(s, f"cb-{i}", local(due_day, 18), local(done_day, 12),
                                                       overall=overall))

    body = (await hq.get(f"/v1/targets/attainment?period=2026-11&store_id={s}")).json()
    assert body["period"] == "2026-11"
    (figures,) = body["stores"]
    assert (figures["days_in_month"], figures["days_elapsed"]) == (30, 30)
    got = by_measure(figures["measures"])
    labour = 30_000 + 45_000 + 25_000 + 60_000
    parts = 50_000 + 120_000 + 80_000 + 40_000
    expected = {  # measure: (target, source, actual, attained)
        "repair_orders": (100, "month", 5, "0.0500"),
        "labour_revenue_fen": (1_000_000, "month", labour, "0.1600"),
        "parts_revenue_fen": (2_000_000, "month", parts, "0.1450"),
        "csi": (4800, "month", 4000, "0.8333"),  # (5 + 3 + 4) / 3 surveys
        "callback_sla": (900, "annual_rate", 750, "0.8333"),  # 3 of 4 due completed on time
        "first_time_fix": (950, "annual_rate", 800, "0.8421"),  # 1 - 1 comeback / 5 delivered
        "gross_margin_fen": (5_000_000 // 12, "month", None, None),
        "accessories_revenue_fen": (None, None, 0, None),  # measured (no accessory lines sold), no target
    }
    for measure, (target, source, actual, attained) in expected.items():
        row = got[measure]
        assert (row["target"], row["target_source"], row["actual"], row["attained"]) == (target, source, actual,
                                                                                         attained), measure
        assert row["projected"] == actual, measure  # the month is over
    assert got["gross_margin_fen"]["not_measured"] and not got["accessories_revenue_fen"]["not_measured"]

    people = {p["name"]: by_measure(p["measures"]) for p in figures["people"]}
    assert (people["李娜"]["repair_orders"]["actual"], people["李娜"]["repair_orders"]["attained"]) == (3, "0.0429")
    assert people["李娜"]["labour_revenue_fen"]["actual"] == 100_000
    assert (people["王强"]["repair_orders"]["actual"], people["王强"]["parts_revenue_fen"]["actual"]) == (2, 120_000)
    assert people["王强"]["labour_revenue_fen"]["attained"] == "0.1500"
    assert people["王强"]["csi"]["not_measured"]
    mine = (await Caller(client, "service_advisor", store_id=s, principal_id=wang).get(
        f"/v1/people/{wang}/attainment?period=2026-11")).json()
    assert by_measure(mine["stores"][0]["measures"])["repair_orders"]["target"] == 30
    assert (await Caller(client, "service_advisor", store_id=s, principal_id=wang).get(
        f"/v1/people/{li}/attainment?period=2026-11")).status_code == 403

    network = (await hq.get("/v1/targets/attainment?period=2026-11")).json()
    (east,) = [r for r in network["regions"] if set(r["store_ids"]) >= {s, n}]
    whole = by_measure(network["network"]["measures"])
    # November of the neighbour's year, not split: 600 × 30 / 365 = 49.3 → 49.
    assert (whole["repair_orders"]["target"], whole["repair_orders"]["actual"]) == (100 + 49, 5 + 1)
    assert by_measure(east["measures"])["repair_orders"]["target"] == 149
    assert whole["csi"]["target"] == 4800  # only the one store has a CSI target

    # GET /v1/kpis carries the same targets and attainment for the month of `to`, beside its figures.
    kpis = (await hq.get("/v1/kpis", params={"from": "2026-11-01", "to": "2026-11-30", "store_id": s})).json()
    (in_kpis,) = kpis["stores"]
    assert in_kpis["repair_orders_delivered"] == 5
    assert in_kpis["targets"]["repair_orders"] == 100 and in_kpis["targets"]["accessories_revenue_fen"] is None
    assert by_measure(in_kpis["attainment"]) == got
    assert by_measure(kpis["network"]["attainment"])["repair_orders"]["target"] == 100


async def test_the_projection_runs_at_the_current_pace_in_the_stores_time_zone(client, hq, clock):
    """The clock says 10 December 2026, 02:00 UTC: the 10th in Shanghai (10 of 31 days
    elapsed), still the 9th in Los Angeles (9 days)."""
    shanghai, la = await create_store(hq), await create_store(hq, timezone_name="America/Los_Angeles")
    for store in (shanghai, la):
        assert (await put(hq, f"/v1/stores/{store['id']}/targets/{YEAR}",
                          {"repair_orders": 1200, "labour_revenue_fen": 36_500_000, "csi": 4500})).status_code == 200
    for day in (1, 2, 4, 5, 7, 8, 9):
        await deliver(client.app, delivered(shanghai["id"], "advisor-1", date(2026, 12, day), labour_fen=176_350))
        await deliver(client.app, delivered(la["id"], "advisor-2", date(2026, 12, day), labour_fen=100_000,
                                            zone="America/Los_Angeles"))
    await deliver(client.app, f.callback_created(shanghai["id"], "cb-p", local(date(2026, 12, 3), 18),
                                                 local(date(2026, 12, 3), 8)))
    await deliver(client.app, f.callback_completed(shanghai["id"], "cb-p", local(date(2026, 12, 3), 18),
                                                   local(date(2026, 12, 3), 12), overall=4))

    body = (await hq.get("/v1/targets/attainment?period=2026-12")).json()
    stores = {s["store_id"]: s for s in body["stores"]}
    sh, los = stores[shanghai["id"]], stores[la["id"]]
    assert (sh["days_elapsed"], los["days_elapsed"], sh["days_in_month"]) == (10, 9, 31)
    sh_rows, la_rows = by_measure(sh["measures"]), by_measure(los["measures"])
    # 7 orders in 10 days of 31: 21.7 → 22; in 9 days: 24.1 → 24.
    assert (sh_rows["repair_orders"]["actual"], sh_rows["repair_orders"]["projected"]) == (7, 22)
    assert (la_rows["repair_orders"]["actual"], la_rows["repair_orders"]["projected"]) == (7, 24)
    # December's target, not split: 1200 × 31 / 365 = 101.9 → 102; 22 / 102.
    assert (sh_rows["repair_orders"]["target"], sh_rows["repair_orders"]["target_source"]) == (102, "annual_pro_rata")
    assert sh_rows["repair_orders"]["projected_attained"] == "0.2157"
    # 7 × 176 350 = 1 234 450 fen in 10 days: × 31 / 10 = 3 826 795; the target 36 500 000 × 31 / 365 = 3 100 000.
    assert sh_rows["labour_revenue_fen"]["projected"] == 3_826_795
    assert sh_rows["labour_revenue_fen"]["projected_attained"] == "1.2345"  # 1.23445, half up
    assert (sh_rows["csi"]["actual"], sh_rows["csi"]["projected"]) == (4000, 4000)  # a rate as it stands
    assert by_measure(body["network"]["measures"])["repair_orders"]["projected"] == 22 + 24

    clock.set(datetime(2026, 12, 20, 2, 0, tzinfo=UTC))  # ten days on, nothing more delivered: the pace halves
    later = by_measure((await hq.get(f"/v1/targets/attainment?period=2026-12&store_id={shanghai['id']}")
                        ).json()["stores"][0]["measures"])
    assert (later["repair_orders"]["actual"], later["repair_orders"]["projected"]) == (7, 11)  # 7 × 31 / 20 = 10.85
    assert (await hq.get("/v1/targets/attainment?period=2027-01")).json()["stores"][0]["days_elapsed"] == 0
    assert (await hq.get("/v1/targets/attainment?period=2026-13")).status_code == 422
