"""Reports that name people (job descriptions 篇19(三)1-4): each complaint with its
customer, what was done, the result and the customer's reaction on the second callback.
The weekly report (from Monday) and the monthly complaint table (from the 3rd) carry
them; the daily tally counts them per department. Each downloads as JSON, CSV or xlsx,
with Chinese headers and English beside them, as store managers keep them in Excel."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.crm.complaints import repository as complaints
from services.crm.complaints.models import Complaint
from services.crm.complaints.service import SATISFIED_FROM
from services.crm.customers import repository as customers
from services.crm.reports import repository
from services.crm.reports.schemas import ProblemCustomer

DEPARTMENTS = {"reception": "前台接待", "parts": "配件", "workshop": "车间", "store": "店总"}
# (field, header): the column order of every download.
COLUMNS: list[tuple[str, str]] = [
    ("complaint_id", "投诉编号 Complaint"),
    ("opened_at", "登记时间 Opened"),
    ("customer_name", "客户 Customer"),
    ("phone", "电话 Phone"),
    ("repair_order_number", "维修单号 Repair order"),
    ("department", "部门 Department"),
    ("severity", "严重程度 Severity"),
    ("problem", "问题 Problem"),
    ("customer_words", "客户原话 Customer's words"),
    ("owner", "责任人 Owner"),
    ("due_at", "承诺完成日期 Committed date"),
    ("due_reason", "延期原因 Reason for a later date"),
    ("handling", "处理措施 What was done"),
    ("status", "状态 Status"),
    ("result", "结果 Result"),
    ("second_callback_overall", "二次回访评分 Second callback score"),
    ("reaction", "客户反应 Customer's reaction"),
    ("second_callback_at", "二次回访时间 Second callback at"),
]


def result_of(complaint: Complaint) -> str:
    if complaint.status == "closed":
        return "已解决,客户满意 resolved, customer satisfied" if complaint.resolutions else "已关闭 closed"
    if complaint.status == "resolved":
        return "已处理,待二次回访 handled, awaiting the second callback"
    if complaint.reopened:
        return "客户仍不满意,重新处理 customer still unsatisfied, being handled again"
    return "处理中 being handled"


async def rows_for(session: AsyncSession, opened: list[Complaint]) -> list[ProblemCustomer]:
    """One row per complaint, oldest first, as things stand now."""
    opened = sorted(opened, key=lambda c: (c.opened_at, c.id))
    people = await customers.customers_by_id(session, {c.customer_id for c in opened if c.customer_id})
    orders = await repository.orders_by_id(session, {c.repair_order_id for c in opened if c.repair_order_id})
    latest = {}
    for survey in await repository.follow_up_surveys(session, [c.id for c in opened]):  # oldest first
        latest[survey.complaint_id] = survey
    rows = []
    for c in opened:
        person = people.get(c.customer_id or "")
        order = orders.get(c.repair_order_id or "")
        second = latest.get(c.id)
        rows.append(ProblemCustomer(
            complaint_id=c.id, opened_at=c.opened_at, customer_id=c.customer_id,
            customer_name=person.name if person else None, phone=person.phone if person else None,
            repair_order_number=order.number if order else None,
            department=f"{DEPARTMENTS.get(c.department, c.department)} {c.department}", severity=c.severity,
            problem=c.description, customer_words=c.verbatim, owner=c.owner, due_at=c.due_at,
            due_reason=c.due_reason, handling=c.resolution, status=c.status, result=result_of(c),
            second_callback_overall=second.overall if second else None,
            reaction=(second.verbatim or ("满意 satisfied" if (second.overall or 0) >= SATISFIED_FROM
                                          else "不满意 not satisfied")) if second else None,
            second_callback_at=second.recorded_at if second else None,
        ))
    return rows


async def opened_between(session: AsyncSession, store_id: str, start: datetime, end: datetime) -> list[Complaint]:
    return [c for c in await complaints.store_complaints_during(session, store_id, start, end)
            if start <= c.opened_at < end]


def tally(rows: list[ProblemCustomer]) -> dict[str, int]:
    counts = {f"{zh} {code}": 0 for code, zh in DEPARTMENTS.items()
              if code in {q["department"] for q in reference.survey()["questions"]}}
    for row in rows:
        counts[row.department] = counts.get(row.department, 0) + 1
    return counts


SEVERITIES = {"low": "低 low", "medium": "中 medium", "high": "高 high", "critical": "紧急 critical"}
STATUSES = {"open": "待处理 open", "assigned": "处理中 assigned", "resolved": "已处理 resolved",
            "closed": "已关闭 closed"}


def _words(field: str, value):
    """A code as the store manager reads it in the download: Chinese, then English (the JSON keeps the code)."""
    if value is None:
        return None
    if field == "severity":
        return SEVERITIES.get(value, value)
    if field == "status":
        return STATUSES.get(value, value)
    if field == "due_reason":
        reason = next((r for r in reference.load("complaint_rules")["later_due_reasons"] if r["code"] == value), None)
        return f"{reason['zh']} {reason['en']}" if reason else value
    return value


def _cell(value, zone) -> str | int | None:
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


def table(rows: list[ProblemCustomer], zone) -> list[list]:
    """Header row, then one row per complaint, times in the store's own time."""
    out: list[list] = [[header for _, header in COLUMNS]]
    for row in rows:
        data = row.model_dump()
        out.append([_cell(_words(field, data[field]), zone) for field, _ in COLUMNS])
    return out


def to_csv(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([["" if v is None else v for v in r] for r in rows])
    return "\ufeff" + buffer.getvalue()  # a byte order mark: spreadsheet programs read the Chinese right


def to_xlsx(rows: list[list], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its sheet
    sheet.title = title[:31]
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "A2"
    for index, (_, header) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(header) + 4))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
