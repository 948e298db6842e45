"""Warranty rules of data/warranty_policy.json as pure functions: what a claim line is
worth and what the automatic precheck finds. Kept apart from service.py because they
need no database and are the part HQ argues about; amounts are integer fen, rounded
half up once per line."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from services.common import reference
from services.common.clock import add_months
from services.network.repair_orders.schemas import OrderLine


def policy() -> dict:
    return reference.warranty_policy()


@cache
def reason_texts() -> dict[str, str]:
    codes = reference.load("claim_reason_codes")
    return {c["code"]: c["text"] for c in codes["reject"] + codes["adjust"]}


@cache
def reject_codes() -> frozenset[str]:
    return frozenset(c["code"] for c in reference.load("claim_reason_codes")["reject"])


@cache
def adjust_codes() -> frozenset[str]:
    return frozenset(c["code"] for c in reference.load("claim_reason_codes")["adjust"])


def to_fen(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _decimal(text: str | None) -> Decimal:
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() and value > 0 else Decimal(0)


def finding(code: str, detail: str, line_id: str | None = None, proposed_adjustment: str | None = None) -> dict[str, Any]:
    return {"code": code, "text": reason_texts()[code], "line_id": line_id, "detail": detail,
            "proposed_adjustment": proposed_adjustment}


def plan_for(category: str | None) -> dict | None:
    for plan in policy()["coverage"]:
        if category in plan["categories"]:
            return plan
    return None


def coverage(category: str | None, sold_at: date | None, repair_date: date, mileage_km: int) -> dict[str, Any]:
    """Whether the vehicle is inside the plan covering `category`. Months count from the
    first sale to the day the order was opened; an unknown sale date makes the month test
    unknown, never a failure."""
    plan = plan_for(category)
    if plan is None:
        return {"plan": None, "status": "not_covered", "detail": f"category {category} is in no warranty plan"}
    months, km = plan["months"], plan["km"]
    result: dict[str, Any] = {"plan": plan["name"], "months_limit": months, "km_limit": km, "mileage_km": mileage_km,
                              "sold_at": sold_at.isoformat() if sold_at else None, "covered_until": None}
    reasons = []
    if km is not None and mileage_km > km:
        reasons.append(f"{mileage_km} km is above the {plan['name']} limit of {km} km")
    months_unknown = False
    if months is not None:
        if sold_at is None:
            months_unknown = True
        else:
            until = add_months(sold_at, months)
            result["covered_until"] = until.isoformat()
            if repair_date > until:
                reasons.append(f"repair on {repair_date} is after the {plan['name']} cover ended on {until}")
    if reasons:
        result.update(status="out", detail="; ".join(reasons))
    elif months_unknown:
        result.update(status="unknown", detail="the vehicle's sale date is unknown, so its age cannot be checked")
    else:
        result.update(status="within", detail="")
    return result


@dataclass
class PricedLine:
    line_id: str
    kind: str
    op_code: str | None
    part_no: str | None
    description: str
    quantity: str
    unit_price_fen: int
    order_amount_fen: int
    flat_rate_hours: str | None
    paid_hours: str | None
    reimbursable_unit_fen: str | None
    claimed_fen: int
    category: str | None
    coverage: dict[str, Any]
    findings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def price_line(line: OrderLine, repair_date: date, sold_at: date | None, mileage_km: int) -> PricedLine:
    """Labour: warranty rate × min(claimed hours, flat-rate hours). Parts: dealer cost plus
    the handling percentage, per unit, times quantity. Sublet and fees: nothing."""
    rules = policy()
    quantity = _decimal(line.quantity)
    base = dict(line_id=line.line_id, kind=line.kind, op_code=line.op_code, part_no=line.part_no,
                description=line.description, quantity=line.quantity, unit_price_fen=line.unit_price_fen,
                order_amount_fen=line.amount_fen, flat_rate_hours=None, paid_hours=None, reimbursable_unit_fen=None)
    findings: list[dict[str, Any]] = []
    if line.kind == "labor":
        operation = reference.labor_operations().get(line.op_code or "")
        category = operation["category"] if operation else None
        rate = Decimal(rules["warranty_labour_rate_fen_per_hour"])
        if operation is None:
            findings.append(finding("R01", f"labour operation {line.op_code} is not in the brand's catalogue", line.line_id))
            paid = quantity
        else:
            flat = Decimal(str(operation["flat_rate_hours"]))
            base["flat_rate_hours"] = str(flat)
            paid = min(quantity, flat)
            if not operation["warranty_eligible"]:
                findings.append(finding("R01", f"{line.op_code} ({operation['description']}) is never warranty work", line.line_id))
            if quantity > flat:
                findings.append(finding("R03", f"{quantity} h claimed, flat rate is {flat} h", line.line_id, "A01"))
        base["paid_hours"] = str(paid)
        claimed = to_fen(rate * paid)
    elif line.kind == "part":
        part = reference.parts().get(line.part_no or "")
        category = part["category"] if part else None
        if part is None:
            findings.append(finding("R01", f"part {line.part_no} is not in the brand's catalogue", line.line_id))
            claimed = 0
        else:
            unit = Decimal(part["dealer_cost_fen"]) * (100 + Decimal(rules["parts_handling_percent"])) / 100
            base["reimbursable_unit_fen"] = str(unit)
            claimed = to_fen(unit * quantity)
            if not part["warranty_eligible"]:
                findings.append(finding("R01", f"{line.part_no} ({part['name']}) is never reimbursed by warranty", line.line_id))
            if Decimal(line.unit_price_fen) > unit:
                findings.append(finding("R04", f"unit price {line.unit_price_fen} fen is above the reimbursable {unit} fen",
                                        line.line_id, "A02"))
    else:
        category = None
        claimed = 0
        findings.append(finding("R01", f"a {line.kind} line is not reimbursed by warranty", line.line_id, "A03"))
    if line.kind in ("labor", "part"):
        cover = coverage(category, sold_at, repair_date, mileage_km)
    else:
        cover = {"plan": None, "status": "not_covered", "detail": f"{line.kind} lines are not covered"}
    if cover["status"] == "out":
        findings.append(finding("R02", cover["detail"], line.line_id))
    elif cover["status"] == "not_covered" and not any(f["code"] == "R01" for f in findings):
        findings.append(finding("R01", cover["detail"], line.line_id))
    return PricedLine(**base, claimed_fen=claimed, category=category, coverage=cover, findings=findings)


def precheck(*, lines: list[PricedLine], complaint: str, cause: str, correction: str, causal_part_no: str | None,
             closed_at: datetime, filed_at: datetime, checked_at: datetime) -> dict[str, Any]:
    """The automatic check HQ sees before reviewing. R05 (line already claimed) never gets
    here: such a submission is refused outright."""
    findings = [f for line in lines for f in line.findings]
    missing = [name for name, text in (("complaint", complaint), ("cause", cause), ("correction", correction))
               if not text.strip()]
    if missing:
        findings.append(finding("R06", f"missing: {', '.join(missing)}"))
    deadline = closed_at + timedelta(days=policy()["submission_deadline_days"])
    if filed_at > deadline:
        findings.append(finding("R07", f"filed {filed_at.isoformat()}, deadline was {deadline.isoformat()}"))
    claimed_parts = {line.part_no for line in lines if line.kind == "part" and line.part_no}
    if causal_part_no:
        if causal_part_no not in claimed_parts:
            findings.append(finding("R08", f"causal part {causal_part_no} is not among the claimed parts "
                                           f"({', '.join(sorted(claimed_parts)) or 'none'})"))
    elif claimed_parts:
        findings.append(finding("R08", "parts are claimed but no causal part is named"))
    statuses = {line.coverage["status"] for line in lines}
    overall = "out" if "out" in statuses else "unknown" if "unknown" in statuses else \
        "within" if "within" in statuses else "not_covered"
    return {"passed": not findings, "findings": findings, "coverage": overall, "checked_at": checked_at.isoformat(),
            "deadline": deadline.isoformat()}


def repair_date(opened_at: datetime, zone: ZoneInfo) -> date:
    return opened_at.astimezone(zone).date()
