"""Booking and check-in show the car's open campaigns and Three Guarantees (三包) figures,
kept by reception from network's events; every such event given twice has one effect."""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from services.common.consumer import Outcome, apply_events
from tests.reception import factories
from tests.reception import network_events as nw

# The conftest clock starts on Tuesday 1 December 2026, 09:00 in Shanghai.
STARTS, ENDS = date(2026, 11, 1), date(2027, 6, 30)


async def _publish(reception, vins: list[str], campaign_id: str = "cmp-rc-2026-014", **over) -> float:
    """Deliver the campaign and its VIN chunks; answers the seconds the chunks took."""
    at = reception.clock.now()
    dates = dict(starts_on=over.pop("starts_on", STARTS), ends_on=over.pop("ends_on", ENDS))
    assert await reception.deliver(nw.published(campaign_id, vin_count=len(vins), at=at, **dates, **over)) == \
        Outcome.APPLIED
    began = time.perf_counter()
    for chunk in nw.chunks(campaign_id, vins, at=at, **dates, **over):
        assert await reception.deliver(chunk) == Outcome.APPLIED
    return time.perf_counter() - began


async def _count(reception, sql: str, **params) -> int:
    async with reception.app.state.db.transaction() as session:
        return (await session.exec(sa.text(sql), params=params)).scalar_one()


def _codes(body: dict) -> list[str]:
    return [c["code"] for c in body["vehicle_notices"]["campaigns"]]


async def test_a_car_in_a_100000_vin_campaign_booked_in_shows_it(reception):
    vins = nw.affected_vins(100_000)
    seconds = await _publish(reception, vins)
    print(f"\n100,000 VINs in 100 chunks applied in {seconds:.2f} s")
    assert await _count(reception, "SELECT count(*) FROM campaign_vehicles WHERE campaign_id = :c",
                        c="cmp-rc-2026-014") == 100_000
    car = vins[73_456]
    when = reception.clock.now() + timedelta(days=1)
    booked = await reception.advisor.post("/v1/appointments", json=factories.appointment(
        when, vehicle=factories.vehicle(vin=car), service_type="recall"))
    assert booked.status_code == 201, booked.text
    shown = booked.json()["vehicle_notices"]
    assert shown["vin"] == car and shown["on"] == "2026-12-01"
    assert shown["campaigns"] == [{
        "campaign_id": "cmp-rc-2026-014", "code": "RC-2026-014", "kind": "recall", "title_zh": "燃油泵继电器更换",
        "title_en": "Fuel pump relay replacement", "op_code": "RCL-2026-01", "flat_hours": "0.5",
        "parts": [{"part_no": "XB-39794-FPR", "quantity": "1"}], "starts_on": "2026-11-01", "ends_on": "2027-06-30"}]
    read = await reception.advisor.get(f"/v1/appointments/{booked.json()['id']}")
    assert read.json()["vehicle_notices"] == shown
    # Lists stay lean: one car's notices are for the one being booked or read.
    listed = await reception.advisor.get("/v1/appointments", params={"vin": car})
    assert listed.json()["items"][0]["vehicle_notices"] is None
    reception.clock.advance(days=1)
    order = await reception.open_order(appointment_id=booked.json()["id"])
    assert _codes(order) == ["RC-2026-014"]
    began = time.perf_counter()
    assert _codes(await reception.get_order(order)) == ["RC-2026-014"]
    print(f"the order read with its notices at 100,000 affected VINs: {(time.perf_counter() - began) * 1000:.1f} ms")
    # A car the campaign does not list shows none.
    other = await reception.open_order(vehicle=factories.vehicle(vin="LRCAM000000000001"))
    assert other["vehicle_notices"]["campaigns"] == [] and other["vehicle_notices"]["three_guarantees"] is None


