"""Reports that name people (issue 17): the daily tally of problem customers by department,
the weekly report's problem customers (stored on Monday) and the monthly complaint table
(stored on the 3rd), each as JSON, CSV and xlsx. A small week of complaints at one store
is made through the API below, and every row expected is written out by hand from it."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from services.crm.scheduling.service import JOBS, run_scheduled
from tests.crm import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIVES = {"speed": 5, "price": 5, "advisor": 5, "quality": 5, "cleanliness": 5, "overall": 5}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADER = [
    "投诉编号 Complaint", "登记时间 Opened", "客户 Customer", "电话 Phone", "维修单号 Repair order",
    "部门 Department", "严重程度 Severity", "问题 Problem", "客户原话 Customer's words", "责任人 Owner",
    "承诺完成日期 Committed date", "延期原因 Reason for a later date", "处理措施 What was done", "状态 Status",
    "结果 Result", "二次回访评分 Second callback score", "客户反应 Customer's reaction",
    "二次回访时间 Second callback at",
]
CLOSED = "已解决,客户满意 resolved, customer satisfied"
HANDLING = "处理中 being handled"
AGAIN = "客户仍不满意,重新处理 customer still unsatisfied, being handled again"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


async def at(crm, when: datetime, call) -> dict:
    crm.clock.set(when)
    r = await call
    assert r.status_code < 300, r.text
    return r.json()


async def follow_up_of(crm, complaint_id: str) -> str:
    return (await crm.agent.get(f"/v1/complaints/{complaint_id}")).json()["follow_up_callback_id"]


class Week:
    """What seed_week made: the customers' orders and the complaints, by name."""

    def __init__(self) -> None:
        self.orders: dict[str, dict] = {}
        self.complaints: dict[str, str] = {}


async def seed_week(crm) -> Week:
    """ISO week 2026-W10 (Monday 2 to Sunday 8 March, Shanghai) at one store:

    - 甲's survey on Monday 10:30 scores speed 2: a reception complaint (medium), resolved
      Tuesday, and on the second callback Thursday 甲 is satisfied (5, "现在满意了").
    - 丙's parts not in, Monday 23:30 (still Monday in Shanghai): assigned to parts-sun, who
      commits Friday 13 March for backordered parts.
    - 乙 complains Tuesday 00:30 that nobody answers the phone (store): left open.
    - 乙's brakes, Wednesday (workshop, high): resolved, then 2 on the second callback Friday
      without a word: reopened, due again 48 hours later.
    - Not in the week: 丁's complaint of Friday 27 February, 戊's of Monday 9 March, and a
      complaint of another store on the Monday."""
    week = Week()
    people = {"甲": ("15200000001", local(2026, 2, 27, 11)), "乙": ("15200000002", local(2026, 2, 28, 11)),
              "丙": ("15200000003", local(2026, 3, 1, 11)), "丁": ("15200000004", local(2026, 2, 26, 11)),
              "戊": ("15200000005", local(2026, 3, 1, 12))}
    for n, (name, (phone, delivered_at)) in enumerate(people.items(), start=1):
        env = f.delivered(crm.store_id, delivered_at, customer=f.person(f"客户{name}", phone),
                          vehicle=f.car(vin=f"LSVCLERKREPORT00{n}"))
        await crm.deliver(env)
        week.orders[name] = {"id": env.subject, "number": env.data["number"], "phone": phone}
    agent, manager = crm.agent, crm.manager

    def manual(name: str, department: str, severity: str, description: str):
        return manager.post("/v1/complaints", json={"department": department, "severity": severity,
                                                    "description": description,
                                                    "repair_order_id": week.orders[name]["id"]})

    week.complaints["丁"] = (await at(crm, local(2026, 2, 27, 15),
                                     manual("丁", "reception", "low", "态度差 rude")))["id"]
    [first] = (await agent.get("/v1/callbacks", params={"repair_order_id": week.orders["甲"]["id"]})).json()["items"]
    surveyed = await at(crm, local(2026, 3, 2, 10, 30), agent.post(f"/v1/callbacks/{first['id']}/survey", json={
        "answers": {**FIVES, "speed": 2, "overall": 4}, "verbatim": "等了两个小时"}))
    [reception] = surveyed["survey"]["complaints_opened"]
    week.complaints["甲"] = reception
    await at(crm, local(2026, 3, 2, 11), manager.post(f"/v1/complaints/{reception}/assign", json={"owner": "chen"}))
    await at(crm, local(2026, 3, 2, 12), crm.as_("store_manager", "manager-bj", store_id=crm.other_store_id).post(
        "/v1/complaints", json={"department": "parts", "severity": "low", "description": "another store's"}))
    week.complaints["丙"] = (await at(crm, local(2026, 3, 2, 23, 30),
                                     manual("丙", "parts", "low", "配件未到 parts not in")))["id"]
    week.complaints["乙 store"] = (await at(crm, local(2026, 3, 3, 0, 30), manual(
        "乙", "store", "low", "前台电话没人接 nobody answers the phone")))["id"]
    await at(crm, local(2026, 3, 3, 10), manager.post(f"/v1/complaints/{reception}/resolve",
                                                      json={"resolution": "开通快速通道 express lane"}))
    await at(crm, local(2026, 3, 3, 11), manager.post(f"/v1/complaints/{week.complaints['丙']}/assign",
                                                      json={"owner": "parts-sun"}))
    await at(crm, local(2026, 3, 3, 11, 30), crm.as_("service_manager", "parts-sun").post(
        f"/v1/complaints/{week.complaints['丙']}/due-date",
        json={"due_at": local(2026, 3, 13, 18).isoformat(), "reason": "parts_backordered"}))
    brakes = week.complaints["乙 workshop"] = (await at(crm, local(2026, 3, 4, 10), manual(
        "乙", "workshop", "high", "刹车异响 brake noise")))["id"]
    await at(crm, local(2026, 3, 4, 11), manager.post(f"/v1/complaints/{brakes}/assign", json={"owner": "zhou"}))
    await at(crm, local(2026, 3, 4, 15), manager.post(f"/v1/complaints/{brakes}/resolve",
                                                      json={"resolution": "更换刹车片 pads replaced"}))
    await at(crm, local(2026, 3, 5, 10), agent.post(
        f"/v1/callbacks/{await follow_up_of(crm, reception)}/survey",
        json={"answers": {"overall": 5}, "verbatim": "现在满意了"}))
    await at(crm, local(2026, 3, 6, 15, 30), agent.post(f"/v1/callbacks/{await follow_up_of(crm, brakes)}/survey",
                                                         json={"answers": {"overall": 2}}))
    return week


