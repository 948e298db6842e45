"""Who did it is a person on the information clerk's records (issue 15): every who-field of a
call task, call windows, a next-service offer, a return repair, a club suggestion, a win-back
call, a committed complaint date, a job run and a stored report names the person, their name
and the key or sign-in they used; so do the events that report what a person did."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.migrations import alembic_config
from services.crm.main import spec
from tests.crm import factories as f
from tests.support.platform import Caller

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The people of these tests: 赵丽 calls with a key issued to her, 孙丽 signed in, and the
# store's managers 陈经理 (a key of his own) and 钱主管 (signed in).
ZHAO = ("person-zhao", "赵丽", "key:k-zhao-1")
SUN = ("person-sun", "孙丽", "token:s-sun-4")
CHEN = ("person-chen", "陈经理", "key:k-chen-2")
QIAN = ("person-qian", "钱主管", "token:s-qian-3")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def as_person(crm, role: str, person: tuple[str, str, str]) -> Caller:
    person_id, name, credential = person
    return Caller(crm.client, role, crm.store_id, person_id, name=name, credential=credential)


def who(item: dict, field: str) -> tuple:
    return item[field], item[f"{field}_name"], item[f"{field}_credential"]


async def delivered(crm, at: datetime, **kw) -> str:
    env = f.delivered(crm.store_id, at, **kw)
    await crm.deliver(env)
    return env.subject


async def callback_of(crm, order_id: str) -> dict:
    [callback] = (await crm.agent.get("/v1/callbacks", params={"repair_order_id": order_id})).json()["items"]
    return callback


async def tracking_call_of(crm, order_id: str) -> dict:
    calls = (await crm.agent.get("/v1/calls", params={"kind": "tracking"})).json()["items"]
    [call] = [c for c in calls if c["repair_order_id"] == order_id]
    return call


async def test_store_call_windows_name_who_set_them_last(crm):
    url = f"/v1/stores/{crm.store_id}/call-windows"
    body = {"windows": [{"start": "09:00", "end": "11:30"}, {"start": "14:00", "end": "16:30"}]}
    for manager in (as_person(crm, "store_manager", CHEN), as_person(crm, "store_manager", QIAN)):
        r = await crm.client.put(url, json=body, headers=manager._headers(None))
        assert r.status_code == 200, r.text
        assert who(r.json(), "updated_by") == (manager.principal_id, manager.name, manager.credential)
    assert who((await crm.agent.get(url)).json(), "updated_by") == QIAN


async def test_a_tracking_call_names_who_recorded_its_result(crm):
    first = await delivered(crm, local(2026, 3, 2, 13))
    second = await delivered(crm, local(2026, 3, 2, 14), vehicle=f.car(vin="LSVWHO00000000002"),
                             customer=f.person("李", "13900000002"))
    for person, order in ((ZHAO, first), (SUN, second)):
        call = await tracking_call_of(crm, order)
        assert who(call, "done_by") == (None, None, None)
        r = await as_person(crm, "crm_agent", person).post(f"/v1/calls/{call['id']}/result",
                                                           json={"result": "all_good"})
        assert r.status_code == 200, r.text
        assert who(r.json(), "done_by") == person
    listed = {c["repair_order_id"]: who(c, "done_by")
              for c in (await crm.manager.get("/v1/calls", params={"kind": "tracking"})).json()["items"]}
    assert listed == {first: ZHAO, second: SUN}


async def test_a_next_service_offer_names_who_made_it_on_the_call(crm):
    callback = await callback_of(crm, await delivered(crm, local(2026, 3, 2, 13)))
    r = await as_person(crm, "crm_agent", SUN).post(f"/v1/callbacks/{callback['id']}/next-service-booking",
                                                    json={"scheduled_at": "2027-02-20T10:00:00+08:00"})
    assert r.status_code == 201, r.text
    assert who(r.json(), "offered_by") == SUN


async def test_a_return_repair_names_who_took_the_report_in_the_list_and_its_event(crm):
    order = await delivered(crm, local(2026, 3, 2, 13))
    callback = await callback_of(crm, order)
    call = await tracking_call_of(crm, order)
    by_key = await as_person(crm, "crm_agent", ZHAO).post(f"/v1/callbacks/{callback['id']}/return-repair",
                                                          json={"description": "刹车异响 brake noise is back"})
    by_sign_in = await as_person(crm, "crm_agent", SUN).post(f"/v1/calls/{call['id']}/return-repair",
                                                             json={"description": "空调不凉 air conditioning weak"})
    assert (by_key.status_code, by_sign_in.status_code) == (201, 201), (by_key.text, by_sign_in.text)
    assert (who(by_key.json(), "reported_by"), who(by_sign_in.json(), "reported_by")) == (ZHAO, SUN)
    listed = {r["id"]: who(r, "reported_by") for r in (await as_person(crm, "service_manager", QIAN).get(
        "/v1/return-repairs")).json()["items"]}
    assert listed == {by_key.json()["id"]: ZHAO, by_sign_in.json()["id"]: SUN}
    events = {e["data"]["return_repair_id"]: who(e["data"], "reported_by")
              for e in await crm.emitted("crm.return_repair.reported")}
    assert events == listed


async def test_a_club_suggestion_names_who_took_it_down(crm):
    callback = await callback_of(crm, await delivered(crm, local(2026, 3, 2, 13)))
    customer = (await crm.agent.get(f"/v1/customers/{callback['customer_id']}")).json()
    r = await crm.agent.patch(f"/v1/customers/{customer['id']}", headers={"If-Match": str(customer["version"])},
                              json={"club_member": True})
    assert r.status_code == 200, r.text
    for person, text in ((ZHAO, "周末延长营业 open longer"), (SUN, "更多车位 more parking")):
        r = await as_person(crm, "crm_agent", person).post(f"/v1/callbacks/{callback['id']}/suggestions",
                                                           json={"text": text})
        assert r.status_code == 201, r.text
        assert who(r.json(), "recorded_by") == person
    kept = {s["text"]: who(s, "recorded_by") for s in (await crm.manager.get("/v1/member-suggestions")).json()["items"]}
    assert kept == {"周末延长营业 open longer": ZHAO, "更多车位 more parking": SUN}


async def test_each_win_back_call_names_the_person_who_made_it(crm):
    # Last seen on 2 February 2025: thirteen months away on 2 March 2026, at risk.
    await delivered(crm, local(2025, 2, 2, 16), customer=f.person("周", "13100000001"),
                    vehicle=f.car(vin="LSVCHURN000000001"))
    assert (await crm.manager.post("/v1/jobs/churn_detection/run")).status_code == 200
    [episode] = (await crm.agent.get("/v1/churn")).json()["items"]
    url = f"/v1/churn/{episode['id']}/win-back-calls"
    r = await as_person(crm, "crm_agent", ZHAO).post(url, json={"result": "no_answer"})
    assert r.status_code == 201, r.text
    r = await as_person(crm, "crm_agent", SUN).post(url, json={"result": "will_come", "note": "下周来 next week"})
    assert r.status_code == 201, r.text
    assert [(c["result"], who(c, "made_by")) for c in r.json()["win_back_calls"]] == [
        ("no_answer", ZHAO), ("will_come", SUN)]


async def test_a_committed_complaint_date_names_who_committed_it(crm):
    sun = as_person(crm, "crm_agent", SUN)
    opened = (await sun.post("/v1/complaints", json={"department": "parts", "severity": "medium",
                                                     "description": "parts not in"})).json()
    url = f"/v1/complaints/{opened['id']}"
    assert who(opened, "due_committed_by") == (None, None, None)
    sooner = (datetime.fromisoformat(opened["due_at"]) - timedelta(hours=2)).isoformat()
    r = await as_person(crm, "store_manager", CHEN).post(f"{url}/assign",
                                                         json={"owner": "person-qian", "due_at": sooner})
    assert r.status_code == 200, r.text
    assert who(r.json(), "due_committed_by") == CHEN
    later = (datetime.fromisoformat(opened["due_at"]) + timedelta(days=5)).isoformat()
    r = await as_person(crm, "service_manager", QIAN).post(f"{url}/due-date",
                                                           json={"due_at": later, "reason": "parts_backordered"})
    assert r.status_code == 200, r.text
    assert who(r.json(), "due_committed_by") == QIAN
    assert who((await crm.agent.get(url)).json(), "due_committed_by") == QIAN


async def test_complaint_events_name_who_opened_and_who_closed(crm):
    # A survey recorded with 赵丽's key opens a complaint; the follow-up 孙丽 records signed in closes it.
    callback = await callback_of(crm, await delivered(crm, local(2026, 3, 2, 13)))
    r = await as_person(crm, "crm_agent", ZHAO).post(f"/v1/callbacks/{callback['id']}/survey", json={"answers": {
        "speed": 5, "price": 5, "advisor": 5, "quality": 1, "cleanliness": 5, "overall": 5}})
    assert r.status_code == 201, r.text
    [from_survey] = (await crm.manager.get("/v1/complaints")).json()["items"]
    chen = as_person(crm, "store_manager", CHEN)
    assert (await chen.post(f"/v1/complaints/{from_survey['id']}/assign", json={"owner": "person-qian"})).is_success
    r = await as_person(crm, "service_manager", QIAN).post(f"/v1/complaints/{from_survey['id']}/resolve",
                                                           json={"resolution": "brake noise fixed"})
    assert r.status_code == 200, r.text
    follow_up = r.json()["follow_up_callback_id"]
    r = await as_person(crm, "crm_agent", SUN).post(f"/v1/callbacks/{follow_up}/survey",
                                                    json={"answers": {"overall": 5}})
    assert r.status_code == 201, r.text
    # One opened by hand with 陈经理's key and no customer: resolving it closes it, by him.
    by_hand = (await chen.post("/v1/complaints", json={"department": "workshop", "severity": "low",
                                                       "description": "car returned dirty"})).json()
    assert (await chen.post(f"/v1/complaints/{by_hand['id']}/assign", json={"owner": "person-chen"})).is_success
    r = await chen.post(f"/v1/complaints/{by_hand['id']}/resolve", json={"resolution": "washed again"})
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text

    opened = {e["data"]["complaint_id"]: who(e["data"], "opened_by") for e in await crm.emitted("crm.complaint.opened")}
    closed = {e["data"]["complaint_id"]: who(e["data"], "closed_by") for e in await crm.emitted("crm.complaint.closed")}
    assert opened == {from_survey["id"]: ZHAO, by_hand["id"]: CHEN}
    assert closed == {from_survey["id"]: SUN, by_hand["id"]: CHEN}


async def test_the_unreachable_event_names_who_made_the_last_unanswered_call(crm):
    callback = await callback_of(crm, await delivered(crm, local(2026, 3, 2, 13)))
    url = f"/v1/callbacks/{callback['id']}/attempts"
    for person in (ZHAO, ZHAO, SUN):
        r = await as_person(crm, "crm_agent", person).post(url, json={"outcome": "no_answer"})
        assert r.status_code == 201, r.text
    assert r.json()["status"] == "unreachable"
    [event] = await crm.emitted("crm.callback.unreachable")
    assert who(event["data"], "marked_by") == SUN


async def test_a_sent_reminder_event_names_who_sent_it(crm):
    # Sold 2025-09-15 and 600 km by mid-December: the first maintenance falls due 2026-03-15.
    # Maintained at 20,000 km on 2025-10-02, 12,000 km after 8,000: the next falls due 2026-03-04.
    # Each is reminded 14 days ahead, so both are made today.
    brakes = [f.labour("BRK-0210", "Replace front brake pads", "1.2", 36000)]
    first_car = f.car(vin="LSVFIRST000000001", sold_at=date(2025, 9, 15))
    second_car, second_owner = f.car(vin="LSVPERIODIC000002", sold_at=date(2024, 6, 1)), f.person("钱", "13000000002")
    await crm.deliver(
        f.delivered(crm.store_id, local(2025, 12, 15, 15), vehicle=first_car, customer=f.person("赵", "13000000001"),
                    mileage_km=600, lines=brakes),
        f.delivered(crm.store_id, local(2025, 4, 2, 15), vehicle=second_car, customer=second_owner, mileage_km=8000,
                    lines=brakes),
        f.delivered(crm.store_id, local(2025, 10, 2, 15), vehicle=second_car, customer=second_owner, mileage_km=20000),
    )
    assert (await crm.manager.post("/v1/jobs/maintenance_reminders/run")).status_code == 200
    first, second = sorted((await crm.agent.get("/v1/reminders")).json()["items"], key=lambda r: r["vin"])
    for person, reminder in ((ZHAO, first), (SUN, second)):
        r = await as_person(crm, "crm_agent", person).post(f"/v1/reminders/{reminder['id']}/sent",
                                                           json={"channel": "wechat"})
        assert r.status_code == 200, r.text
    sent = {e["data"]["reminder_id"]: who(e["data"], "sent_by") for e in await crm.emitted("crm.reminder.sent")}
    assert sent == {first["id"]: ZHAO, second["id"]: SUN}


async def test_a_job_run_by_hand_and_its_report_name_who_started_it(crm):
    chen, qian = as_person(crm, "store_manager", CHEN), as_person(crm, "store_manager", QIAN)
    r = await chen.post("/v1/jobs/weekly_report/run")
    assert r.status_code == 200, r.text
    assert r.json()["stores"][0]["result"]["generated"] == 1
    [report] = (await crm.manager.get("/v1/reports", params={"kind": "weekly"})).json()["items"]
    assert report["trigger"] == "manual" and who(report, "generated_by") == CHEN
    runs = {j["name"]: j["last_runs"] for j in (await crm.manager.get("/v1/jobs")).json()["items"]}
    assert [who(run, "last_run_by") for run in runs["weekly_report"]] == [CHEN]
    # Run again by another: the day's run names the latest starter; the report stays as generated.
    assert (await qian.post("/v1/jobs/weekly_report/run")).status_code == 200
    runs = {j["name"]: j["last_runs"] for j in (await crm.manager.get("/v1/jobs")).json()["items"]}
    assert [(run["runs"], who(run, "last_run_by")) for run in runs["weekly_report"]] == [(2, QIAN)]
    [report] = (await crm.manager.get("/v1/reports", params={"kind": "weekly"})).json()["items"]
    assert who(report, "generated_by") == CHEN


async def test_who_person_clerk_names_earlier_rows_by_their_id_and_keeps_a_call_tasks_name(pg_url):
    await asyncio.to_thread(command.upgrade, alembic_config(spec.migrations_dir, pg_url), "0006")
    engine = create_async_engine(pg_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO call_tasks (id, store_id, kind, origin_key, due_at, status, note, done_at, done_by,"
                " done_by_name, created_at, version) VALUES"
                " ('t1', 's1', 'tracking', 'tracking:o1', now(), 'done', '', now(), 'agent-zhang', '张丽', now(), 2),"
                " ('t2', 's1', 'invitation_follow_up', 'invitation:r1', now(), 'cancelled', '', now(), 'system', NULL,"
                " now(), 2),"
                " ('t3', 's1', 'tracking', 'tracking:o2', now(), 'pending', '', NULL, NULL, NULL, now(), 1)"))
            await conn.execute(sa.text(
                "INSERT INTO member_suggestions (id, store_id, customer_id, via, text, recorded_at, recorded_by)"
                " VALUES ('m1', 's1', 'c1', 'call:t1', 'more parking', now(), 'agent-zhang')"))
            await conn.execute(sa.text(
                "INSERT INTO win_back_calls (id, episode_id, store_id, result, note, made_at, made_by)"
                " VALUES ('w1', 'e1', 's1', 'no_answer', '', now(), 'agent-li')"))
            await conn.execute(sa.text(
                "INSERT INTO job_runs (id, job, store_id, run_date, runs, first_run_at, last_run_at, last_trigger,"
                " last_run_by, result) VALUES ('j1', 'weekly_report', 's1', '2026-03-02', 1, now(), now(), 'schedule',"
                " 'scheduler', '{}')"))
        await asyncio.to_thread(command.upgrade, alembic_config(spec.migrations_dir, pg_url), "0007")
        async with engine.connect() as conn:
            async def rows(sql: str) -> list[tuple]:
                return [tuple(r) for r in (await conn.execute(sa.text(sql))).all()]

            tasks = await rows("SELECT id, done_by_name, done_by_credential FROM call_tasks ORDER BY id")
            suggestions = await rows("SELECT recorded_by_name, recorded_by_credential FROM member_suggestions")
            calls = await rows("SELECT made_by_name, made_by_credential FROM win_back_calls")
            runs = await rows("SELECT last_run_by_name, last_run_by_credential FROM job_runs")
    finally:
        await engine.dispose()
    assert tasks == [("t1", "张丽", None), ("t2", "system", None), ("t3", None, None)]
    assert (suggestions, calls, runs) == ([("agent-zhang", None)], [("agent-li", None)], [("scheduler", None)])
