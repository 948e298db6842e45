"""Callbacks and surveys, CRM alone in this process (events applied through its handlers)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from tests.crm import factories as f
from tests.support.platform import Caller

SHANGHAI = ZoneInfo("Asia/Shanghai")
FULL_SATISFIED = {"speed": 5, "price": 5, "advisor": 5, "quality": 5, "cleanliness": 5, "overall": 5}


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


async def first_callback(crm, **kw) -> dict:
    env = f.delivered(crm.store_id, kw.pop("delivered_at", local(2026, 3, 2, 13, 0)), **kw)
    await crm.deliver(env)
    r = await crm.agent.get("/v1/callbacks", params={"repair_order_id": env.subject})
    assert r.status_code == 200, r.text
    [callback] = r.json()["items"]
    return callback


async def test_delivery_gives_a_callback_due_in_the_last_call_window_of_day_three(crm):
    # Delivered 13:00 Shanghai on 2 March; day 3 is 5 March, whose last window is 15:00-18:00.
    callback = await first_callback(crm, delivered_at=local(2026, 3, 2, 13, 0))
    assert callback["kind"] == "first" and callback["status"] == "pending"
    due = datetime.fromisoformat(callback["due_at"])
    assert due == local(2026, 3, 5, 17, 59)
    assert due.astimezone(timezone.utc) == datetime(2026, 3, 5, 9, 59, tzinfo=timezone.utc)
    assert callback["due_at_local"] == "2026-03-05T17:59:00+08:00"
    [created] = await crm.emitted("crm.callback.created")
    assert created["data"]["callback_id"] == callback["id"] and created["data"]["kind"] == "first"


async def test_a_morning_or_evening_delivery_is_due_on_day_three_never_day_four(crm):
    morning = await first_callback(crm, delivered_at=local(2026, 3, 2, 11, 15))
    assert datetime.fromisoformat(morning["due_at"]) == local(2026, 3, 5, 17, 59)
    evening = await first_callback(crm, delivered_at=local(2026, 3, 2, 18, 0), customer=f.person(phone="13900000001"))
    assert datetime.fromisoformat(evening["due_at"]) == local(2026, 3, 5, 17, 59)


async def test_the_advisor_who_served_the_order_may_not_make_its_callback(crm):
    callback = await first_callback(crm, advisor_id="advisor-li")
    advisor = crm.as_("service_advisor", "advisor-li")
    r = await advisor.post(f"/v1/callbacks/{callback['id']}/attempts", json={"outcome": "reached"})
    assert r.status_code == 409 and r.json()["rule"] == "advisor_may_not_call"
    r = await advisor.post(f"/v1/callbacks/{callback['id']}/survey", json={"answers": FULL_SATISFIED})
    assert r.status_code == 409
    r = await advisor.post(f"/v1/callbacks/{callback['id']}/cancel", json={"reason": "customer busy"})
    assert r.status_code == 409
    unchanged = (await crm.agent.get(f"/v1/callbacks/{callback['id']}")).json()
    assert unchanged["status"] == "pending" and unchanged["attempts"] == []
    colleague = crm.as_("service_advisor", "advisor-wang")
    r = await colleague.post(f"/v1/callbacks/{callback['id']}/survey", json={"answers": FULL_SATISFIED})
    assert r.status_code == 201 and r.json()["status"] == "completed"


async def test_the_advisor_may_not_call_through_a_key_that_now_answers_to_them(crm):
    # An order served before keys answered to their person names the advisor's key; the
    # gateway now signs that key as the advisor's person, with the key as credential.
    callback = await first_callback(crm, advisor_id="k-advisor-li")
    li = Caller(crm.client, "service_advisor", crm.store_id, "person-li", name="李顾问", credential="key:k-advisor-li")
    r = await li.post(f"/v1/callbacks/{callback['id']}/attempts", json={"outcome": "reached"})
    assert r.status_code == 409 and r.json()["rule"] == "advisor_may_not_call"


async def test_callback_who_fields_name_the_agent_and_the_key_or_sign_in_used(crm):
    callback = await first_callback(crm)
    url = f"/v1/callbacks/{callback['id']}"
    by_key = Caller(crm.client, "crm_agent", crm.store_id, "person-zhao", name="赵丽", credential="key:k-zhao")
    by_sign_in = Caller(crm.client, "crm_agent", crm.store_id, "person-zhao", name="赵丽", credential="token:s-zhao")
    assert (await by_key.post(f"{url}/attempts", json={"outcome": "no_answer"})).status_code == 201
    done = await by_sign_in.post(f"{url}/survey", json={"answers": FULL_SATISFIED})
    assert done.status_code == 201, done.text
    body = done.json()
    key_who = {"person_id": "person-zhao", "name": "赵丽", "credential": "key:k-zhao"}
    sign_in_who = {**key_who, "credential": "token:s-zhao"}
    assert [a["made_by_person"] for a in body["attempts"]] == [key_who, sign_in_who]
    assert body["survey"]["agent_person"] == sign_in_who and body["completed_by_person"] == sign_in_who


async def test_three_unanswered_attempts_make_the_customer_unreachable(crm):
    callback = await first_callback(crm)
    url = f"/v1/callbacks/{callback['id']}/attempts"
    for outcome in ("no_answer", "wrong_number"):
        r = await crm.agent.post(url, json={"outcome": outcome, "note": "tried"})
        assert r.status_code == 201 and r.json()["status"] == "pending"
    assert await crm.emitted("crm.callback.unreachable") == []
    r = await crm.agent.post(url, json={"outcome": "no_answer"})
    assert r.json()["status"] == "unreachable" and r.json()["unanswered_attempts"] == 3
    [event] = await crm.emitted("crm.callback.unreachable")
    assert event["data"]["attempts"] == 3 and event["subject"] == callback["id"]
    r = await crm.agent.post(url, json={"outcome": "no_answer"})
    assert r.status_code == 409 and r.json()["current_state"] == "unreachable"


async def test_a_reached_call_is_not_an_unanswered_one(crm):
    callback = await first_callback(crm)
    url = f"/v1/callbacks/{callback['id']}/attempts"
    for outcome in ("no_answer", "reached", "no_answer"):
        r = await crm.agent.post(url, json={"outcome": outcome})
    assert r.json()["status"] == "pending" and r.json()["unanswered_attempts"] == 2
    assert [a["outcome"] for a in r.json()["attempts"]] == ["no_answer", "reached", "no_answer"]


async def test_survey_answers_are_checked_against_the_survey_and_name_the_wrong_field(crm):
    callback = await first_callback(crm)
    url = f"/v1/callbacks/{callback['id']}/survey"
    cases = [
        ({**FULL_SATISFIED, "mood": 4}, "answers.mood"),
        ({**FULL_SATISFIED, "speed": 6}, "answers.speed"),
        ({**FULL_SATISFIED, "price": 0}, "answers.price"),
        ({k: v for k, v in FULL_SATISFIED.items() if k != "quality"}, "answers.quality"),
        ({**FULL_SATISFIED, "overall": "5"}, "answers.overall"),
        ({**FULL_SATISFIED, "overall": True}, "answers.overall"),
    ]
    for answers, field in cases:
        r = await crm.agent.post(url, json={"answers": answers})
        assert r.status_code == 422, (answers, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (field, r.json())
    still = (await crm.agent.get(f"/v1/callbacks/{callback['id']}")).json()
    assert still["status"] == "pending" and still["survey"] is None
    assert await crm.emitted("crm.callback.completed") == []


async def test_optional_questions_may_be_skipped_and_the_customers_words_are_kept_verbatim(crm):
    callback = await first_callback(crm)
    words = "  师傅很专业,\n但是等了很久。 \"too slow\"  "
    r = await crm.agent.post(f"/v1/callbacks/{callback['id']}/survey",
                             json={"answers": FULL_SATISFIED, "verbatim": words})
    assert r.status_code == 201, r.text
    body = r.json()
    assert "paint" not in body["survey"]["answers"]
    assert body["survey"]["verbatim"] == words
    assert body["attempts"][0]["outcome"] == "reached"
    [event] = await crm.emitted("crm.callback.completed")
    assert event["data"]["overall"] == 5 and event["data"]["on_time"] is True and event["data"]["attempts"] == 1
    assert event["data"]["agent"] == "agent-zhang" and event["data"]["answers"] == FULL_SATISFIED


async def test_a_late_survey_is_not_on_time(crm):
    callback = await first_callback(crm)
    crm.clock.set(datetime.fromisoformat(callback["due_at"]) + timedelta(minutes=1))
    r = await crm.agent.post(f"/v1/callbacks/{callback['id']}/survey", json={"answers": FULL_SATISFIED})
    assert r.json()["on_time"] is False
    [event] = await crm.emitted("crm.callback.completed")
    assert event["data"]["on_time"] is False


async def test_a_survey_with_two_low_departments_opens_two_complaints(crm):
    callback = await first_callback(crm)
    answers = {"speed": 2, "advisor": 1, "price": 4, "quality": 2, "cleanliness": 5, "overall": 4}
    r = await crm.agent.post(f"/v1/callbacks/{callback['id']}/survey",
                             json={"answers": answers, "verbatim": "等太久,洗车也没洗干净"})
    assert r.status_code == 201
    assert r.json()["survey"]["low_answers"] == {"reception": {"speed": 2, "advisor": 1}, "workshop": {"quality": 2}}
    complaints = (await crm.agent.get("/v1/complaints")).json()["items"]
    by_department = {c["department"]: c for c in complaints}
    assert set(by_department) == {"reception", "workshop"}
    assert sorted(r.json()["survey"]["complaints_opened"]) == sorted(c["id"] for c in complaints)
    reception = by_department["reception"]
    assert reception["severity"] == "high" and reception["status"] == "open" and reception["source"] == "survey"
    assert reception["customer_id"] == callback["customer_id"]
    assert reception["repair_order_id"] == callback["repair_order_id"]
    assert reception["verbatim"] == "等太久,洗车也没洗干净"
    assert datetime.fromisoformat(reception["due_at"]) - datetime.fromisoformat(reception["opened_at"]) == timedelta(hours=48)
    workshop = by_department["workshop"]
    assert workshop["severity"] == "medium"
    assert datetime.fromisoformat(workshop["due_at"]) - datetime.fromisoformat(workshop["opened_at"]) == timedelta(days=5)
    opened = await crm.emitted("crm.complaint.opened")
    assert sorted(e["data"]["department"] for e in opened) == ["reception", "workshop"]
    assert all(e["data"]["source"] == "survey" for e in opened)


async def test_overall_at_the_overall_low_mark_opens_a_store_complaint(crm):
    callback = await first_callback(crm)
    await crm.agent.post(f"/v1/callbacks/{callback['id']}/survey", json={"answers": {**FULL_SATISFIED, "overall": 3}})
    [complaint] = (await crm.agent.get("/v1/complaints")).json()["items"]
    assert complaint["department"] == "store" and complaint["severity"] == "low"


async def _resolved_complaint(crm) -> dict:
    callback = await first_callback(crm)
    await crm.agent.post(f"/v1/callbacks/{callback['id']}/survey", json={"answers": {**FULL_SATISFIED, "quality": 1}})
    [complaint] = (await crm.agent.get("/v1/complaints")).json()["items"]
    r = await crm.manager.post(f"/v1/complaints/{complaint['id']}/assign", json={"owner": "foreman-zhou"})
    assert r.status_code == 200 and r.json()["status"] == "assigned"
    crm.clock.advance(hours=5)
    r = await crm.manager.post(f"/v1/complaints/{complaint['id']}/resolve",
                               json={"resolution": "brake noise fixed free of charge"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    return r.json()


async def test_resolving_a_complaint_books_a_follow_up_two_days_later_in_a_call_window(crm):
    complaint = await _resolved_complaint(crm)
    follow_up = (await crm.agent.get(f"/v1/callbacks/{complaint['follow_up_callback_id']}")).json()
    assert follow_up["kind"] == "follow_up" and follow_up["complaint_id"] == complaint["id"]
    resolved_at = datetime.fromisoformat(complaint["resolved_at"]).astimezone(SHANGHAI)
    assert resolved_at == local(2026, 3, 2, 15, 0)  # 10:00 + 5 h
    assert datetime.fromisoformat(follow_up["due_at"]) == local(2026, 3, 4, 15, 0)
    created = [e["data"] for e in await crm.emitted("crm.callback.created") if e["data"]["kind"] == "follow_up"]
    assert created == [{**created[0], "complaint_id": complaint["id"], "callback_id": follow_up["id"]}]


async def test_a_satisfied_follow_up_closes_the_complaint(crm):
    complaint = await _resolved_complaint(crm)
    r = await crm.agent.post(f"/v1/callbacks/{complaint['follow_up_callback_id']}/survey",
                             json={"answers": {"overall": 4}})
    assert r.status_code == 201, r.text
    closed = (await crm.agent.get(f"/v1/complaints/{complaint['id']}")).json()
    assert closed["status"] == "closed" and closed["closed_at"]
    [event] = await crm.emitted("crm.complaint.closed")
    assert event["data"]["complaint_id"] == complaint["id"]
    assert event["data"]["resolution"] == "brake noise fixed free of charge"
    assert len((await crm.agent.get("/v1/complaints")).json()["items"]) == 1  # the follow-up opened nothing new


async def test_an_unsatisfied_follow_up_reopens_the_complaint_with_a_new_deadline(crm):
    complaint = await _resolved_complaint(crm)
    crm.clock.advance(days=2)
    r = await crm.agent.post(f"/v1/callbacks/{complaint['follow_up_callback_id']}/survey",
                             json={"answers": {"overall": 3}, "verbatim": "还是有异响"})
    assert r.status_code == 201
    reopened = (await crm.agent.get(f"/v1/complaints/{complaint['id']}")).json()
    assert reopened["status"] == "assigned" and reopened["owner"] == "foreman-zhou" and reopened["reopened"] == 1
    assert datetime.fromisoformat(reopened["due_at"]) == crm.clock.now() + timedelta(hours=48)
    assert [s["action"] for s in reopened["history"]] == ["opened", "assigned", "resolved", "reopened"]
    assert await crm.emitted("crm.complaint.closed") == []
    assert len((await crm.agent.get("/v1/complaints")).json()["items"]) == 1
    # Resolved again, it gets a second follow-up; this time the customer is satisfied.
    r = await crm.manager.post(f"/v1/complaints/{complaint['id']}/resolve", json={"resolution": "pads replaced"})
    second = r.json()["follow_up_callback_id"]
    assert second != complaint["follow_up_callback_id"]
    await crm.agent.post(f"/v1/callbacks/{second}/survey", json={"answers": {"overall": 5}})
    assert (await crm.agent.get(f"/v1/complaints/{complaint['id']}")).json()["status"] == "closed"


async def test_a_follow_up_needs_the_overall_answer(crm):
    complaint = await _resolved_complaint(crm)
    r = await crm.agent.post(f"/v1/callbacks/{complaint['follow_up_callback_id']}/survey",
                             json={"answers": {"quality": 5}})
    assert r.status_code == 422 and r.json()["errors"] == [{"field": "answers.overall", "message": "required"}]


async def test_another_stores_callback_is_not_found_and_not_listed(crm):
    callback = await first_callback(crm)
    stranger = crm.as_("crm_agent", "agent-beijing", store_id=crm.other_store_id)
    assert (await stranger.get(f"/v1/callbacks/{callback['id']}")).status_code == 404
    r = await stranger.post(f"/v1/callbacks/{callback['id']}/attempts", json={"outcome": "reached"})
    assert r.status_code == 404
    assert (await stranger.get("/v1/callbacks")).json()["items"] == []
    assert len((await crm.hq.get("/v1/callbacks")).json()["items"]) == 1


async def test_roles_outside_crm_may_not_touch_callbacks(crm):
    callback = await first_callback(crm)
    technician = crm.as_("technician", "tech-1")
    assert (await technician.get("/v1/callbacks")).status_code == 403
    analyst = crm.as_("hq_analyst", "analyst", store_id=None)
    assert (await analyst.get("/v1/callbacks")).status_code == 200
    r = await analyst.post(f"/v1/callbacks/{callback['id']}/attempts", json={"outcome": "reached"})
    assert r.status_code == 403


async def test_a_callback_can_be_cancelled_with_a_reason_but_only_while_pending(crm):
    callback = await first_callback(crm)
    r = await crm.agent.post(f"/v1/callbacks/{callback['id']}/cancel", json={"reason": "customer declined the survey"})
    assert r.json()["status"] == "cancelled" and r.json()["cancel_reason"] == "customer declined the survey"
    r = await crm.agent.post(f"/v1/callbacks/{callback['id']}/survey", json={"answers": FULL_SATISFIED})
    assert r.status_code == 409 and r.json()["current_state"] == "cancelled"


async def test_list_filters_by_status_and_due_time(crm):
    early = await first_callback(crm, delivered_at=local(2026, 3, 2, 11, 0))
    await first_callback(crm, delivered_at=local(2026, 3, 3, 11, 0), customer=f.person(phone="13900000002"))
    r = await crm.agent.get("/v1/callbacks", params={"due_before": "2026-03-05T18:00:00+08:00", "status": "pending"})
    assert [c["id"] for c in r.json()["items"]] == [early["id"]]
    r = await crm.agent.get("/v1/callbacks", params={"due_before": "2026-03-05T12:00:00"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "due_before"
