"""Warranty rules as pure functions: what a claim line is worth and what the automatic
precheck finds. Kept apart from service.py because they need no database and are the part
HQ argues about; amounts are integer fen, rounded half up once per line.

The figures are those of the policies in force on the repair date (`Rules`: the warranty
policy, labour operations and parts prices HQ versions in policies/); without one given, the
files in data/ they were seeded from."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, PlainSerializer

from services.common import reference
from services.common.clock import add_months
from services.network.claims.codes import AdjustmentCode, AnyRejectCode, CoverStatus, RejectCode
from services.network.repair_orders.schemas import OrderLine

# An instant in a claim's stored JSON, written as Python writes it (2026-11-01T08:00:00+00:00),
# as every claim stored so far has it.
StoredInstant = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str, when_used="json")]


class Finding(BaseModel):
    """One thing the precheck found, on a line or on the whole claim."""

    code: AnyRejectCode
    text: str
    line_id: str | None = None
    detail: str = ""
    proposed_adjustment: AdjustmentCode | None = None


class Coverage(BaseModel):
    """A line's standing with the warranty plan covering it. A line no plan covers has
    only plan (null), status and detail: the members between are left out, not null."""

    plan: str | None
    months_limit: int | None = None
    km_limit: int | None = None
    mileage_km: int | None = None
    sold_at: date | None = None
    covered_until: date | None = None
    status: CoverStatus
    detail: str


class PrecheckResult(BaseModel):
    """The automatic check of a submission, as the claim keeps it."""

    passed: bool
    findings: list[Finding]
    coverage: CoverStatus
    checked_at: StoredInstant
    deadline: StoredInstant


@dataclass(frozen=True)
class Rules:
    """The policies a claim is priced and prechecked by, and their version numbers (by policy
    name), which the claim keeps so a reviewer sees what it was priced by."""

    warranty: dict[str, Any]
    operations: dict[str, dict[str, Any]]  # by op_code
    parts: dict[str, dict[str, Any]]  # by part_no
    campaign: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, warranty: dict[str, Any], operations: dict[str, Any], parts: dict[str, Any],
           campaign: dict[str, Any] | None = None, versions: dict[str, int] | None = None) -> Rules:
        """From the policies' bodies in their files' shapes."""
        return cls(warranty=warranty, operations={op["op_code"]: op for op in operations["operations"]},
                   parts={p["part_no"]: p for p in parts["parts"]}, campaign=campaign or {}, versions=versions or {})


@cache
def files() -> Rules:
    """data/'s files as shipped (what version 1 of each policy was seeded from)."""
    return Rules.of(reference.warranty_policy(), reference.load("labor_operations"), reference.load("parts"),
                    reference.load("campaign_policy"))


def policy() -> dict:
    return files().warranty


@cache
def reason_texts() -> dict[str, str]:
    codes = reference.load("claim_reason_codes")
    kinds = reference.load("claim_kinds")["reject_codes"]
    return {c["code"]: c["text"] for c in codes["reject"] + codes["adjust"] + kinds}


