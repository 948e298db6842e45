"""The information clerk's day (issue 17): callbacks due inside the last call window of day
3, store windows and the customer's preferred time, the 7-day tracking call, the next
service and its booking, return repairs, club suggestions, complaint dates and the
advisor's own order."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.common.events.catalogue import reception as rx
from tests.crm import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


async def deliver(crm, at: datetime, **kw) -> str:
    env = f.delivered(crm.store_id, at, **kw)
    await crm.deliver(env)
    return env.subject


async def put(caller, url: str, body: dict):
    return await caller.client.put(url, json=body, headers=caller._headers(None))


async def callback_of(crm, order_id: str) -> dict:
    [callback] = (await crm.agent.get("/v1/callbacks", params={"repair_order_id": order_id})).json()["items"]
    return callback


async def test_a_car_delivered_at_six_pm_is_due_on_day_three_inside_a_window(crm):
    order = await deliver(crm, local(2026, 3, 2, 18, 0))
    callback = await callback_of(crm, order)
    due = datetime.fromisoformat(callback["due_at"]).astimezone(SHANGHAI)
    assert due.date() == local(2026, 3, 5).date()
    assert local(2026, 3, 5, 15) <= due < local(2026, 3, 5, 18)
    assert callback["next_service"]["op_code"] == "MNT-0100"


async def test_store_windows_and_the_customers_preferred_time_set_the_due_time(crm):
    r = await put(crm.manager, f"/v1/stores/{crm.store_id}/call-windows", {"windows": [
        {"start": "09:00", "end": "11:30"}, {"start": "14:00", "end": "16:30"}]})
    assert r.status_code == 200 and r.json()["source"] == "store"
    bad = await put(crm.manager, f"/v1/stores/{crm.store_id}/call-windows", {"windows": [
        {"start": "10:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "windows"
    afternoon = await callback_of(crm, await deliver(crm, local(2026, 3, 2, 9)))
    assert datetime.fromisoformat(afternoon["due_at"]) == local(2026, 3, 5, 16, 29)
    # A customer who asked to be called in the morning is due in the morning window of day 3.
    who = f.person("刘", "13700000009")
    await deliver(crm, local(2026, 2, 20, 9), customer=who, vehicle=f.car(vin="LSVPREF0000000001"))
    [customer] = (await crm.agent.get("/v1/customers", params={"phone": who.phone})).json()["items"]
    r = await crm.agent.patch(f"/v1/customers/{customer['id']}", headers={"If-Match": str(customer["version"])},
                              json={"contact_preferences": {"preferred_call_time": "morning"}})
    assert r.status_code == 200, r.text
    morning = await callback_of(crm, await deliver(crm, local(2026, 3, 2, 9), customer=who,
                                                   vehicle=f.car(vin="LSVPREF0000000001")))
    assert datetime.fromisoformat(morning["due_at"]) == local(2026, 3, 5, 11, 29)


async def test_the_tracking_call_comes_seven_days_after_handover_with_its_script_and_result(crm):
    order = await deliver(crm, local(2026, 3, 2, 13))
    [call] = (await crm.agent.get("/v1/calls", params={"kind": "tracking"})).json()["items"]
    assert call["repair_order_id"] == order
    assert datetime.fromisoformat(call["due_at"]) == local(2026, 3, 9, 17, 59)
    assert call["script"][0]["zh"] and call["script"][0]["en"]
    r = await crm.agent.post(f"/v1/calls/{call['id']}/result", json={"result": "nonsense"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "result"
    r = await crm.agent.post(f"/v1/calls/{call['id']}/result", json={"result": "all_good", "note": "runs well"})
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["result"] == "all_good"
    assert (await crm.agent.post(f"/v1/calls/{call['id']}/result", json={"result": "all_good"})).status_code == 409


async def test_the_next_service_is_booked_on_the_call_and_reception_booking_marks_it(crm):
    order = await deliver(crm, local(2026, 3, 2, 13))
    callback = await callback_of(crm, order)
    upcoming = callback["next_service"]
    assert upcoming["kind"] == "periodic_maintenance" and upcoming["due_km"] == 22000
    r = await crm.agent.post(f"/v1/callbacks/{callback['id']}/next-service-booking",
                             json={"scheduled_at": "2027-02-20T10:00:00+08:00"})
    assert r.status_code == 201, r.text
    request = r.json()["appointment_request"]
    assert request["vehicle"]["vin"] == "LSVAA4182E2100001" and request["service_type"] == "maintenance"
    appointment = f.booked(crm.store_id, local(2026, 3, 5, 16), scheduled_at=local(2027, 2, 20, 10))
    await crm.deliver(appointment)
    again = await callback_of(crm, order)
    assert again["next_service"]["booking"]["appointment_id"] == appointment.subject


async def test_a_return_repair_reaches_the_service_manager_and_the_next_order_is_its_comeback(crm):
    order = await deliver(crm, local(2026, 3, 2, 13))
    callback = await callback_of(crm, order)
    r = await crm.agent.post(f"/v1/callbacks/{callback['id']}/return-repair",
                             json={"description": "刹车异响又出现了 brake noise is back"})
    assert r.status_code == 201 and r.json()["status"] == "reported"
    listed = (await crm.as_("service_manager", "sm-he").get("/v1/return-repairs",
                                                             params={"status": "reported"})).json()["items"]
    assert [x["id"] for x in listed] == [r.json()["id"]] and listed[0]["customer_name"] == "王先生"
    [event] = await crm.emitted("crm.return_repair.reported")
    assert event["data"]["repair_order_id"] == order
    crm.clock.set(local(2026, 3, 4, 9))
    comeback = f.opened(crm.store_id, local(2026, 3, 4, 9))
    await crm.deliver(comeback)
    [linked] = (await crm.agent.get("/v1/return-repairs")).json()["items"]
    assert linked["status"] == "came_back" and linked["comeback_repair_order_id"] == comeback.subject
    assert len(await crm.emitted("crm.return_repair.came_back")) == 1


async def test_club_members_get_the_member_script_and_their_suggestions_are_listed(crm):
    plain = await callback_of(crm, await deliver(crm, local(2026, 3, 2, 13)))
    assert plain["script"] == []
    r = await crm.agent.post(f"/v1/callbacks/{plain['id']}/suggestions", json={"text": "more parking"})
    assert r.status_code == 409 and r.json()["rule"] == "not_a_club_member"
    customer = (await crm.agent.get(f"/v1/customers/{plain['customer_id']}")).json()
    await crm.agent.patch(f"/v1/customers/{customer['id']}", headers={"If-Match": str(customer["version"])},
                          json={"club_member": True})
    member = await callback_of(crm, plain["repair_order_id"])
    assert member["script"] and member["script"][0]["zh"].startswith("尊敬的会员")
    r = await crm.agent.post(f"/v1/callbacks/{member['id']}/suggestions", json={"text": "周末延长营业 open longer"})
    assert r.status_code == 201
    [kept] = (await crm.manager.get("/v1/member-suggestions")).json()["items"]
    assert kept["text"] == "周末延长营业 open longer" and kept["customer_name"] == "王先生"


async def test_where_else_the_car_is_serviced_is_asked_on_the_survey(crm):
    callback = await callback_of(crm, await deliver(crm, local(2026, 3, 2, 13)))
    assert callback["extra_questions"][0]["code"] == "other_service_places"
    answers = {"speed": 5, "price": 5, "advisor": 5, "quality": 5, "cleanliness": 5, "overall": 5}
    r = await crm.agent.post(f"/v1/callbacks/{callback['id']}/survey",
                             json={"answers": answers, "extra_answers": {"other_service_places": ["elsewhere"]}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "extra_answers.other_service_places"
    r = await crm.agent.post(f"/v1/callbacks/{callback['id']}/survey", json={
        "answers": answers, "extra_answers": {"other_service_places": ["independent_garage", "self"]}})
    assert r.status_code == 201
    assert r.json()["survey"]["extra_answers"] == {"other_service_places": ["independent_garage", "self"]}


async def test_the_owner_commits_a_later_date_for_backordered_parts(crm):
    r = await crm.manager.post("/v1/complaints", json={"department": "parts", "severity": "medium",
                                                       "description": "parts not in"})
    complaint = r.json()
    await crm.manager.post(f"/v1/complaints/{complaint['id']}/assign", json={"owner": "parts-sun"})
    later = (datetime.fromisoformat(complaint["due_at"]) + timedelta(days=10)).isoformat()
    url = f"/v1/complaints/{complaint['id']}/due-date"
    assert (await crm.manager.post(url, json={"due_at": later, "reason": "parts_backordered"})).status_code == 403
    owner = crm.as_("service_manager", "parts-sun")
    r = await owner.post(url, json={"due_at": later})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = await owner.post(url, json={"due_at": later, "reason": "parts_backordered"})
    assert r.status_code == 200
    assert datetime.fromisoformat(r.json()["due_at"]) == datetime.fromisoformat(later)
    assert r.json()["due_reason"] == "parts_backordered" and r.json()["due_committed_by"] == "parts-sun"


async def test_an_advisor_may_not_resolve_a_complaint_about_their_own_order(crm):
    order = await deliver(crm, local(2026, 3, 2, 13), advisor_id="advisor-li")
    callback = await callback_of(crm, order)
    r = await crm.manager.post("/v1/complaints", json={"department": "reception", "severity": "low",
                                                       "description": "slow", "repair_order_id": order})
    complaint = r.json()
    await crm.manager.post(f"/v1/complaints/{complaint['id']}/assign", json={"owner": "advisor-li"})
    advisor = crm.as_("service_advisor", "advisor-li")
    r = await advisor.post(f"/v1/complaints/{complaint['id']}/resolve", json={"resolution": "said sorry"})
    assert r.status_code == 409 and r.json()["rule"] == "advisor_may_not_resolve"
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await crm.manager.post(f"/v1/complaints/{complaint['id']}/resolve", json={"resolution": "said sorry"})
    assert r.status_code == 200 and callback["id"]


# --- the invitation follow-up call ---------------------------------------------------------

# Sold 2025-09-15 and seen at 600 km in December: its first maintenance is due 2026-03-15, so
# the daily reminder job of Monday 2 March makes its invitation (14 days ahead).
INVITED = f.car(vin="LSVINVITE00000001", sold_at=date(2025, 9, 15))
INVITED_OWNER = f.person("赵", "13000000001")


async def invitation_sent(crm, channel: str = "wechat") -> dict:
    await deliver(crm, local(2025, 12, 15, 15), customer=INVITED_OWNER, vehicle=INVITED, mileage_km=600,
                  lines=[f.labour("BRK-0210", "Replace front brake pads", "1.2", 36000)])
    r = await crm.manager.post("/v1/jobs/maintenance_reminders/run")
    assert r.json()["stores"][0]["result"]["made"] == 1, r.text
    [reminder] = (await crm.agent.get("/v1/reminders", params={"vin": INVITED.vin})).json()["items"]
    crm.clock.set(local(2026, 3, 2, 10))
    r = await crm.agent.post(f"/v1/reminders/{reminder['id']}/sent", json={"channel": channel})
    assert r.status_code == 200, r.text
    return r.json()


async def follow_up(crm, when: datetime) -> dict:
    crm.clock.set(when)
    r = await crm.manager.post("/v1/jobs/invitation_follow_up/run")
    assert r.status_code == 200, r.text
    return r.json()["stores"][0]["result"]


async def invitation_calls(crm) -> list[dict]:
    return (await crm.agent.get("/v1/calls", params={"kind": "invitation_follow_up"})).json()["items"]


async def test_a_written_invitation_nobody_booked_on_gets_one_call_a_week_later(crm):
    reminder = await invitation_sent(crm)
    assert await follow_up(crm, local(2026, 3, 9, 9, 59)) == {"made": 0, "cancelled": 0}  # a minute short of a week
    assert await invitation_calls(crm) == []
    assert await follow_up(crm, local(2026, 3, 9, 10)) == {"made": 1, "cancelled": 0}
    [call] = await invitation_calls(crm)
    assert call["reminder_id"] == reminder["id"] and call["vin"] == INVITED.vin and call["status"] == "pending"
    assert call["customer_name"] == "赵" and call["phone"] == "13000000001"
    assert datetime.fromisoformat(call["due_at"]) == local(2026, 3, 9, 10)  # inside the morning window
    assert call["script"][0]["zh"] and call["script"][0]["en"]
    assert "booked" in {r["code"] for r in call["results"]}
    assert call["next_service"]["op_code"] == reminder["op_code"]
    # The next day's run, and a second run the same day, make no second call.
    assert await follow_up(crm, local(2026, 3, 9, 15)) == {"made": 0, "cancelled": 0}
    assert await follow_up(crm, local(2026, 3, 10, 10)) == {"made": 0, "cancelled": 0}
    assert [c["id"] for c in await invitation_calls(crm)] == [call["id"]]


async def test_a_booking_within_the_week_means_no_call_and_one_after_it_cancels_the_call(crm):
    await invitation_sent(crm)
    await crm.deliver(f.booked(crm.store_id, local(2026, 3, 5, 9), scheduled_at=local(2026, 3, 12, 9),
                               customer=INVITED_OWNER, vehicle=INVITED))
    assert await follow_up(crm, local(2026, 3, 9, 10)) == {"made": 0, "cancelled": 0}
    assert await invitation_calls(crm) == []


async def test_a_booking_after_the_call_was_made_cancels_it_at_the_next_run(crm):
    await invitation_sent(crm)
    assert (await follow_up(crm, local(2026, 3, 9, 10)))["made"] == 1
    booking = f.booked(crm.store_id, local(2026, 3, 9, 11), scheduled_at=local(2026, 3, 12, 9),
                       customer=INVITED_OWNER, vehicle=INVITED)
    await crm.deliver(booking)
    assert await follow_up(crm, local(2026, 3, 10, 10)) == {"made": 0, "cancelled": 1}
    [call] = await invitation_calls(crm)
    assert call["status"] == "cancelled" and booking.subject in call["note"]
    assert await follow_up(crm, local(2026, 3, 11, 10)) == {"made": 0, "cancelled": 0}


async def test_an_invitation_made_by_phone_gets_no_follow_up_call(crm):
    reminder = await invitation_sent(crm, channel="phone")
    assert reminder["channel"] == "phone"
    assert await follow_up(crm, local(2026, 3, 9, 10)) == {"made": 0, "cancelled": 0}
    assert await invitation_calls(crm) == []


# --- churn that can be worked -------------------------------------------------------------

FREE_CHECK_UP = [f.labour("INS-0100", "free check-up", "0.5", 0)]


async def customer_away_since(crm, name: str, phone: str, vin: str, last_visit: datetime) -> tuple[str, rx.Vehicle]:
    who, car = f.person(name, phone), f.car(vin=vin)
    await deliver(crm, last_visit, customer=who, vehicle=car)
    [customer] = (await crm.agent.get("/v1/customers", params={"phone": phone})).json()["items"]
    return customer["id"], car


async def detect(crm, when: datetime) -> dict[str, dict]:
    """Run churn detection at `when` (store time); the open absences by customer."""
    crm.clock.set(when)
    r = await crm.manager.post("/v1/jobs/churn_detection/run")
    assert r.status_code == 200, r.text
    items = (await crm.agent.get("/v1/churn", params={"include_ended": "true"})).json()["items"]
    return {item["customer_id"]: item for item in items}


async def test_churn_is_worked_with_a_listed_cause_win_back_calls_and_a_car_won_back(crm):
    zhou, zhou_car = await customer_away_since(crm, "周", "13100000001", "LSVCHURNWORK00001", local(2025, 2, 2, 16))
    zheng, zheng_car = await customer_away_since(crm, "郑", "13100000003", "LSVCHURNWORK00003",
                                                 local(2024, 8, 1, 11))
    found = await detect(crm, local(2026, 3, 2, 10))
    episode = found[zhou]["id"]
    assert found[zhou]["level"] == "at_risk" and found[zheng]["level"] == "lost"

    r = await put(crm.agent, f"/v1/churn/{episode}/cause", {"cause": "aliens"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cause"
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await put(crm.agent, f"/v1/churn/{episode}/cause", {"cause": "other_dealer", "note": "近一点"})
    assert r.status_code == 200, r.text
    assert (r.json()["cause"], r.json()["cause_zh"], r.json()["cause_en"], r.json()["cause_note"]) == (
        "other_dealer", "去了其他4S店", "went to another dealer", "近一点")

    url = f"/v1/churn/{episode}/win-back-calls"
    r = await crm.agent.post(url, json={"result": "maybe"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "result"
    crm.clock.set(local(2026, 3, 3, 10))
    assert (await crm.agent.post(url, json={"result": "no_answer"})).status_code == 201
    crm.clock.set(local(2026, 3, 4, 15))
    r = await crm.agent.post(url, json={"result": "will_come", "note": "下周来"})
    assert r.status_code == 201
    assert [(c["result"], c["note"], datetime.fromisoformat(c["made_at"])) for c in r.json()["win_back_calls"]] == [
        ("no_answer", "", local(2026, 3, 3, 10)), ("will_come", "下周来", local(2026, 3, 4, 15))]
    assert r.json()["won_back"] is False

    # 周 comes back after the calls: won back. 郑 comes back uncalled: the absence ends, nobody won him back.
    await crm.deliver(f.opened(crm.store_id, local(2026, 3, 10, 9), customer=f.person("周", "13100000001"),
                               vehicle=zhou_car))
    await crm.deliver(f.opened(crm.store_id, local(2026, 3, 10, 11), customer=f.person("郑", "13100000003"),
                               vehicle=zheng_car))
    ended = await detect(crm, local(2026, 3, 11, 10))
    assert ended[zhou]["won_back"] is True and datetime.fromisoformat(ended[zhou]["won_back_at"]) == local(
        2026, 3, 10, 9)
    assert ended[zhou]["ended_by"].startswith("repair_order:") and ended[zhou]["cause"] == "other_dealer"
    assert ended[zheng]["won_back"] is False and ended[zheng]["ended_at"]
    r = await crm.agent.post(url, json={"result": "booked"})
    assert r.status_code == 409  # the absence is over


async def test_a_free_promotional_visit_is_not_a_visit(crm):
    # 周 was last here (paying) thirteen months ago; 吴 fourteen months ago, with a free
    # check-up since. Both are at risk, and 周's free check-up does not end the absence or
    # win the car back, win-back call or not.
    zhou, zhou_car = await customer_away_since(crm, "周", "13100000001", "LSVCHURNFREE00001", local(2025, 2, 2, 16))
    wu, wu_car = await customer_away_since(crm, "吴", "13100000002", "LSVCHURNFREE00002", local(2025, 1, 2, 11))
    await deliver(crm, local(2026, 1, 20, 15), customer=f.person("吴", "13100000002"), vehicle=wu_car,
                  lines=FREE_CHECK_UP)
    found = await detect(crm, local(2026, 3, 2, 10))
    assert found[wu]["level"] == "at_risk" and found[wu]["months_without_visit"] == 14
    assert datetime.fromisoformat(found[wu]["last_visit_at"]) == local(2025, 1, 2, 11)
    episode = found[zhou]["id"]
    r = await crm.agent.post(f"/v1/churn/{episode}/win-back-calls", json={"result": "will_come"})
    assert r.status_code == 201

    free = f.delivered(crm.store_id, local(2026, 3, 5, 11), customer=f.person("周", "13100000001"), vehicle=zhou_car,
                       lines=FREE_CHECK_UP, opened_at=local(2026, 3, 5, 9))
    await crm.deliver(f.opened(crm.store_id, local(2026, 3, 5, 9), repair_order_id=free.subject,
                               customer=f.person("周", "13100000001"), vehicle=zhou_car), free)
    after = await detect(crm, local(2026, 3, 6, 10))
    assert after[zhou]["id"] == episode and after[zhou]["ended_at"] is None and after[zhou]["won_back"] is False
    assert datetime.fromisoformat(after[zhou]["last_visit_at"]) == local(2025, 2, 2, 16)
    customer = (await crm.agent.get(f"/v1/customers/{zhou}")).json()
    assert datetime.fromisoformat(customer["last_visit_at"]) == local(2025, 2, 2, 16)
    # A paid visit is one: the absence ends and the car is won back.
    await crm.deliver(f.opened(crm.store_id, local(2026, 3, 9, 9), customer=f.person("周", "13100000001"),
                               vehicle=zhou_car))
    assert (await detect(crm, local(2026, 3, 10, 10)))[zhou]["won_back"] is True


async def test_at_risk_starts_on_the_store_day_the_interval_and_grace_have_passed(crm):
    # Interval 12 months + grace 1 month: a last visit on 5 February 2025 is at risk from
    # 5 March 2026, 00:00 in Shanghai, not a minute earlier. A last visit on 31 January 2025
    # is thirteen months old on 28 February 2026, the last day of that February.
    fifth, _ = await customer_away_since(crm, "吴", "13100000002", "LSVCHURNEDGE00001", local(2025, 2, 5, 11))
    month_end, _ = await customer_away_since(crm, "冯", "13100000004", "LSVCHURNEDGE00002", local(2025, 1, 31, 11))
    assert month_end not in await detect(crm, local(2026, 2, 27, 23, 59))
    on_the_day = await detect(crm, local(2026, 2, 28, 0, 0))
    assert on_the_day[month_end]["level"] == "at_risk" and on_the_day[month_end]["months_without_visit"] == 13
    assert fifth not in await detect(crm, local(2026, 3, 4, 23, 59))
    found = await detect(crm, local(2026, 3, 5, 0, 0))
    assert found[fifth]["level"] == "at_risk" and found[fifth]["months_without_visit"] == 13
    assert found[fifth]["reason"].startswith("no visit since 2025-02-05 (13 months, at risk from 13)")
