"""Appointments: capacity per store and local hour, availability, cancel, no-show, check-in."""
from datetime import datetime, timedelta, timezone

from services.reception.main import create_app
from tests.reception import factories
from tests.reception.conftest import reception_settings
from tests.support.events import deliver, store_created
from tests.support.platform import Caller, running

# 10:15 in Shanghai on the test day (the clock starts at 09:00 local).
TEN_FIFTEEN = datetime(2026, 12, 1, 2, 15, tzinfo=timezone.utc)


async def book(caller, when: datetime, **over):
    return await caller.post("/v1/appointments", json=factories.appointment(when, **over))


async def test_booking_counts_against_the_local_hour_slot(reception):
    r = await book(reception.advisor, TEN_FIFTEEN)
    assert r.status_code == 201, r.text
    appointment = r.json()
    assert appointment["status"] == "booked"
    assert appointment["slot_start"] == "2026-12-01T02:00:00Z"
    assert appointment["local_date"] == "2026-12-01"
    assert appointment["booked_by"]["id"] == "advisor-li"
    assert r.headers["Location"] == f"appointments/{appointment['id']}"
    (event,) = await reception.outbox("reception.appointment.booked")
    assert event["data"]["vehicle"]["vin"] == appointment["vehicle"]["vin"]
    assert event["data"]["service_type"] == "maintenance"


async def test_a_full_slot_is_409_and_a_cancellation_frees_a_place(reception):
    booked = []
    for minute in (0, 10, 20, 50):
        r = await book(reception.advisor, TEN_FIFTEEN.replace(minute=minute))
        assert r.status_code == 201, r.text
        booked.append(r.json())
    r = await book(reception.advisor, TEN_FIFTEEN.replace(minute=30))
    assert r.status_code == 409 and r.json()["capacity"] == 4
    # The next hour is another slot, and another store has its own capacity.
    assert (await book(reception.advisor, TEN_FIFTEEN + timedelta(hours=1))).status_code == 201
    assert (await book(reception.other_advisor, TEN_FIFTEEN)).status_code == 201
    await reception.advisor.post(f"/v1/appointments/{booked[0]['id']}/cancel", json={"reason": "car sold"})
    assert (await book(reception.advisor, TEN_FIFTEEN.replace(minute=30))).status_code == 201


async def test_availability_shows_free_places_per_local_hour(reception):
    for _ in range(3):
        assert (await book(reception.advisor, TEN_FIFTEEN)).status_code == 201
    r = await reception.advisor.get("/v1/appointments/availability?date=2026-12-01")
    assert r.status_code == 200
    day = r.json()
    assert day["timezone"] == "Asia/Shanghai" and day["capacity_per_hour"] == 4
    slots = {s["local_time"]: s for s in day["slots"]}
    assert list(slots)[0] == "08:00" and list(slots)[-1] == "17:00"
    assert slots["10:00"]["start"] == "2026-12-01T02:00:00Z"
    assert (slots["10:00"]["booked"], slots["10:00"]["free"], slots["10:00"]["bookable"]) == (3, 1, True)
    assert slots["11:00"]["free"] == 4
    assert slots["08:00"]["bookable"] is False  # already over at 09:00
    r = await reception.hq.get("/v1/appointments/availability?date=2026-12-01")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "store_id"


async def test_capacity_is_configurable_per_store(reception_db, clock):
    settings = reception_settings(reception_db, appointment_capacity_per_hour=2,
                                  appointment_capacity_by_store={"SH-PD-01": 1})
    app = create_app(settings, role="api", clock=clock)
    async with running(app) as client:
        pudong, beijing = store_created(code="SH-PD-01"), store_created(code="BJ-CY-01")
        await deliver(app, pudong)
        await deliver(app, beijing)
        a, b = Caller(client, "service_advisor", pudong.subject), Caller(client, "service_advisor", beijing.subject)
        assert (await book(a, TEN_FIFTEEN)).status_code == 201
        assert (await book(a, TEN_FIFTEEN)).status_code == 409
        assert [(await book(b, TEN_FIFTEEN)).status_code for _ in range(3)] == [201, 201, 409]


