"""The Three Guarantees (三包) watch: a car's counts after several repairs and the alert one
step before a threshold, against a hand computation; an alert raised once however often the
events come; the loaner flag for a repair over 5 days. Reception's closed-order events go
through network's own handlers and inbox (tests.support.events.deliver)."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import sqlalchemy as sa

from services.common.events.catalogue import reception
from services.common.ids import new_id
from services.common.tables import OutboxMessage
from services.network.three_guarantees import policy
from services.network.three_guarantees.policy import Repair
from tests.network import factories as f
from tests.network.conftest import create_store
from tests.support.events import deliver, envelope_for
from tests.support.platform import Caller

SOLD = date(2025, 6, 1)  # after 2022-01-01: the 2021 revision (over 30 days, over 4 repairs, 2 safety repairs)
ALERT = "network.three_guarantees.alert"


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    """China time on a day of 2026, as UTC."""
    y, m, d = (int(x) for x in day.split("-"))
    return datetime(y, m, d, hour, minute, tzinfo=timezone(timedelta(hours=8))).astimezone(UTC)


def _common(store_id: str, rid: str, vin: str, sold_at: date | None, lines: list[dict]) -> dict:
    return dict(repair_order_id=rid, number=f"RO-{rid[-6:]}", store_id=store_id,
                customer={"name": "Li Na", "phone": "13900001111"},
                vehicle={"vin": vin, "plate": "沪A12345", "model": "Sedan X", "sold_at": sold_at},
                mileage_km=20000, advisor={"id": "advisor-1", "name": "Zhang", "role": "service_advisor"},
                lines=lines, totals=f._totals(lines))


def settled(store_id, vin, opened_at, settled_at, lines, rid=None, sold_at=SOLD):
    rid = rid or new_id()
    event = reception.RepairOrderSettled(**_common(store_id, rid, vin, sold_at, lines), opened_at=opened_at,
                                         settled_at=settled_at, invoice_no="INV-1", payments=[])
    return envelope_for(event, subject=rid, store_id=store_id, time=settled_at)


def delivered(store_id, vin, opened_at, ready_at, lines, rid=None, sold_at=SOLD):
    """Delivered two hours after the workshop's ready time, settled an hour before delivery."""
    rid = rid or new_id()
    event = reception.RepairOrderDelivered(
        **_common(store_id, rid, vin, sold_at, lines), delivered_by="advisor-1", opened_at=opened_at,
        settled_at=ready_at + timedelta(hours=1), delivered_at=ready_at + timedelta(hours=2), ready_at=ready_at)
    return envelope_for(event, subject=rid, store_id=store_id, time=ready_at + timedelta(hours=2))


def vin() -> str:
    return "LSVTG" + new_id()[-12:].upper()


async def alerts(client, vin_: str) -> list[dict]:
    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(sa.select(OutboxMessage.payload).where(OutboxMessage.event_type == ALERT)
                                   .order_by(OutboxMessage.id))).all()
    found = [json.loads(p)["data"] for (p,) in rows]
    return [a for a in found if a["vin"] == vin_]


