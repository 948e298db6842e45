"""The appraisal as a table to download: one row per person and store, headers Chinese
first with English beside, money in fen as the JSON has it."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from services.network.appraisals.schemas import AppraisalReport, PersonAppraisal, StoreAppraisal

Cell = str | int | Decimal | None


def _get(section: str, *path: str) -> Callable[[PersonAppraisal], Cell]:
    def read(person: PersonAppraisal) -> Cell:
        value: Any = getattr(person, section)
        for name in path:
            if value is None:
                return None
            value = getattr(value, name)
        return value
    return read


def _targets(person: PersonAppraisal) -> str:
    return "; ".join(f"{t.measure} {t.actual if t.actual is not None else '-'}/{t.target}"
                     f" ({t.attained if t.attained is not None else '-'})" for t in person.targets)


COLUMNS: list[tuple[str, Callable[[PersonAppraisal], Cell]]] = [
    ("姓名 name", lambda p: p.name or p.person_id),
    ("工号 employee no", lambda p: p.employee_no),
    ("岗位 role", lambda p: ", ".join(p.roles)),
    ("交车台次 orders delivered", _get("advisor", "orders_delivered")),
    ("工时收入 labour fen", _get("advisor", "revenue_fen", "labour")),
    ("配件收入 parts fen", _get("advisor", "revenue_fen", "parts")),
    ("精品收入 accessories fen", _get("advisor", "revenue_fen", "accessories")),
    ("毛利 margin fen", _get("advisor", "gross_margin", "margin_fen")),
    ("毛利率 margin rate", _get("advisor", "gross_margin", "margin_rate")),
    ("满意度 CSI", _get("advisor", "csi", "average")),
    ("准时交车率 on-time rate", _get("advisor", "on_time", "rate")),
    ("基盘客户 customer base", _get("advisor", "customer_base", "vehicles")),
    ("保有率 retention", _get("advisor", "customer_base", "retention_rate")),
    ("完工工单 jobs passed", _get("technician", "jobs_passed")),
    ("定额工时 flat-rate hours", _get("technician", "flat_rate_hours")),
    ("实际工时 clocked hours", _get("technician", "clocked_hours")),
    ("工效 efficiency", _get("technician", "efficiency")),
    ("返修 comebacks", _get("technician", "comebacks")),
    ("外呼次数 calls made", _get("information_clerk", "calls_made")),
    ("接通率 reach rate", _get("information_clerk", "reach_rate")),
    ("回访及时率 callback SLA", _get("information_clerk", "sla_rate")),
    ("问题客户关闭 problem customers closed", _get("information_clerk", "problem_customers_closed")),
    ("索赔提交 claims filed", _get("warranty_clerk", "claims_filed")),
    ("一次通过率 first-pass approval", _get("warranty_clerk", "first_pass_approval_rate")),
    ("拒赔金额 rejected fen", _get("warranty_clerk", "rejected_fen")),
    ("旧件按时返回率 returns on time", _get("warranty_clerk", "part_returns_on_time_rate")),
    ("配件满足率（门店） fill rate (store)", _get("parts", "fill_rate")),
    ("目标 实际/目标 (达成) targets actual/target (attained)", _targets),
]
HEADERS = ["门店 store", *(header for header, _ in COLUMNS)]


def table(report: AppraisalReport) -> list[list[Cell]]:
    rows: list[list[Cell]] = [list(HEADERS)]
    for store in report.stores:
        rows.extend(_row(store, person) for person in store.people)
    return rows


def _row(store: StoreAppraisal, person: PersonAppraisal) -> list[Cell]:
    return [store.store_code, *(read(person) for _, read in COLUMNS)]


def to_csv(rows: list[list[Cell]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([["" if v is None else v for v in r] for r in rows])
    return "\ufeff" + buffer.getvalue()  # a byte order mark: spreadsheet programs read the Chinese right


def to_xlsx(rows: list[list[Cell]], title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its sheet
    sheet.title = title[:31]
    for row in rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    sheet.freeze_panes = "B2"
    for index, header in enumerate(HEADERS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(header) + 2))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