async def test_booking_in_the_past_outside_hours_or_with_a_naive_time_is_422(reception):
    for when in (reception.clock.now() - timedelta(minutes=1), datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)):
        r = await book(reception.advisor, when)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scheduled_at", r.text
    r = await reception.advisor.post("/v1/appointments", json={**factories.appointment(TEN_FIFTEEN),
                                                                  "scheduled_at": "2026-12-02T10:00:00"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scheduled_at"
    r = await book(reception.advisor, TEN_FIFTEEN, service_type="car_wash")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "service_type"
    r = await book(reception.advisor, TEN_FIFTEEN, vehicle=factories.vehicle(sold_at="2027-01-01"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "vehicle.sold_at"


async def test_the_same_car_booked_twice_on_one_day_is_409(reception):
    car = factories.vehicle()
    first = (await book(reception.advisor, TEN_FIFTEEN, vehicle=car)).json()
    r = await book(reception.advisor, TEN_FIFTEEN + timedelta(hours=3), vehicle=car)
    assert r.status_code == 409 and r.json()["appointment_id"] == first["id"]


async def test_cancel_records_reason_and_emits_the_event(reception):
    appointment = (await book(reception.advisor, TEN_FIFTEEN)).json()
    r = await reception.advisor.post(f"/v1/appointments/{appointment['id']}/cancel", json={"reason": "car sold"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["cancel_reason"]) == ("cancelled", "car sold")
    (event,) = await reception.outbox("reception.appointment.cancelled")
    assert event["data"]["reason"] == "car sold" and event["subject"] == appointment["id"]


async def test_no_show_only_once_the_time_has_come(reception):
    appointment = (await book(reception.advisor, TEN_FIFTEEN)).json()
    r = await reception.advisor.post(f"/v1/appointments/{appointment['id']}/no-show")
    assert r.status_code == 409 and r.json()["current_state"] == "booked"
    reception.clock.set(TEN_FIFTEEN + timedelta(minutes=45))
    r = await reception.advisor.post(f"/v1/appointments/{appointment['id']}/no-show")
    assert r.status_code == 200 and r.json()["status"] == "no_show"
    assert r.json()["history"][-1]["from_status"] == "booked"
    assert len(await reception.outbox("reception.appointment.no_show")) == 1


async def test_check_in_from_an_appointment_takes_its_customer_and_vehicle(reception):
    appointment = (await book(reception.advisor, TEN_FIFTEEN)).json()
    order = await reception.open_order(appointment_id=appointment["id"])
    assert order["appointment_id"] == appointment["id"]
    assert order["vehicle"]["vin"] == appointment["vehicle"]["vin"]
    assert order["customer"] == appointment["customer"]
    after = (await reception.advisor.get(f"/v1/appointments/{appointment['id']}")).json()
    assert (after["status"], after["repair_order_id"]) == ("checked_in", order["id"])
    (event,) = await reception.outbox("reception.appointment.checked_in")
    assert event["data"]["repair_order_id"] == order["id"]


async def test_check_in_with_another_cars_vin_or_another_stores_appointment_is_422(reception):
    appointment = (await book(reception.advisor, TEN_FIFTEEN)).json()
    r = await reception.advisor.post("/v1/repair-orders", json=factories.check_in(
        appointment_id=appointment["id"], vehicle=factories.vehicle()))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "vehicle.vin"
    r = await reception.other_advisor.post("/v1/repair-orders", json=factories.check_in(appointment_id=appointment["id"]))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "appointment_id"
    assert (await reception.advisor.get(f"/v1/appointments/{appointment['id']}")).json()["status"] == "booked"


async def test_list_by_local_date_and_status_within_the_callers_store(reception):
    today = (await book(reception.advisor, TEN_FIFTEEN)).json()
    tomorrow = (await book(reception.advisor, TEN_FIFTEEN + timedelta(days=1))).json()
    await book(reception.other_advisor, TEN_FIFTEEN)
    items = (await reception.advisor.get("/v1/appointments?date=2026-12-02")).json()["items"]
    assert [a["id"] for a in items] == [tomorrow["id"]]
    await reception.advisor.post(f"/v1/appointments/{today['id']}/cancel")
    items = (await reception.advisor.get("/v1/appointments?status=booked")).json()["items"]
    assert [a["id"] for a in items] == [tomorrow["id"]]
    assert (await reception.other_advisor.get(f"/v1/appointments/{today['id']}")).status_code == 404
    assert len((await reception.hq.get("/v1/appointments")).json()["items"]) == 3