def row(week: Week, key: str, **cells) -> dict:
    """A problem customer's row as the JSON gives it; the cells not named are empty."""
    name = key.split()[0]
    order = week.orders[name]
    return {"complaint_id": week.complaints[key], "customer_id": cells.pop("customer_id", None),
            "customer_name": f"客户{name}", "phone": order["phone"], "repair_order_number": order["number"],
            "customer_words": None, "owner": None, "due_reason": None, "handling": None,
            "second_callback_overall": None, "reaction": None, "second_callback_at": None, **cells}


def expected_week(week: Week) -> list[dict]:
    """The week's problem customers, oldest first, as they stood on Monday 9 March."""
    return [
        row(week, "甲", opened_at=local(2026, 3, 2, 10, 30), department="前台接待 reception", severity="medium",
            problem=f"Low survey answers after repair order {week.orders['甲']['number']}: speed 2/5",
            customer_words="等了两个小时", owner="chen", due_at=local(2026, 3, 7, 10, 30),
            handling="开通快速通道 express lane", status="closed", result=CLOSED, second_callback_overall=5,
            reaction="现在满意了", second_callback_at=local(2026, 3, 5, 10)),
        row(week, "丙", opened_at=local(2026, 3, 2, 23, 30), department="配件 parts", severity="low",
            problem="配件未到 parts not in", owner="parts-sun", due_at=local(2026, 3, 13, 18),
            due_reason="parts_backordered", status="assigned", result=HANDLING),
        row(week, "乙 store", opened_at=local(2026, 3, 3, 0, 30), department="店总 store", severity="low",
            problem="前台电话没人接 nobody answers the phone", due_at=local(2026, 3, 8, 0, 30), status="open",
            result=HANDLING),
        # Reopened by the 2 on Friday 15:30: due 48 hours later, as a high complaint is.
        row(week, "乙 workshop", opened_at=local(2026, 3, 4, 10), department="车间 workshop", severity="high",
            problem="刹车异响 brake noise", owner="zhou", due_at=local(2026, 3, 8, 15, 30),
            handling="更换刹车片 pads replaced", status="assigned", result=AGAIN, second_callback_overall=2,
            reaction="不满意 not satisfied", second_callback_at=local(2026, 3, 6, 15, 30)),
    ]


