"""Maintenance reminders: made 14 days ahead from sale date, last service and projected
mileage; converted by a booking or a walk-in; expired when nobody came.
The store's today is Monday 2 March 2026 (Shanghai)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.crm import factories as f
from tests.support.platform import Caller

SHANGHAI = ZoneInfo("Asia/Shanghai")
BRAKES = [f.labour("BRK-0210", "Replace front brake pads", "1.2", 36000)]


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# V1: sold 2025-09-15, 600 km by 2025-12-15: 600 / (91 / 30.4375) = 200.7 km a month, so 5,000 km
# are years away and the first maintenance falls due by months: 2026-03-15.
V1 = f.car(vin="LSVFIRST000000001", sold_at=date(2025, 9, 15))
# V2: 8,000 km on 2025-04-02, maintained at 20,000 km on 2025-10-02 (12,000 km in 183 days):
# the next 10,000 km take 183 * 10000 / 12000 = 152.5 days, rounded to 153: 2026-03-04.
V2 = f.car(vin="LSVPERIODIC000002", sold_at=date(2024, 6, 1))
# V3: sold 2025-12-01, first maintenance due 2026-06-01: too early to remind.
V3 = f.car(vin="LSVNOTYET00000003", sold_at=date(2025, 12, 1))


async def seed(crm) -> None:
    await crm.deliver(
        f.delivered(crm.store_id, local(2025, 12, 15, 15), vehicle=V1, customer=f.person("赵", "13000000001"),
                    mileage_km=600, lines=BRAKES),
        f.delivered(crm.store_id, local(2025, 4, 2, 15), vehicle=V2, customer=f.person("钱", "13000000002"),
                    mileage_km=8000, lines=BRAKES),
        f.delivered(crm.store_id, local(2025, 10, 2, 15), vehicle=V2, customer=f.person("钱", "13000000002"),
                    mileage_km=20000),
        f.delivered(crm.store_id, local(2026, 1, 10, 15), vehicle=V3, customer=f.person("孙", "13000000003"),
                    mileage_km=300, lines=BRAKES),
    )


async def run(crm) -> dict:
    r = await crm.manager.post("/v1/jobs/maintenance_reminders/run")
    assert r.status_code == 200, r.text
    return r.json()["stores"][0]["result"]


async def reminders(crm, **params) -> list[dict]:
    return (await crm.agent.get("/v1/reminders", params=params)).json()["items"]


async def test_reminders_are_made_fourteen_days_ahead_from_sale_date_last_service_and_mileage(crm):
    await seed(crm)
    assert await run(crm) == {"made": 2, "expired": 0}
    made = {r["vin"]: r for r in await reminders(crm)}
    assert set(made) == {V1.vin, V2.vin}
    first = made[V1.vin]
    assert first["kind"] == "first_maintenance" and first["op_code"] == "MNT-0110"
    assert first["due_on"] == "2026-03-15" and first["due_km"] == 5000 and first["status"] == "pending"
    assert first["km_per_month"] == 201
    periodic = made[V2.vin]
    assert periodic["kind"] == "periodic_maintenance" and periodic["op_code"] == "MNT-0100"
    assert periodic["due_on"] == "2026-03-04" and periodic["due_km"] == 30000
    assert "20000 km" in periodic["reason"]


async def test_running_the_job_again_the_same_day_makes_nothing_new(crm):
    await seed(crm)
    await run(crm)
    before = await reminders(crm)
    r = await crm.manager.post("/v1/jobs/maintenance_reminders/run")
    assert r.json()["stores"][0] == {**r.json()["stores"][0], "result": {"made": 0, "expired": 0}, "runs_today": 2}
    assert await reminders(crm) == before


async def test_a_vehicle_with_a_booking_or_an_owner_who_opted_out_gets_no_reminder(crm):
    await seed(crm)
    await crm.deliver(f.booked(crm.store_id, local(2026, 3, 1, 9), scheduled_at=local(2026, 3, 9, 9), vehicle=V2,
                               customer=f.person("钱", "13000000002")))
    [owner] = (await crm.agent.get("/v1/customers", params={"phone": "130 0000 0001"})).json()["items"]
    r = await crm.agent.patch(f"/v1/customers/{owner['id']}",
                              json={"contact_preferences": {"marketing_opt_out": True}, "version": owner["version"]})
    assert r.status_code == 200
    assert await run(crm) == {"made": 0, "expired": 0}


async def test_a_reminder_is_sent_on_a_channel_the_customer_accepts(crm):
    await seed(crm)
    await run(crm)
    [reminder] = await reminders(crm, vin=V1.vin)
    r = await crm.agent.post(f"/v1/reminders/{reminder['id']}/sent", json={"channel": "email"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "channel"
    r = await crm.agent.post(f"/v1/reminders/{reminder['id']}/sent", json={"channel": "fax"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "channel"
    r = await crm.agent.post(f"/v1/reminders/{reminder['id']}/sent", json={"channel": "wechat"})
    assert r.status_code == 200 and r.json()["status"] == "sent" and r.json()["channel"] == "wechat"
    [event] = await crm.emitted("crm.reminder.sent")
    assert event["data"] == {**event["data"], "reminder_id": reminder["id"], "vin": V1.vin,
                             "kind": "first_maintenance", "channel": "wechat"}
    r = await crm.agent.post(f"/v1/reminders/{reminder['id']}/sent", json={"channel": "sms"})
    assert r.status_code == 409 and r.json()["current_state"] == "sent"


async def test_a_booking_for_the_vin_converts_its_reminder_and_a_walk_in_does_too(crm):
    await seed(crm)
    await run(crm)
    booking = f.booked(crm.store_id, crm.clock.now() + timedelta(hours=2), vehicle=V2,
                       customer=f.person("钱", "13000000002"))
    await crm.deliver(booking)
    [converted] = await reminders(crm, vin=V2.vin)
    assert converted["status"] == "converted" and converted["converted_by"] == f"appointment:{booking.subject}"

    walk_in = f.opened(crm.store_id, crm.clock.now() + timedelta(days=1), vehicle=V1,
                       customer=f.person("赵", "13000000001"), mileage_km=900)
    await crm.deliver(walk_in)
    [converted] = await reminders(crm, vin=V1.vin)
    assert converted["status"] == "converted" and converted["converted_by"] == f"repair_order:{walk_in.subject}"
    r = await crm.agent.post(f"/v1/reminders/{converted['id']}/sent", json={"channel": "sms"})
    assert r.status_code == 409


async def test_an_unconverted_reminder_expires_thirty_days_after_its_due_day(crm):
    await seed(crm)
    await run(crm)
    [v1] = await reminders(crm, vin=V1.vin)
    await crm.agent.post(f"/v1/reminders/{v1['id']}/sent", json={"channel": "sms"})
    crm.clock.set(local(2026, 4, 14, 10))  # V1 due 03-15: the 30 days end with 04-14
    result = await run(crm)
    assert result["expired"] == 1  # V2, due 03-04, expires now; V1 has one more day
    assert {r["vin"]: r["status"] for r in await reminders(crm)} == {V1.vin: "sent", V2.vin: "expired"}
    crm.clock.set(local(2026, 4, 15, 10))
    assert (await run(crm))["expired"] == 1
    assert {r["status"] for r in await reminders(crm, status="expired")} == {"expired"}
    assert len(await reminders(crm, status="expired")) == 2
    # A late booking no longer converts an expired reminder.
    await crm.deliver(f.booked(crm.store_id, crm.clock.now(), vehicle=V1, customer=f.person("赵", "13000000001")))
    assert (await reminders(crm, vin=V1.vin))[0]["status"] == "expired"


async def test_reminders_are_the_stores_own(crm):
    await seed(crm)
    await run(crm)
    stranger = crm.as_("crm_agent", "agent-beijing", store_id=crm.other_store_id)
    assert (await stranger.get("/v1/reminders")).json()["items"] == []
    [reminder, *_] = await reminders(crm)
    assert (await stranger.get(f"/v1/reminders/{reminder['id']}")).status_code == 404
    r = await stranger.post(f"/v1/reminders/{reminder['id']}/sent", json={"channel": "sms"})
    assert r.status_code == 404


async def test_each_sent_reminder_names_the_person_who_sent_it_and_the_key_or_sign_in_used(crm):
    await seed(crm)
    await run(crm)
    [first] = await reminders(crm, vin=V1.vin)
    [second] = await reminders(crm, vin=V2.vin)
    by_key = Caller(crm.client, "crm_agent", crm.store_id, "person-zhao", name="赵丽", credential="key:k-zhao-1")
    by_sign_in = Caller(crm.client, "crm_agent", crm.store_id, "person-sun", name="孙丽", credential="token:s-sun-4")
    for caller, reminder in ((by_key, first), (by_sign_in, second)):
        r = await caller.post(f"/v1/reminders/{reminder['id']}/sent", json={"channel": "wechat"})
        assert r.status_code == 200, r.text
    sent = {r["id"]: (r["sent_by"], r["sent_by_name"], r["sent_by_credential"]) for r in await reminders(crm)}
    assert (sent[first["id"]], sent[second["id"]]) == (
        ("person-zhao", "赵丽", "key:k-zhao-1"), ("person-sun", "孙丽", "token:s-sun-4"))
    one = (await crm.agent.get(f"/v1/reminders/{first['id']}")).json()
    assert (one["sent_by_name"], one["sent_by_credential"]) == ("赵丽", "key:k-zhao-1")
