"""Weekly and monthly reports. The figures of ISO week 2026-W10 (Monday 2 to Sunday 8
March, Shanghai) are worked out by hand below from a seeded week at one store."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.crm.scheduling.service import JOBS, run_scheduled
from tests.crm import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
HAPPY = {"speed": 5, "price": 4, "advisor": 5, "quality": 5, "cleanliness": 4, "overall": 5}
GRUMPY = {"speed": 2, "price": 3, "advisor": 3, "quality": 4, "cleanliness": 4, "overall": 3, "paint": 5}
WAITED = '等了两个小时, 还说"马上好"'


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def order(crm, n: int, delivered_at: datetime, **kw):
    return f.delivered(crm.store_id, delivered_at, customer=f.person(f"客户{n}", f"1520000000{n}"),
                       vehicle=f.car(vin=f"LSVREPORT0000000{n}"), **kw)


async def callback_of(crm, env) -> dict:
    return (await crm.agent.get("/v1/callbacks", params={"repair_order_id": env.subject})).json()["items"][0]


async def at(crm, when: datetime, call):
    crm.clock.set(when)
    r = await call
    assert r.status_code < 300, r.text
    return r.json()


async def seed_week(crm) -> None:
    # Delivered Friday 27 February to Monday 2 March at 11:00: due Monday to Thursday at 17:59,
    # inside the last call window of day 3.
    o1, o2, o3, o4 = (order(crm, n, local(2026, 2, 27, 11) + timedelta(days=n - 1)) for n in range(1, 5))
    o5 = order(crm, 5, local(2026, 3, 6, 19))  # due Monday 9 March 17:59: next week
    x = order(crm, 6, local(2025, 2, 5, 11))  # thirteen months (12 and a grace month) away on Thursday 5 March
    y = order(crm, 7, local(2024, 8, 20, 11))  # long lost
    await crm.deliver(o1, o2, o3, o4, o5, x, y)
    agent, manager = crm.agent, crm.manager

    await at(crm, local(2026, 3, 2, 10, 30), agent.post(f"/v1/callbacks/{(await callback_of(crm, o1))['id']}/survey",
                                                        json={"answers": HAPPY, "verbatim": "很好"}))
    await at(crm, local(2026, 3, 2, 11), manager.post("/v1/jobs/churn_detection/run"))
    await at(crm, local(2026, 3, 3, 11, 30), agent.post(f"/v1/callbacks/{(await callback_of(crm, o2))['id']}/survey",
                                                        json={"answers": GRUMPY, "verbatim": WAITED}))
    complaints = {c["department"]: c for c in (await agent.get("/v1/complaints")).json()["items"]}
    reception, store = complaints["reception"]["id"], complaints["store"]["id"]
    await at(crm, local(2026, 3, 3, 14), manager.post(f"/v1/complaints/{reception}/assign", json={"owner": "chen"}))
    o3_callback = (await callback_of(crm, o3))["id"]
    for minute in (0, 10, 20):
        await at(crm, local(2026, 3, 4, 9, minute),
                 agent.post(f"/v1/callbacks/{o3_callback}/attempts", json={"outcome": "no_answer"}))
    workshop = (await at(crm, local(2026, 3, 4, 10), agent.post("/v1/complaints", json={
        "department": "workshop", "severity": "critical", "description": "brake warning light on again",
        "repair_order_id": o4.subject})))["id"]
    resolved = await at(crm, local(2026, 3, 4, 11),
                        manager.post(f"/v1/complaints/{reception}/resolve", json={"resolution": "express lane"}))
    await at(crm, local(2026, 3, 4, 12), manager.post(f"/v1/complaints/{workshop}/assign", json={"owner": "zhou"}))
    fixed = await at(crm, local(2026, 3, 5, 10),
                     manager.post(f"/v1/complaints/{workshop}/resolve", json={"resolution": "sensor replaced"}))
    await at(crm, local(2026, 3, 5, 11), manager.post("/v1/jobs/churn_detection/run"))
    await at(crm, local(2026, 3, 6, 10, 30), agent.post(f"/v1/callbacks/{resolved['follow_up_callback_id']}/survey",
                                                        json={"answers": {"overall": 2}, "verbatim": "还是慢"}))
    await at(crm, local(2026, 3, 7, 10), agent.post(f"/v1/callbacks/{fixed['follow_up_callback_id']}/survey",
                                                    json={"answers": {"overall": 5}}))
    await at(crm, local(2026, 3, 8, 12), manager.post("/v1/jobs/complaint_escalation/run"))
    assert (await agent.get(f"/v1/complaints/{store}")).json()["escalations"][0]["reason"] == "overdue"


# Worked by hand from seed_week:
# - first surveys O1 and O2. reception = speed+advisor: 5,5,2,3 -> 15/4 = 3.75, one low (speed 2);
#   parts = price: 4,3 -> 3.5; workshop = quality, cleanliness, paint: 5,4,4,4,5 -> 22/5 = 4.4;
#   store = overall: 5,3 -> 4.0, one low (3 is at the overall mark). CSI 4.0.
# - first callbacks due in the week: O1..O4 (O5 is due next Monday). O1 on time, O2 at 11:30,
#   ahead of its 17:59 deadline (on time), O3 unreachable, O4 pending: SLA 2/4. Follow-ups due Fri 11:00 and Sat 10:00, both on time.
#   Ended in the week: 4 surveys and 1 unreachable: reach 4/5.
# - complaints opened: reception (medium) and store (low) from O2, workshop (critical, manual).
#   Resolved twice (reception, workshop), closed once (workshop), reopened once (reception).
#   Escalated: workshop at once (critical), store on Sunday (overdue). At the end reception is
#   open again (due Wed 11 March) and store open past its Sunday 11:30 deadline: 2 open, 1 overdue.
# - churn: Y found lost on Monday, X at risk on Thursday; 7 customers known: 2/7 and 1/7.
EXPECTED = {
    "satisfaction": {
        "surveys": 2, "csi_average": 4.0,
        "by_department": {
            "parts": {"answers": 2, "average": 3.5, "low": 0},
            "reception": {"answers": 4, "average": 3.75, "low": 1},
            "store": {"answers": 2, "average": 4.0, "low": 1},
            "workshop": {"answers": 5, "average": 4.4, "low": 0},
        },
        "by_question": {
            "speed": {"answers": 2, "average": 3.5, "low": 1},
            "price": {"answers": 2, "average": 3.5, "low": 0},
            "advisor": {"answers": 2, "average": 4.0, "low": 0},
            "quality": {"answers": 2, "average": 4.5, "low": 0},
            "paint": {"answers": 1, "average": 5.0, "low": 0},
            "cleanliness": {"answers": 2, "average": 4.0, "low": 0},
            "overall": {"answers": 2, "average": 4.0, "low": 1},
        },
    },
    "callbacks": {
        "first": {"due": 4, "completed_on_time": 2, "completed_late": 0, "unreachable": 1, "cancelled": 0,
                  "pending": 1, "sla_rate": 0.5},
        "follow_up": {"due": 2, "completed_on_time": 2, "completed_late": 0, "unreachable": 0, "cancelled": 0,
                      "pending": 0, "sla_rate": 1.0},
        "closed": 5, "reached": 4, "reach_rate": 0.8,
    },
    "complaints": {
        "opened": 3,
        "opened_by_department": {"reception": 1, "store": 1, "workshop": 1},
        "opened_by_severity": {"critical": 1, "low": 1, "medium": 1},
        "opened_by_source": {"manual": 1, "survey": 2},
        "resolved": 2, "closed": 1, "reopened": 1,
        "escalated": {"critical": 1, "overdue": 1},
        "open_at_end": 2, "overdue_at_end": 1,
        "outcomes": {"closed": 1, "awaiting_follow_up": 0, "in_progress": 2, "reopened": 1},
    },
    "churn": {"detected": 2, "became_lost": 1, "came_back": 0, "at_risk_at_end": 1, "lost_at_end": 1,
              "customers_at_end": 7, "rate": 0.2857, "lost_rate": 0.1429},
}


async def test_weekly_report_figures_equal_the_hand_computation(crm):
    await seed_week(crm)
    crm.clock.set(local(2026, 3, 9, 9))
    r = await crm.manager.get("/v1/reports/weekly", params={"week": "2026-W10"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert {k: report[k] for k in EXPECTED} == EXPECTED
    assert [(v["kind"], v["low_answers"], v["verbatim"]) for v in report["verbatims"]] == [
        ("first", {"reception": {"speed": 2}, "store": {"overall": 3}}, WAITED),
        ("follow_up", {"store": {"overall": 2}}, "还是慢"),
    ]
    assert report["starts_at"] == "2026-03-01T16:00:00Z" and report["ends_at"] == "2026-03-08T16:00:00Z"
    assert report["stored"] is False and report["timezone"] == "Asia/Shanghai"


async def test_the_monday_run_stores_last_weeks_report_once_and_lists_it(crm):
    await seed_week(crm)
    crm.clock.set(local(2026, 3, 9, 0, 5))
    weekly = JOBS["weekly_report"]
    await run_scheduled(weekly, crm.app.state.runtime)
    listed = (await crm.manager.get("/v1/reports")).json()["items"]
    assert [(r["kind"], r["period"], r["trigger"]) for r in listed] == [("weekly", "2026-W10", "schedule")]
    stored = (await crm.manager.get(f"/v1/reports/{listed[0]['id']}")).json()
    assert stored["stored"] is True and {k: stored[k] for k in EXPECTED} == EXPECTED
    # Later the same day, by schedule or by hand, nothing changes; later data does not alter it.
    crm.clock.set(local(2026, 3, 9, 15))
    await run_scheduled(weekly, crm.app.state.runtime)
    r = await crm.manager.post("/v1/jobs/weekly_report/run")
    assert r.json()["stores"][0]["result"] == {"period": "2026-W10", "generated": 0}
    await crm.deliver(order(crm, 8, local(2026, 3, 6, 9)))
    assert len((await crm.manager.get("/v1/reports")).json()["items"]) == 1
    kept = (await crm.manager.get("/v1/reports/weekly", params={"week": "2026-W10"})).json()
    assert kept["id"] == listed[0]["id"] and kept["churn"]["customers_at_end"] == 7
    fresh = (await crm.manager.get("/v1/reports/weekly", params={"week": "2026-W10", "fresh": "true"})).json()
    assert fresh["stored"] is False and fresh["churn"]["customers_at_end"] == 8


async def test_the_monthly_report_is_made_from_the_third_in_store_time(crm):
    monthly = JOBS["monthly_report"]
    crm.clock.set(local(2026, 4, 2, 23, 59))
    r = await crm.manager.post("/v1/jobs/monthly_report/run")
    assert r.json()["stores"][0]["result"]["period"] == "2026-02"  # March's waits for the 3rd
    crm.clock.set(local(2026, 4, 3, 0, 1))  # still 2 April in UTC
    await run_scheduled(monthly, crm.app.state.runtime)
    periods = [r["period"] for r in (await crm.manager.get("/v1/reports", params={"kind": "monthly"})).json()["items"]]
    assert sorted(periods) == ["2026-02", "2026-03"]


async def test_a_report_comes_as_csv_with_every_figure_and_the_customers_words(crm):
    await seed_week(crm)
    crm.clock.set(local(2026, 3, 9, 9))
    r = await crm.manager.get("/v1/reports/weekly", params={"week": "2026-W10", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="crm-weekly-2026-W10-' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["section", "metric", "value"]
    figures = {(s, m): v for s, m, v in rows[1:]}
    assert figures[("callbacks", "first.sla_rate")] == "0.5"
    assert figures[("satisfaction", "by_department.reception.average")] == "3.75"
    assert figures[("complaints", "overdue_at_end")] == "1"
    assert figures[("churn", "rate")] == "0.2857"
    assert figures[("verbatims", "0.verbatim")] == WAITED


async def test_report_periods_are_checked_and_reports_are_the_stores_own(crm):
    for week in ("2026-10", "2026-W54", "W10"):
        r = await crm.manager.get("/v1/reports/weekly", params={"week": week})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "week", week
    r = await crm.manager.get("/v1/reports/monthly", params={"month": "2026-13"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "month"
    r = await crm.hq.get("/v1/reports/weekly", params={"week": "2026-W10"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "store_id"
    r = await crm.hq.get("/v1/reports/monthly", params={"month": "2026-02", "store_id": crm.store_id})
    assert r.status_code == 200 and r.json()["period"] == "2026-02"
    stranger = crm.as_("store_manager", "manager-bj", store_id=crm.other_store_id)
    r = await stranger.get("/v1/reports/weekly", params={"week": "2026-W10", "store_id": crm.store_id})
    assert r.status_code == 404