def to_fen(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _decimal(text: str | None) -> Decimal:
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() and value > 0 else Decimal(0)


def finding(code: AnyRejectCode, detail: str, line_id: str | None = None,
            proposed_adjustment: AdjustmentCode | None = None) -> Finding:
    return Finding(code=code, text=reason_texts()[code], line_id=line_id, detail=detail,
                   proposed_adjustment=proposed_adjustment)


def plan_for(category: str | None, rules: Rules | None = None) -> dict | None:
    for plan in (rules or files()).warranty["coverage"]:
        if category in plan["categories"]:
            return plan
    return None


def coverage(category: str | None, sold_at: date | None, repair_date: date, mileage_km: int,
             rules: Rules | None = None) -> Coverage:
    """Whether the vehicle is inside the plan covering `category`. Months count from the
    first sale to the day the order was opened; an unknown sale date makes the month test
    unknown, never a failure."""
    plan = plan_for(category, rules)
    if plan is None:
        return Coverage(plan=None, status=CoverStatus.NOT_COVERED, detail=f"category {category} is in no warranty plan")
    months, km = plan["months"], plan["km"]
    until = None
    reasons = []
    if km is not None and mileage_km > km:
        reasons.append(f"{mileage_km} km is above the {plan['name']} limit of {km} km")
    months_unknown = False
    if months is not None:
        if sold_at is None:
            months_unknown = True
        else:
            until = add_months(sold_at, months)
            if repair_date > until:
                reasons.append(f"repair on {repair_date} is after the {plan['name']} cover ended on {until}")
    if reasons:
        status, detail = CoverStatus.OUT, "; ".join(reasons)
    elif months_unknown:
        status, detail = CoverStatus.UNKNOWN, "the vehicle's sale date is unknown, so its age cannot be checked"
    else:
        status, detail = CoverStatus.WITHIN, ""
    return Coverage(plan=plan["name"], months_limit=months, km_limit=km, mileage_km=mileage_km, sold_at=sold_at,
                    covered_until=until, status=status, detail=detail)


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
    coverage: Coverage
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def price_line(line: OrderLine, repair_date: date, sold_at: date | None, mileage_km: int,
               rules: Rules | None = None) -> PricedLine:
    """Labour: warranty rate × min(claimed hours, flat-rate hours). Parts: dealer cost plus
    the handling percentage, per unit, times quantity. Sublet and fees: nothing."""
    rules = rules or files()
    warranty = rules.warranty
    quantity = _decimal(line.quantity)
    base: dict[str, Any] = dict(line_id=line.line_id, kind=line.kind, op_code=line.op_code, part_no=line.part_no,
                                description=line.description, quantity=line.quantity,
                                unit_price_fen=line.unit_price_fen, order_amount_fen=line.amount_fen,
                                flat_rate_hours=None, paid_hours=None, reimbursable_unit_fen=None)
    findings: list[Finding] = []
    if line.kind == "labor":
        operation = rules.operations.get(line.op_code or "")
        category = operation["category"] if operation else None
        rate = Decimal(warranty["warranty_labour_rate_fen_per_hour"])
        if operation is None:
            findings.append(finding(RejectCode.NOT_COVERED,
                                    f"labour operation {line.op_code} is not in the brand's catalogue", line.line_id))
            paid = quantity
        else:
            flat = Decimal(str(operation["flat_rate_hours"]))
            base["flat_rate_hours"] = str(flat)
            paid = min(quantity, flat)
            if not operation["warranty_eligible"]:
                findings.append(finding(RejectCode.NOT_COVERED,
                                        f"{line.op_code} ({operation['description']}) is never warranty work",
                                        line.line_id))
            if quantity > flat:
                findings.append(finding(RejectCode.HOURS_OVER_FLAT_RATE, f"{quantity} h claimed, flat rate is {flat} h",
                                        line.line_id, AdjustmentCode.LABOUR_TO_FLAT_RATE))
        base["paid_hours"] = str(paid)
        claimed = to_fen(rate * paid)
    elif line.kind == "part":
        part = rules.parts.get(line.part_no or "")
        category = part["category"] if part else None
        if part is None:
            findings.append(finding(RejectCode.NOT_COVERED, f"part {line.part_no} is not in the brand's catalogue",
                                    line.line_id))
            claimed = 0
        else:
            unit = Decimal(part["dealer_cost_fen"]) * (100 + Decimal(warranty["parts_handling_percent"])) / 100
            base["reimbursable_unit_fen"] = str(unit)
            claimed = to_fen(unit * quantity)
            if not part["warranty_eligible"]:
                findings.append(finding(RejectCode.NOT_COVERED,
                                        f"{line.part_no} ({part['name']}) is never reimbursed by warranty",
                                        line.line_id))
            if Decimal(line.unit_price_fen) > unit:
                findings.append(finding(RejectCode.PRICE_OVER_REIMBURSABLE,
                                        f"unit price {line.unit_price_fen} fen is above the reimbursable {unit} fen",
                                        line.line_id, AdjustmentCode.PART_TO_COST_PLUS_HANDLING))
    else:
        category = None
        claimed = 0
        findings.append(finding(RejectCode.NOT_COVERED, f"a {line.kind} line is not reimbursed by warranty",
                                line.line_id, AdjustmentCode.LINE_NOT_REIMBURSABLE))
    if line.kind in ("labor", "part"):
        cover = coverage(category, sold_at, repair_date, mileage_km, rules)
    else:
        cover = Coverage(plan=None, status=CoverStatus.NOT_COVERED, detail=f"{line.kind} lines are not covered")
    if cover.status == CoverStatus.OUT:
        findings.append(finding(RejectCode.OUTSIDE_WARRANTY, cover.detail, line.line_id))
    elif cover.status == CoverStatus.NOT_COVERED and not any(f.code == RejectCode.NOT_COVERED for f in findings):
        findings.append(finding(RejectCode.NOT_COVERED, cover.detail, line.line_id))
    return PricedLine(**base, claimed_fen=claimed, category=category, coverage=cover, findings=findings)


def precheck(*, lines: list[PricedLine], complaint: str, cause: str, correction: str, causal_part_no: str | None,
             closed_at: datetime, filed_at: datetime, checked_at: datetime, rules: Rules | None = None
             ) -> PrecheckResult:
    """The automatic check HQ sees before reviewing. R05 (line already claimed) never gets
    here: such a submission is refused outright."""
    findings = [f for line in lines for f in line.findings]
    missing = [name for name, text in (("complaint", complaint), ("cause", cause), ("correction", correction))
               if not text.strip()]
    if missing:
        findings.append(finding(RejectCode.DOCUMENTATION_MISSING, f"missing: {', '.join(missing)}"))
    deadline = closed_at + timedelta(days=(rules or files()).warranty["submission_deadline_days"])
    if filed_at > deadline:
        findings.append(finding(RejectCode.FILED_LATE,
                                f"filed {filed_at.isoformat()}, deadline was {deadline.isoformat()}"))
    claimed_parts = {line.part_no for line in lines if line.kind == "part" and line.part_no}
    if causal_part_no:
        if causal_part_no not in claimed_parts:
            findings.append(finding(RejectCode.CAUSAL_PART_MISMATCH,
                                    f"causal part {causal_part_no} is not among the claimed parts "
                                    f"({', '.join(sorted(claimed_parts)) or 'none'})"))
    elif claimed_parts:
        findings.append(finding(RejectCode.CAUSAL_PART_MISMATCH, "parts are claimed but no causal part is named"))
    statuses = {line.coverage.status for line in lines}
    # The claim's cover is its lines' worst.
    overall = next((s for s in (CoverStatus.OUT, CoverStatus.UNKNOWN, CoverStatus.WITHIN) if s in statuses),
                   CoverStatus.NOT_COVERED)
    return PrecheckResult(passed=not findings, findings=findings, coverage=overall, checked_at=checked_at,
                          deadline=deadline)


def campaign_findings(lines: list[PricedLine], campaign_of: dict[str, str]) -> list[Finding]:
    """R10: a labour line whose operation an open campaign of the car covers (op_code →
    campaign code) is campaign work, which the brand pays under the campaign, not warranty."""
    return [finding(RejectCode.RECALL_NOT_UNDER_CAMPAIGN,
                    f"{line.op_code} is the operation of open campaign {campaign_of[line.op_code]} for this VIN",
                    line.line_id)
            for line in lines if line.kind == "labor" and line.op_code in campaign_of]


def repair_date(opened_at: datetime, zone: ZoneInfo) -> date:
    return opened_at.astimezone(zone).date()