async def test_counts_after_several_repairs_and_the_alert_one_step_before_a_threshold(client, hq):
    store, neighbour = (await create_store(hq))["id"], (await create_store(hq))["id"]
    car = vin()
    w = f.labour  # warranty-paid by default
    # 1: ABS sensor (brakes, a serious safety fault) with diagnosis, 30 h: 2 days.
    await deliver(client.app, delivered(store, car, at("2026-01-05", 9), at("2026-01-06", 15),
                                        [w("DIAG-0100", "0.5"), w("BRK-0500", "0.7")]))
    assert [(a["threshold"], a["status"], a["value"], a["limit"]) for a in await alerts(client, car)] == [
        ("serious_safety_fault_repairs", "one_step", 1, 2)]
    # 2: alternator at the neighbouring store, 74 h: 4 days.
    await deliver(client.app, delivered(neighbour, car, at("2026-03-02", 8), at("2026-03-05", 10),
                                        [w("ELE-0320", "1.8")]))
    # 3: water pump, 6 days 2 h: 7 days, past the loaner threshold of 5.
    await deliver(client.app, delivered(store, car, at("2026-05-10", 8), at("2026-05-16", 10),
                                        [w("ENG-0620", "2.5")]))
    # 4: customer-paid maintenance: not a quality repair.
    await deliver(client.app, delivered(store, car, at("2026-06-01", 9), at("2026-06-01", 12),
                                        [w("MNT-0100", "0.5", pay_type="customer")]))
    # 5: headlamp, 10 h: 1 day.  6: battery, settled (no ready time yet) 52 h after opening: 3 days.
    await deliver(client.app, delivered(store, car, at("2026-07-01", 8), at("2026-07-01", 18),
                                        [w("ELE-0600", "1.2")]))
    await deliver(client.app, settled(store, car, at("2026-08-01", 8), at("2026-08-03", 12), [w("ELE-0110", "0.4")]))
    electrical = [a for a in await alerts(client, car) if a["threshold"] == "same_problem_repairs:electrical"]
    assert electrical == []  # three electrical repairs: two from the threshold (over 4)

    # 7: ECU update, exactly 120 h: 5 days (not past 5). The fourth electrical repair: one step.
    await deliver(client.app, delivered(store, car, at("2026-09-01", 9), at("2026-09-06", 9),
                                        [w("ELE-0900", "0.6")]))

    # By hand: days 2 + 4 + 7 + 1 + 3 + 5 = 22 (limit over 30: 22 + 5 = 27, clear);
    # electrical 4 (over 4 is reached at 5: one step); brakes 1, engine 1; safety 1 of 2 (one step).
    advisor = Caller(client, "service_advisor", store_id=store)
    body = (await advisor.get(f"/v1/vehicles/{car}/three-guarantees")).json()
    assert (body["validity"], body["sale_date"], body["policy"]["effective_from"]) == (
        "in_validity", "2025-06-01", "2022-01-01")
    assert body["cumulative_repair_days"] == 22
    assert body["same_problem_repairs"] == {"brakes": 1, "electrical": 4, "engine": 1}
    assert (body["serious_safety_fault_repairs"], body["engine_or_transmission_replacements"]) == (1, 0)
    assert [r["days"] for r in body["repairs"]] == [2, 4, 7, 1, 3, 5]
    assert sorted(body["one_step_away"]) == ["same_problem_repairs:electrical", "serious_safety_fault_repairs"]
    assert body["reached"] == []
    limits = {t["key"]: (t["value"], t["limit"], t["status"]) for t in body["thresholds"]}
    assert limits["cumulative_repair_days"] == (22, 30, "clear")
    assert limits["engine_or_transmission_replacements"] == (0, 2, "clear")
    # The neighbour's repair counts, but its order is not shown to this store.
    other = [r for r in body["repairs"] if r["store_id"] == neighbour]
    assert [(r["repair_order_id"], r["number"], r["days"]) for r in other] == [(None, None, 4)]

    raised = {a["threshold"]: a for a in await alerts(client, car)}
    assert set(raised) == {"serious_safety_fault_repairs", "same_problem_repairs:electrical",
                           f"loaner:{body['repairs'][2]['repair_order_id']}"}
    one_step = raised["same_problem_repairs:electrical"]
    assert (one_step["status"], one_step["value"], one_step["limit"], one_step["remedy"], one_step["store_id"]) == (
        "one_step", 4, 4, "replacement", store)
    assert one_step["loaner_owed"] is True and one_step["validity"] == "in_validity"

    # HQ's list of cars at risk has it; a store that never repaired it neither reads nor lists it.
    risk = (await Caller(client, "hq_analyst").get("/v1/three-guarantees/at-risk")).json()["items"]
    mine = next(c for c in risk if c["vin"] == car)
    assert (mine["store_ids"], mine["loaner_owed"]) == (sorted([store, neighbour]), True)
    stranger = (await create_store(hq))["id"]
    assert (await Caller(client, "service_advisor", store_id=stranger).get(
        f"/v1/vehicles/{car}/three-guarantees")).status_code == 404
    theirs = (await Caller(client, "store_manager", store_id=stranger).get("/v1/three-guarantees/at-risk")).json()
    assert car not in [c["vin"] for c in theirs["items"]]


async def test_an_alert_is_raised_once_however_often_its_events_come(client, hq):
    store = (await create_store(hq))["id"]
    car = vin()
    rid = new_id()
    await deliver(client.app, delivered(store, car, at("2026-02-01"), at("2026-02-02"), [f.labour("BRK-0500", "0.7")]))
    closing = [settled(store, car, at("2026-04-01"), at("2026-04-01", 17), [f.labour("BRK-0500", "0.7")], rid=rid),
               delivered(store, car, at("2026-04-01"), at("2026-04-01", 16), [f.labour("BRK-0500", "0.7")], rid=rid)]
    for envelope in closing + closing:  # settled, delivered, then both again (redelivery)
        await deliver(client.app, envelope)
    # A later repair of another problem re-reads the car: the threshold reached stays alerted once.
    await deliver(client.app, delivered(store, car, at("2026-06-01"), at("2026-06-01", 15), [f.labour("AC-0230", "3")]))

    by_threshold = [(a["threshold"], a["status"]) for a in await alerts(client, car)]
    assert by_threshold == [("serious_safety_fault_repairs", "one_step")]
    body = (await hq.get(f"/v1/vehicles/{car}/three-guarantees")).json()
    assert body["serious_safety_fault_repairs"] == 2 and body["reached"] == ["serious_safety_fault_repairs"]