async def test_a_campaign_is_open_on_its_days_in_china_time(reception):
    car = "LRCAL000000000007"
    # Opens on 2 December and closes after 3 December, China time.
    await _publish(reception, [car], starts_on=date(2026, 12, 2), ends_on=date(2026, 12, 3))
    order = await reception.open_order(vehicle=factories.vehicle(vin=car))
    seen = {}
    for moment in ("2026-12-01T15:59:59+00:00", "2026-12-01T16:00:00+00:00", "2026-12-03T15:59:59+00:00",
                   "2026-12-03T16:00:00+00:00"):
        reception.clock.set(datetime.fromisoformat(moment))
        seen[moment] = _codes(await reception.get_order(order))
    assert seen == {"2026-12-01T15:59:59+00:00": [], "2026-12-01T16:00:00+00:00": ["RC-2026-014"],
                    "2026-12-03T15:59:59+00:00": ["RC-2026-014"], "2026-12-03T16:00:00+00:00": []}


async def test_a_car_done_for_its_campaign_no_longer_shows_it(reception):
    car, elsewhere = "LRCAL000000000011", "LRCAL000000000012"
    await _publish(reception, [car, elsewhere, "LRCAL000000000013"])
    done = nw.completed("cmp-rc-2026-014", car, store_id=reception.other_store_id, at=reception.clock.now())
    assert await reception.deliver(done) == Outcome.APPLIED
    assert await reception.deliver(done) == Outcome.DUPLICATE
    assert _codes(await reception.open_order(vehicle=factories.vehicle(vin=car))) == []
    assert _codes(await reception.open_order(vehicle=factories.vehicle(vin=elsewhere))) == ["RC-2026-014"]
    # A completion that overtakes its VIN's chunk stays: the chunk read afterwards does not reopen it.
    late = "LRCAL000000000099"
    await reception.deliver(nw.completed("cmp-rc-2026-014", late, store_id=reception.store_id,
                                         at=reception.clock.now()))
    for chunk in nw.chunks("cmp-rc-2026-014", [late], starts_on=STARTS, ends_on=ENDS, at=reception.clock.now()):
        await reception.deliver(chunk)
    assert _codes(await reception.open_order(vehicle=factories.vehicle(vin=late))) == []


async def test_three_guarantees_figures_are_shown_at_check_in_after_the_update_event(reception):
    car = factories.vin()
    before = await reception.open_order(vehicle=factories.vehicle(vin=car))
    assert before["vehicle_notices"]["three_guarantees"] is None
    at = reception.clock.now()
    assert await reception.deliver(nw.three_guarantees(car, at=at)) == Outcome.APPLIED
    assert await reception.deliver(nw.three_guarantees_alert(car, store_id=reception.other_store_id, at=at)) == \
        Outcome.APPLIED
    reception.clock.advance(days=3)
    order = await reception.open_order(vehicle=factories.vehicle(vin=car), mileage_km=13000)
    notices = order["vehicle_notices"]
    assert notices["three_guarantees"] == {
        "validity": "in_validity", "valid_until": "2027-03-15", "cumulative_repair_days": 22,
        "same_problem_repairs": {"brakes": 1, "electrical": 4, "engine": 1}, "serious_safety_fault_repairs": 1,
        "engine_or_transmission_replacements": 0,
        "alerts": ["same_problem_repairs:electrical", "serious_safety_fault_repairs"],
        "updated_at": at.isoformat().replace("+00:00", "Z")}
    (alert,) = notices["three_guarantees_alerts"]
    assert (alert["threshold"], alert["status"], alert["value"], alert["limit"], alert["remedy"]) == (
        "same_problem_repairs:electrical", "one_step", 4, 4, "replacement")
    assert alert["message_zh"].startswith("同一质量问题") and alert["message_en"].startswith("The same quality problem")
    # Booking shows the same.
    booked = await reception.advisor.post("/v1/appointments", json=factories.appointment(
        reception.clock.now() + timedelta(days=1), vehicle=factories.vehicle(vin=car)))
    assert booked.json()["vehicle_notices"]["three_guarantees"] == notices["three_guarantees"]
    # A newer update replaces the figures; an older one arriving late changes nothing.
    newer = reception.clock.now()
    await reception.deliver(nw.three_guarantees(car, at=newer, cumulative_repair_days=27, alerts=[
        "cumulative_repair_days", "same_problem_repairs:electrical", "serious_safety_fault_repairs"]))
    await reception.deliver(nw.three_guarantees(car, at=at + timedelta(hours=1), cumulative_repair_days=23))
    figures = (await reception.get_order(order))["vehicle_notices"]["three_guarantees"]
    assert figures["cumulative_repair_days"] == 27 and "cumulative_repair_days" in figures["alerts"]


