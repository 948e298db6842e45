"""A fleet's uptime (issue 19): each car's days off the road, from its check-in day to its
handover day in the store's calendar, overlapping orders counted once, and the fleet's
availability over a bounded range of days, against a hand computation."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.reception import factories
from tests.reception.test_fleets import approve, fleet_order, open_fleet, settle_on_account, to_ready


def shanghai(day: int, hour: int = 9, month: int = 12) -> datetime:
    """A Shanghai wall-clock hour in 2026, as UTC."""
    return datetime(2026, month, day, hour, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


async def cancel(reception, order: dict) -> None:
    await reception.act(order, "cancel", {"reason": "车主取回 owner took the car"})


async def test_days_off_the_road_per_car_and_the_fleets_availability_against_a_hand_computation(reception):
    first, second, idle = factories.vin(), factories.vin(), factories.vin()
    fleet = await open_fleet(reception, [first, second, idle], approval_limit_fen=1_000_000)
    # The first car: in on 1 December, handed over on the 3rd; in again on the 2nd (a second
    # order while the first is open) and taken away on the 4th: days 1-4, the 2nd and 3rd once.
    reception.clock.set(shanghai(1))
    kept = await fleet_order(reception, first)
    assert (await approve(reception, kept)).status_code == 200
    assert (await settle_on_account(reception, await to_ready(reception, kept))).status_code == 200
    reception.clock.set(shanghai(2))
    again = await reception.open_order(vehicle=factories.vehicle(vin=first))
    reception.clock.set(shanghai(3, 17))
    await reception.act(kept, "deliver", {"explained": True})
    reception.clock.set(shanghai(4, 10))
    await cancel(reception, again)
    # The second car: in since 28 November, out on 2 December (days 1-2 of the range); in again
    # at 23:30 on 8 December (15:30 UTC) and still in: days 8, 9 and 10.
    reception.clock.set(shanghai(28, month=11))
    before = await reception.open_order(vehicle=factories.vehicle(vin=second))
    reception.clock.set(shanghai(2, 11))
    await cancel(reception, before)
    reception.clock.set(datetime(2026, 12, 8, 15, 30, tzinfo=UTC))
    still_in = await reception.open_order(vehicle=factories.vehicle(vin=second))
    # 16:30 UTC on 10 December is 00:30 on the 11th in Shanghai: the 10th is a whole day behind.
    reception.clock.set(datetime(2026, 12, 10, 16, 30, tzinfo=UTC))

    r = await reception.advisor.get(f"/v1/fleets/{fleet['id']}/uptime", params={"from": "2026-12-01",
                                                                                 "to": "2026-12-10"})

    assert r.status_code == 200, r.text
    uptime = r.json()
    assert (uptime["first_day"], uptime["last_day"], uptime["days"]) == ("2026-12-01", "2026-12-10", 10)
    cars = {v["vin"]: v for v in uptime["vehicles"]}
    # By hand: the first car 4 days of 10 off (60.00 % on the road), the second 2 + 3 = 5 (50.00 %),
    # the idle one none; the fleet 9 of 3 × 10 vehicle-days: 21 / 30 = 70.00 %.
    assert {vin: (v["days_off_road"], v["days_on_road"], v["availability_percent"]) for vin, v in cars.items()} == {
        first: (4, 6, "60.00"), second: (5, 5, "50.00"), idle: (0, 10, "100.00")}
    assert cars[first]["orders"] == [kept["number"], again["number"]]
    assert cars[second]["orders"] == [before["number"], still_in["number"]]
    assert [v["vin"] for v in uptime["vehicles"]] == [second, first, idle]
    assert uptime["totals"] == {"vehicles": 3, "vehicle_days": 30, "days_off_road": 9, "availability_percent": "70.00"}

    # One day: the 2nd, when both cars were in.
    day = (await reception.advisor.get(f"/v1/fleets/{fleet['id']}/uptime",
                                       params={"from": "2026-12-02", "to": "2026-12-02"})).json()
    assert day["totals"]["days_off_road"] == 2 and day["totals"]["availability_percent"] == "33.33"


async def test_the_uptime_range_is_bounded_ends_today_and_is_the_fleets_stores_own(reception):
    fleet = await open_fleet(reception, [factories.vin()])
    url = f"/v1/fleets/{fleet['id']}/uptime"
    # Today is 1 December 2026 in Shanghai.
    for params in ({"from": "2026-12-02", "to": "2026-12-01"}, {"from": "2025-11-30", "to": "2026-12-01"},
                   {"from": "2026-11-01", "to": "2026-12-02"}):
        r = await reception.advisor.get(url, params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["errors"][0]["field"] == "to"
    missing = await reception.advisor.get(url, params={"to": "2026-12-01"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "from"
    year = await reception.advisor.get(url, params={"from": "2025-12-01", "to": "2026-12-01"})
    assert year.status_code == 200 and year.json()["days"] == 366
    elsewhere = await reception.other_advisor.get(url, params={"from": "2026-12-01", "to": "2026-12-01"})
    assert elsewhere.status_code == 404