async def test_a_repair_over_five_days_flags_the_loaner_on_the_counts_and_in_the_alert(client, hq):
    store = (await create_store(hq))["id"]
    short, long = vin(), vin()
    # Exactly 5 days (120 h) owes nothing; 5 days and 1 hour is 6 days and owes a loaner.
    await deliver(client.app, delivered(store, short, at("2026-03-01"), at("2026-03-06"), [f.labour("SUS-0110", "2")]))
    rid = new_id()
    await deliver(client.app, delivered(store, long, at("2026-03-01"), at("2026-03-06", 10),
                                        [f.labour("SUS-0110", "2")], rid=rid))

    manager = Caller(client, "service_manager", store_id=store)
    calm = (await manager.get(f"/v1/vehicles/{short}/three-guarantees")).json()
    assert (calm["loaner_owed"], calm["repairs"][0]["days"], calm["repairs"][0]["loaner_owed"]) == (False, 5, False)
    assert await alerts(client, short) == []
    owed = (await manager.get(f"/v1/vehicles/{long}/three-guarantees")).json()
    assert (owed["loaner_owed"], owed["repairs"][0]["days"], owed["repairs"][0]["loaner_owed"]) == (True, 6, True)
    (alert,) = await alerts(client, long)
    assert (alert["threshold"], alert["kind"], alert["remedy"], alert["status"], alert["value"], alert["limit"]) == (
        f"loaner:{rid}", "loaner", "loaner_or_transport_allowance", "owed", 6, 5)
    assert alert["loaner_owed"] is True and "备用车" in alert["message_zh"]
    risk = (await manager.get("/v1/three-guarantees/at-risk")).json()["items"]
    assert [c["vin"] for c in risk if c["vin"] in (short, long)] == [long]


async def test_with_no_sale_date_the_counts_show_and_the_validity_is_unknown(client, hq):
    store = (await create_store(hq))["id"]
    car = vin()
    await deliver(client.app, delivered(store, car, at("2026-03-01"), at("2026-03-02", 12),
                                        [f.labour("ENG-0700", "0.4")], sold_at=None))
    body = (await Caller(client, "service_advisor", store_id=store).get(f"/v1/vehicles/{car}/three-guarantees")).json()
    assert (body["validity"], body["sale_date"], body["sale_date_source"], body["valid_until"]) == (
        "unknown", None, None, None)
    assert (body["cumulative_repair_days"], body["same_problem_repairs"]) == (2, {"engine": 1})
    assert body["policy"]["effective_from"] == "2022-01-01"  # the revision in force today


def repair(days: int, problems: tuple[str, ...] = (), major: bool = False) -> Repair:
    opened = at("2026-01-05")
    return Repair(new_id(), "s", "RO-1", opened, opened + timedelta(days=days), 20000, days, frozenset(problems),
                  "brakes" in problems, major, counted=True)


def statuses(repairs: list[Repair], sale_date: date) -> dict[str, tuple[int, int, str]]:
    found = policy.thresholds(repairs, policy.policy_for(sale_date, date(2026, 12, 10)))
    return {t.key: (t.value, t.limit, t.status.value) for t in found}


def test_a_car_follows_the_revision_in_force_on_its_sale_date():
    today = date(2026, 12, 10)
    assert policy.policy_for(date(2021, 12, 31), today)["replacement_if"] == {
        "cumulative_repair_days_over": 35, "same_problem_repairs_over": 5}  # 2013, data/sanbao_policy.json
    assert policy.policy_for(date(2022, 1, 1), today)["replacement_if"] == {
        "cumulative_repair_days_over": 30, "same_problem_repairs_over": 4}  # the 2021 revision
    assert policy.policy_for(None, today)["effective_from"] == "2022-01-01"


def test_each_threshold_is_one_step_away_one_repair_before_it_is_reached():
    sold_2021 = date(2021, 6, 1)  # the 2013 figures: over 35 days, over 5 repairs
    # 30 days: another 5-day repair makes 35, not over 35; 31 days: one step; 36: reached.
    assert statuses([repair(30)], sold_2021)["cumulative_repair_days"] == (30, 35, "clear")
    assert statuses([repair(31)], sold_2021)["cumulative_repair_days"] == (31, 35, "one_step")
    assert statuses([repair(36)], sold_2021)["cumulative_repair_days"] == (36, 35, "reached")
    engine = [repair(1, ("engine",)) for _ in range(6)]
    assert statuses(engine[:4], sold_2021)["same_problem_repairs:engine"] == (4, 5, "clear")
    assert statuses(engine[:5], sold_2021)["same_problem_repairs:engine"] == (5, 5, "one_step")
    assert statuses(engine, sold_2021)["same_problem_repairs:engine"] == (6, 5, "reached")
    # At least 2 engine or transmission replacements (refund): one step at 1.
    assert statuses([repair(1, major=True)], sold_2021)["engine_or_transmission_replacements"] == (1, 2, "one_step")
    assert statuses([repair(1, major=True)] * 2, sold_2021)["engine_or_transmission_replacements"] == (2, 2, "reached")
    assert statuses([repair(1, ("brakes",))] * 2, date(2025, 6, 1))["serious_safety_fault_repairs"] == (2, 2, "reached")
