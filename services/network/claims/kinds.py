"""The rules of data/claim_kinds.json for the kinds of claim other than warranty, as pure
functions beside policy.py's warranty rules: which lines a kind claims, what each is worth
and what the precheck finds. Amounts are integer fen, rounded half up once per line; a flat
or capped amount is shared over the lines so that they add up to it to the fen. The
warranty policy, labour operations, parts prices and campaign policy are those of `Rules`
(the versions in force on the repair date), else data/'s files."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Literal

from services.common import reference
from services.common.clock import add_months
from services.network.claims.codes import CoverStatus, KindRejectCode, RejectCode
from services.network.claims.policy import (
    Coverage,
    Finding,
    PrecheckResult,
    PricedLine,
    Rules,
    files,
    finding,
    precheck,
    to_fen,
)
from services.network.repair_orders.schemas import OrderLine

Kind = Literal["warranty", "first_maintenance", "campaign", "pdi", "goodwill"]
KINDS: tuple[Kind, ...] = ("warranty", "first_maintenance", "campaign", "pdi", "goodwill")
# Kinds whose paperwork is the package itself (a campaign, the first service, a PDI sheet):
# no complaint, cause and correction, no causal part.
PACKAGE_KINDS = frozenset({"first_maintenance", "campaign", "pdi"})


@cache
def _kinds() -> dict[str, dict[str, Any]]:
    return reference.load("claim_kinds")["kinds"]


def rules(kind: str) -> dict[str, Any]:
    return _kinds()[kind]


def pay_types(kind: str) -> list[str]:
    return rules(kind)["pay_types"]


def allocate(total: int, weights: list[int]) -> list[int]:
    """`total` shared over `weights` in proportion: each share rounded down, then the fen
    left over one each to the largest remainders (the earlier line on a tie). All weights
    zero share equally."""
    if not weights:
        return []
    if not any(weights):
        weights = [1] * len(weights)
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    left = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def _cover(kind: str, status: CoverStatus = CoverStatus.WITHIN, detail: str = "") -> Coverage:
    return Coverage(plan=kind, status=status, detail=detail)


def _line(line: OrderLine, claimed: int, cover: Coverage, findings: list[Finding] | None = None,
          **fields: Any) -> PricedLine:
    values: dict[str, Any] = dict(flat_rate_hours=None, paid_hours=None, reimbursable_unit_fen=None, category=None)
    values.update(fields)
    return PricedLine(line_id=line.line_id, kind=line.kind, op_code=line.op_code, part_no=line.part_no,
                      description=line.description, quantity=line.quantity, unit_price_fen=line.unit_price_fen,
                      order_amount_fen=line.amount_fen, claimed_fen=claimed, coverage=cover,
                      findings=findings or [], **values)


def _quantity(text: str | None) -> Decimal:
    try:
        value = Decimal(text or "0")
    except ArithmeticError:
        return Decimal(0)
    return value if value.is_finite() and value > 0 else Decimal(0)


def _part_unit(part: dict, handling_percent: int) -> Decimal:
    return Decimal(part["dealer_cost_fen"]) * (100 + Decimal(handling_percent)) / 100


def _labour_and_part(line: OrderLine, rate: int, handling_percent: int, rules: Rules) -> dict[str, Any]:
    """What a labour or part line is worth as warranty prices it, with no cover test:
    labour to the flat-rate hours, parts at dealer cost plus handling; anything else 0."""
    quantity = _quantity(line.quantity)
    if line.kind == "labor":
        operation = rules.operations.get(line.op_code or "")
        paid = min(quantity, Decimal(str(operation["flat_rate_hours"]))) if operation else quantity
        return dict(claimed=to_fen(Decimal(rate) * paid), paid_hours=str(paid),
                    flat_rate_hours=str(Decimal(str(operation["flat_rate_hours"]))) if operation else None,
                    category=operation["category"] if operation else None)
    if line.kind == "part":
        part = rules.parts.get(line.part_no or "")
        if part is None:
            return dict(claimed=0)
        unit = _part_unit(part, handling_percent)
        return dict(claimed=to_fen(unit * quantity), reimbursable_unit_fen=str(unit), category=part["category"])
    return dict(claimed=0)


# --- first maintenance ------------------------------------------------------------------

@dataclass
class FirstMaintenanceCar:
    """What the registration says of the car (None: no registration)."""

    model: str | None
    delivered_on: date | None


def family_of(model: str | None) -> dict[str, Any] | None:
    for family in rules("first_maintenance")["families"]:
        if model and any(model.startswith(prefix) for prefix in family["model_prefixes"]):
            return family
    return None


def first_maintenance_due(delivered_on: date) -> tuple[date, int]:
    due = rules("first_maintenance")["due"]
    return add_months(delivered_on, due["months"]), due["km"]


def _in_package(line: OrderLine, policies: Rules) -> bool:
    rule = rules("first_maintenance")["rule"]
    if line.kind == "labor":
        return line.op_code in rule["operations"]
    if line.kind == "part":
        part = policies.parts.get(line.part_no or "")
        return part is not None and part["category"] in rule["part_categories"]
    return False


def price_first_maintenance(lines: list[OrderLine], car: FirstMaintenanceCar, repair_day: date, mileage_km: int,
                            policies: Rules | None = None) -> tuple[list[PricedLine], list[Finding], dict[str, Any]]:
    """The first service's lines, priced by the car's model family's flat amount, else by
    the labour-and-parts rule; with the claim's findings (R11 no registration, R12 out of
    its window) and how it was priced."""
    policies = policies or files()
    rule = rules("first_maintenance")["rule"]
    found: list[Finding] = []
    pricing: dict[str, Any] = {}
    if car.delivered_on is None:
        cover = _cover("first_maintenance", CoverStatus.UNKNOWN, "the vehicle has no warranty registration")
        found.append(finding(KindRejectCode.NOT_REGISTERED, cover.detail))
    else:
        due_on, due_km = first_maintenance_due(car.delivered_on)
        pricing.update(delivered_on=car.delivered_on.isoformat(), due_on=due_on.isoformat(), due_km=due_km)
        late = []
        if repair_day > due_on:
            late.append(f"done on {repair_day}, due by {due_on}")
        if mileage_km > due_km:
            late.append(f"{mileage_km} km, due by {due_km} km")
        cover = _cover("first_maintenance", CoverStatus.OUT if late else CoverStatus.WITHIN, "; ".join(late))
        if late:
            found.append(finding(KindRejectCode.FIRST_MAINTENANCE_OUT_OF_WINDOW, cover.detail))
    package = [line for line in lines if _in_package(line, policies)]
    in_package = {line.line_id for line in package}
    family = family_of(car.model)
    if family is not None:
        pricing.update(rule="flat", family=family["family"], model=car.model, flat_fen=family["flat_fen"])
        shares = dict(zip([line.line_id for line in package],
                          allocate(family["flat_fen"], [line.amount_fen for line in package]), strict=True))
    else:
        pricing.update(rule="labour_and_parts", model=car.model,
                       labour_rate_fen_per_hour=rule["labour_rate_fen_per_hour"],
                       parts_handling_percent=rule["parts_handling_percent"])
    priced = []
    for line in lines:
        if line.line_id not in in_package:
            priced.append(_line(line, 0, cover, [finding(
                KindRejectCode.NOT_IN_BRAND_PACKAGE, f"{line.op_code or line.part_no or line.kind} is not part of "
                                                     "the brand-paid first maintenance", line.line_id)]))
        elif family is not None:
            priced.append(_line(line, shares[line.line_id], cover))
        else:
            values = _labour_and_part(line, rule["labour_rate_fen_per_hour"], rule["parts_handling_percent"], policies)
            priced.append(_line(line, values.pop("claimed"), cover, **values))
    return priced, found, pricing


# --- campaigns --------------------------------------------------------------------------

@dataclass
class CampaignTerms:
    campaign_id: str
    code: str
    op_code: str
    flat_hours: Decimal
    parts: dict[str, Decimal]  # part_no -> quantity the campaign pays


def price_campaign(lines: list[OrderLine], terms: CampaignTerms,
                   policies: Rules | None = None) -> tuple[list[PricedLine], dict[str, Any]]:
    """The campaign's flat hours once at the campaign policy's labour rate, its parts up to
    its quantities at dealer cost plus the policy's handling (where the policy names none,
    the warranty policy's); anything else on its lines is R14 at nothing."""
    policies = policies or files()
    warranty, campaign = policies.warranty, policies.campaign
    rate = campaign.get("labour_rate_fen_per_hour")
    rate = warranty["warranty_labour_rate_fen_per_hour"] if rate is None else rate
    handling = campaign.get("parts_handling_percent")
    handling = warranty["parts_handling_percent"] if handling is None else handling
    cover = _cover("campaign", detail=f"campaign {terms.code}")
    left = dict(terms.parts)
    labour_paid = False
    priced = []
    for line in lines:
        if line.kind == "labor" and line.op_code == terms.op_code and not labour_paid:
            labour_paid = True
            priced.append(_line(line, to_fen(Decimal(rate) * terms.flat_hours), cover,
                                flat_rate_hours=str(terms.flat_hours), paid_hours=str(terms.flat_hours),
                                category="recall"))
            continue
        part = policies.parts.get(line.part_no or "") if line.kind == "part" else None
        if part is not None and left.get(line.part_no or "", Decimal(0)) > 0:
            paid = min(_quantity(line.quantity), left[part["part_no"]])
            left[part["part_no"]] -= paid
            unit = _part_unit(part, handling)
            priced.append(_line(line, to_fen(unit * paid), cover, reimbursable_unit_fen=str(unit),
                                category=part["category"]))
            continue
        what = "its labour is paid once" if line.kind == "labor" and line.op_code == terms.op_code else (
            f"{line.op_code or line.part_no or line.kind} is not the campaign's operation or parts")
        priced.append(_line(line, 0, cover, [finding(KindRejectCode.NOT_IN_BRAND_PACKAGE,
                                                     f"campaign {terms.code}: {what}", line.line_id)]))
    return priced, dict(rule="campaign", campaign_id=terms.campaign_id, code=terms.code, op_code=terms.op_code,
                        flat_hours=str(terms.flat_hours), labour_rate_fen_per_hour=rate,
                        parts_handling_percent=handling, parts={k: str(v) for k, v in terms.parts.items()})