# In the downloads, what the JSON gives as codes reads Chinese first, English beside.
WORDS = {"severity": {"low": "低 low", "medium": "中 medium", "high": "高 high"},
         "status": {"open": "待处理 open", "assigned": "处理中 assigned", "closed": "已关闭 closed"},
         "due_reason": {"parts_backordered": "配件缺货待到 parts are backordered"}}
FIELDS = ["complaint_id", "opened_at", "customer_name", "phone", "repair_order_number", "department", "severity",
          "problem", "customer_words", "owner", "due_at", "due_reason", "handling", "status", "result",
          "second_callback_overall", "reaction", "second_callback_at"]


def grid(rows: list[dict]) -> list[list]:
    """The download's data rows: the columns in order, times as the store's wall clock."""
    def cell(field: str, value):
        if isinstance(value, datetime):
            return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        return WORDS.get(field, {}).get(value, value)

    return [[cell(field, r[field]) for field in FIELDS] for r in rows]


def comparable(items: list[dict]) -> list[dict]:
    """The JSON's rows with times read back as instants and customer ids left out (they are made by CRM)."""
    out = []
    for item in items:
        item = dict(item)
        for key in ("opened_at", "due_at", "second_callback_at"):
            if item[key] is not None:
                item[key] = datetime.fromisoformat(item[key])
        item["customer_id"] = None
        out.append(item)
    return out


def sheet_rows(content: bytes) -> tuple[str, list[list]]:
    book = load_workbook(io.BytesIO(content))
    sheet = book.active
    assert sheet is not None
    return sheet.title, [list(r) for r in sheet.iter_rows(values_only=True)]


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())  # spreadsheet programs read the Chinese right with it
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def as_text(rows: list[list]) -> list[list[str]]:
    return [["" if v is None else str(v) for v in r] for r in rows]


