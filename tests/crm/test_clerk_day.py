"""The information clerk's day (issue 17): callbacks due inside the last call window of day
3, store windows and the customer's preferred time, the 7-day tracking call, the next
service and its booking, return repairs, club suggestions, complaint dates and the
advisor's own order."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.crm import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


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