# --- PDI --------------------------------------------------------------------------------

def price_pdi(defects: list[dict[str, Any]], policies: Rules | None = None) -> tuple[list[PricedLine], dict[str, Any]]:
    """Each defect fixed before delivery, at its checklist item's labour operation's
    flat-rate hours and the warranty labour rate; an item with no operation is R15 at
    nothing. Defects still open are not claimed. Line ids are `defect-<n>`, n counting the
    sheet's defects from 0."""
    policies = policies or files()
    rate = policies.warranty["warranty_labour_rate_fen_per_hour"]
    operations = rules("pdi")["operations_by_item"]
    priced = []
    for index, defect in enumerate(defects):
        if not defect.get("fixed"):
            continue
        op_code = operations.get(defect["item_code"])
        operation = policies.operations.get(op_code or "")
        base = OrderLine(line_id=f"defect-{index}", kind="labor", op_code=op_code,
                         description=f"{defect['item_code']}: {defect['description']}", quantity="0",
                         unit_price_fen=0, amount_fen=0, pay_type="pdi")
        if operation is None:
            priced.append(_line(base, 0, _cover("pdi"), [finding(
                KindRejectCode.PDI_DEFECT_NOT_PAID, f"checklist item {defect['item_code']} has no labour operation "
                                                    "the brand pays", base.line_id)]))
            continue
        hours = Decimal(str(operation["flat_rate_hours"]))
        base.quantity = str(hours)
        priced.append(_line(base, to_fen(Decimal(rate) * hours), _cover("pdi"), flat_rate_hours=str(hours),
                            paid_hours=str(hours), category=operation["category"]))
    return priced, dict(rule="pdi", labour_rate_fen_per_hour=rate)