async def test_the_weekly_problem_customers_are_stored_on_monday_and_equal_the_hand_computation(crm):
    week = await seed_week(crm)
    crm.clock.set(local(2026, 3, 9, 0, 5))
    await run_scheduled(JOBS["weekly_report"], crm.app.state.runtime)
    # Next week's first complaint changes nothing in last week's list.
    await at(crm, local(2026, 3, 9, 9), crm.manager.post("/v1/complaints", json={
        "department": "reception", "severity": "low", "description": "late",
        "repair_order_id": week.orders["戊"]["id"]}))
    url, params = "/v1/reports/weekly/problem-customers", {"week": "2026-W10"}
    r = await crm.manager.get(url, params=params)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["stored"] is True and report["trigger"] == "schedule" and report["period"] == "2026-W10"
    assert comparable(report["problem_customers"]) == expected_week(week)
    assert report["complaints"]["opened"] == 4

    r = await crm.manager.get(url, params={**params, "format": "xlsx"})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"] == f'attachment; filename="crm-weekly-2026-W10-{crm.store_id}.xlsx"'
    title, rows = sheet_rows(r.content)
    assert title == "问题客户 2026-W10"
    assert rows == [HEADER, *grid(expected_week(week))]

    r = await crm.manager.get(url, params={**params, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert csv_rows(r.content) == [HEADER, *as_text(grid(expected_week(week)))]


async def test_the_monthly_complaint_table_of_the_third_shows_each_reaction_on_the_second_callback(crm):
    week = await seed_week(crm)
    brakes = week.complaints["乙 workshop"]
    week.complaints["戊"] = (await at(crm, local(2026, 3, 9, 9), crm.manager.post("/v1/complaints", json={
        "department": "reception", "severity": "low", "description": "排队太久 long queue",
        "repair_order_id": week.orders["戊"]["id"]})))["id"]
    # The brakes are done again and 乙 is satisfied on the second callback of that round.
    await at(crm, local(2026, 3, 10, 10), crm.manager.post(f"/v1/complaints/{brakes}/resolve",
                                                           json={"resolution": "更换卡钳 caliper replaced"}))
    await at(crm, local(2026, 3, 12, 16), crm.agent.post(f"/v1/callbacks/{await follow_up_of(crm, brakes)}/survey",
                                                          json={"answers": {"overall": 4}, "verbatim": "这次好了"}))
    crm.clock.set(local(2026, 4, 3, 0, 5))  # the 3rd, store time (still 2 April in UTC)
    await run_scheduled(JOBS["monthly_report"], crm.app.state.runtime)
    # Later changes do not alter the table of the 3rd.
    await at(crm, local(2026, 4, 3, 9), crm.manager.post(f"/v1/complaints/{week.complaints['戊']}/assign",
                                                         json={"owner": "chen"}))

    expected = expected_week(week)
    expected[3] = {**expected[3], "handling": "更换卡钳 caliper replaced", "status": "closed", "result": CLOSED,
                   "second_callback_overall": 4, "reaction": "这次好了", "second_callback_at": local(2026, 3, 12, 16)}
    expected.append(row(week, "戊", opened_at=local(2026, 3, 9, 9), department="前台接待 reception", severity="low",
                        problem="排队太久 long queue", due_at=local(2026, 3, 14, 9), status="open", result=HANDLING))

    url, params = "/v1/reports/monthly/complaints", {"month": "2026-03"}
    report = (await crm.manager.get(url, params=params)).json()
    assert report["stored"] is True and report["period"] == "2026-03"
    assert comparable(report["problem_customers"]) == expected

    r = await crm.manager.get(url, params={**params, "format": "xlsx"})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    title, rows = sheet_rows(r.content)
    assert title == "投诉表 2026-03"
    assert rows == [HEADER, *grid(expected)]
    r = await crm.manager.get(url, params={**params, "format": "csv"})
    assert 'filename="crm-complaints-2026-03-' in r.headers["content-disposition"]
    assert csv_rows(r.content) == [HEADER, *as_text(grid(expected))]


async def test_the_daily_tally_counts_and_names_the_days_problem_customers_by_department(crm):
    week = await seed_week(crm)
    crm.clock.set(local(2026, 3, 9, 9))
    url = "/v1/reports/daily"
    # Monday in Shanghai: 甲 at reception at 10:30 and 丙 at parts at 23:30 (15:30 UTC); 乙's
    # complaint at 00:30 on Tuesday is Monday in UTC but Tuesday's in the store; another
    # store's complaint is not counted.
    monday = (await crm.manager.get(url, params={"day": "2026-03-02"})).json()
    assert monday["by_department"] == {"前台接待 reception": 1, "配件 parts": 1, "车间 workshop": 0, "店总 store": 0}
    assert [(p["customer_name"], p["complaint_id"]) for p in monday["problem_customers"]] == [
        ("客户甲", week.complaints["甲"]), ("客户丙", week.complaints["丙"])]
    tuesday = (await crm.manager.get(url, params={"day": "2026-03-03"})).json()
    assert tuesday["by_department"] == {"前台接待 reception": 0, "配件 parts": 0, "车间 workshop": 0, "店总 store": 1}
    assert [p["customer_name"] for p in tuesday["problem_customers"]] == ["客户乙"]
    thursday = (await crm.manager.get(url, params={"day": "2026-03-05"})).json()
    assert thursday["by_department"] == {"前台接待 reception": 0, "配件 parts": 0, "车间 workshop": 0, "店总 store": 0}
    assert thursday["problem_customers"] == []
    # Without a day: the store's today, Wednesday 4 March at 23:59 (15:59 UTC): 乙's brakes.
    crm.clock.set(local(2026, 3, 4, 23, 59))
    today = (await crm.manager.get(url)).json()
    assert today["day"] == "2026-03-04" and today["by_department"]["车间 workshop"] == 1

    r = await crm.manager.get(url, params={"day": "2026-03-02", "format": "xlsx"})
    title, rows = sheet_rows(r.content)
    assert title == "问题客户 2026-03-02"
    assert rows[0] == HEADER
    assert [r[:6] for r in rows[1:]] == [
        [week.complaints["甲"], "2026-03-02 10:30", "客户甲", "15200000001", week.orders["甲"]["number"],
         "前台接待 reception"],
        [week.complaints["丙"], "2026-03-02 23:30", "客户丙", "15200000003", week.orders["丙"]["number"], "配件 parts"]]
    r = await crm.manager.get(url, params={"day": "2026-03-02", "format": "csv"})
    assert [line[:3] for line in csv_rows(r.content)] == [
        HEADER[:3], [week.complaints["甲"], "2026-03-02 10:30", "客户甲"],
        [week.complaints["丙"], "2026-03-02 23:30", "客户丙"]]