async def test_every_network_event_given_twice_has_one_effect(reception):
    car, at = "LRCAL000000000021", reception.clock.now()
    first = nw.published("cmp-twice", vin_count=2, at=at, starts_on=STARTS, ends_on=ENDS, code="SC-2026-003",
                         kind="service")
    (chunk,) = nw.chunks("cmp-twice", [car, "LRCAL000000000022"], starts_on=STARTS, ends_on=ENDS, at=at,
                         code="SC-2026-003", kind="service")
    figures = nw.three_guarantees(car, at=at)
    alert = nw.three_guarantees_alert(car, store_id=reception.store_id, at=at)
    for event in (first, chunk, figures, alert):
        assert await reception.deliver(event) == Outcome.APPLIED
        assert await reception.deliver(event) == Outcome.DUPLICATE
    # The same chunk sent again under a new id (a republished outbox row) lists each car once.
    (again,) = nw.chunks("cmp-twice", [car, "LRCAL000000000022"], starts_on=STARTS, ends_on=ENDS, at=at,
                         code="SC-2026-003", kind="service")
    assert await reception.deliver(again) == Outcome.APPLIED
    assert await reception.deliver(nw.three_guarantees_alert(car, store_id=reception.store_id, at=at)) == \
        Outcome.APPLIED
    assert await _count(reception, "SELECT count(*) FROM campaign_vehicles WHERE campaign_id = 'cmp-twice'") == 2
    assert await _count(reception, "SELECT count(*) FROM campaigns WHERE campaign_id = 'cmp-twice'") == 1
    assert await _count(reception, "SELECT count(*) FROM three_guarantees_alerts WHERE vin = :v", v=car) == 1
    notices = (await reception.open_order(vehicle=factories.vehicle(vin=car)))["vehicle_notices"]
    assert [(c["code"], c["kind"]) for c in notices["campaigns"]] == [("SC-2026-003", "service")]
    assert len(notices["three_guarantees_alerts"]) == 1 and notices["three_guarantees"]["cumulative_repair_days"] == 22


async def test_network_events_write_no_reception_event(reception):
    before = len(await reception.outbox())
    await _publish(reception, ["LRCAL000000000031"])
    await reception.deliver(nw.three_guarantees("LRCAL000000000031", at=reception.clock.now()))
    assert len(await reception.outbox()) == before


async def test_chunks_applied_together_as_the_consumer_batches_them_list_every_car(reception):
    vins = nw.affected_vins(2_500, prefix="LRCAB")
    at = reception.clock.now()
    events = [nw.published("cmp-batch", vin_count=len(vins), at=at, starts_on=STARTS, ends_on=ENDS),
              *nw.chunks("cmp-batch", vins, at=at, starts_on=STARTS, ends_on=ENDS)]
    outcomes = await apply_events(reception.app.state.db, reception.app.state.handlers,
                                  [(event, "network") for event in events])
    assert outcomes == [Outcome.APPLIED] * 4
    assert await _count(reception, "SELECT count(*) FROM campaign_vehicles WHERE campaign_id = 'cmp-batch'") == 2_500
    assert _codes(await reception.open_order(vehicle=factories.vehicle(vin=vins[-1]))) == ["RC-2026-014"]