# --- goodwill ---------------------------------------------------------------------------

def price_goodwill(lines: list[OrderLine], amount_limit_fen: int, brand_share_percent: int,
                   policies: Rules | None = None) -> tuple[list[PricedLine], dict[str, Any]]:
    """The lines priced as warranty prices them (no cover test: goodwill is for what
    warranty does not pay), times the brand's share, at most the authorised limit; that
    amount shared over the lines by their priced amounts."""
    policies = policies or files()
    warranty = policies.warranty
    rate, handling = warranty["warranty_labour_rate_fen_per_hour"], warranty["parts_handling_percent"]
    values = [_labour_and_part(line, rate, handling, policies) for line in lines]
    priced_fen = [v.pop("claimed") for v in values]
    whole = sum(priced_fen)
    share = to_fen(Decimal(whole) * brand_share_percent / 100)
    claimed = min(share, amount_limit_fen)
    shares = allocate(claimed, priced_fen)
    cover = _cover("goodwill", detail="pre-authorised by HQ")
    return ([_line(line, amount, cover, **v) for line, amount, v in zip(lines, shares, values, strict=True)],
            dict(rule="goodwill", priced_fen=whole, brand_share_percent=brand_share_percent, share_fen=share,
                 amount_limit_fen=amount_limit_fen, capped=share > amount_limit_fen,
                 labour_rate_fen_per_hour=rate, parts_handling_percent=handling))


# --- precheck ---------------------------------------------------------------------------

def precheck_kind(kind: str, *, lines: list[PricedLine], claim_findings: list[Finding], complaint: str, cause: str,
                  correction: str, causal_part_no: str | None, closed_at: datetime, filed_at: datetime,
                  checked_at: datetime, policies: Rules | None = None) -> PrecheckResult:
    """Warranty's precheck (documentation, deadline, causal part) with the kind's own
    findings; a package kind has no paperwork nor causal part to check."""
    check = precheck(lines=lines, complaint=complaint, cause=cause, correction=correction,
                     causal_part_no=causal_part_no, closed_at=closed_at, filed_at=filed_at, checked_at=checked_at,
                     rules=policies)
    findings = check.findings
    if kind in PACKAGE_KINDS:
        findings = [f for f in findings if f.code not in (RejectCode.DOCUMENTATION_MISSING,
                                                          RejectCode.CAUSAL_PART_MISMATCH)]
    findings = [*findings, *claim_findings]
    return check.model_copy(update={"findings": findings, "passed": not findings})
