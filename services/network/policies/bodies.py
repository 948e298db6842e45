"""What each policy's body must hold, and what changed between two bodies: pure functions
apart from the database, as claims/policy.py is.

A body is checked whole (unknown keys refused, so a misspelt key is a 422 and not a
setting silently ignored) and kept as HQ sent it."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.errors import ValidationFailed
from services.common.inputs import MAX_HOURS, MAX_LINE_FEN, MAX_REQUEST_FEN


def _once(values: list[str], what: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"each {what} once")


class PolicyName(StrEnum):
    """The policies kept as versions, each seeded from its file in data/ as version 1."""

    WARRANTY_POLICY = "warranty_policy"
    LABOUR_OPERATIONS = "labour_operations"
    PARTS_PRICES = "parts_prices"
    AUDIT_STANDARDS = "audit_standards"
    ONBOARDING_CHECKLIST = "onboarding_checklist"
    THREE_GUARANTEES = "three_guarantees"
    CAMPAIGN_POLICY = "campaign_policy"


# What a store reads the policy as, Chinese first.
TITLES: dict[PolicyName, tuple[str, str]] = {
    PolicyName.WARRANTY_POLICY: ("保修政策", "warranty policy"),
    PolicyName.LABOUR_OPERATIONS: ("工时目录", "labour operations and flat hours"),
    PolicyName.PARTS_PRICES: ("配件价格", "parts prices"),
    PolicyName.AUDIT_STANDARDS: ("服务标准审核项", "audit standards"),
    PolicyName.ONBOARDING_CHECKLIST: ("入网检查清单", "onboarding checklist"),
    PolicyName.THREE_GUARANTEES: ("三包政策", "Three Guarantees policy"),
    PolicyName.CAMPAIGN_POLICY: ("召回/服务活动政策", "campaign policy"),
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Coverage(_Body):
    name: str = Field(min_length=1, max_length=32)
    months: int | None = Field(ge=1, le=1200, description="null: no time limit (recalls)")
    km: int | None = Field(ge=1, le=10_000_000, description="null: no distance limit")
    categories: list[str] = Field(min_length=1, max_length=50)


class WarrantyPolicy(_Body):
    """data/warranty_policy.json's shape: what the brand pays for warranty work."""

    description: str = Field(default="", max_length=2000)
    currency: Literal["CNY"]
    coverage: list[Coverage] = Field(min_length=1, max_length=20)
    warranty_labour_rate_fen_per_hour: int = Field(ge=0, le=MAX_LINE_FEN)
    parts_reimbursement: str = Field(default="", max_length=200)
    parts_handling_percent: int = Field(ge=0, le=100)
    submission_deadline_days: int = Field(ge=1, le=366)
    second_approval_threshold_fen: int = Field(ge=0, le=MAX_REQUEST_FEN)
    customer_labour_rate_fen_per_hour_default: int = Field(ge=0, le=MAX_LINE_FEN)

    @field_validator("coverage")
    @classmethod
    def _plans_once(cls, value: list[Coverage]) -> list[Coverage]:
        _once([c.name for c in value], "plan name")
        return value


class LabourOperation(_Body):
    op_code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$")
    description: str = Field(min_length=1, max_length=500)
    category: str = Field(min_length=1, max_length=32)
    flat_rate_hours: Decimal = Field(ge=0, le=MAX_HOURS, decimal_places=2)
    warranty_eligible: bool


class LabourOperations(_Body):
    """data/labor_operations.json's shape: the labour-operation catalogue and its flat hours."""

    description: str = Field(default="", max_length=2000)
    operations: list[LabourOperation] = Field(min_length=1, max_length=5000)

    @field_validator("operations")
    @classmethod
    def _codes_once(cls, value: list[LabourOperation]) -> list[LabourOperation]:
        _once([o.op_code for o in value], "op_code")
        return value


Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_]*$")]


class Part(_Body):
    part_no: str = Field(min_length=2, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$")
    name: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=32)
    list_price_fen: int = Field(ge=0, le=MAX_LINE_FEN)
    dealer_cost_fen: int = Field(ge=0, le=MAX_LINE_FEN)
    warranty_eligible: bool


class PartsPrices(_Body):
    """data/parts.json's shape: the brand's parts, their customer price and dealer cost."""

    description: str = Field(default="", max_length=2000)
    parts: list[Part] = Field(min_length=1, max_length=50_000)

    @field_validator("parts")
    @classmethod
    def _parts_once(cls, value: list[Part]) -> list[Part]:
        _once([p.part_no for p in value], "part_no")
        return value


class AuditStandard(_Body):
    code: Code
    title: str = Field(min_length=1, max_length=200)
    weight: int = Field(ge=1, le=100)


class AuditStandards(_Body):
    """data/audit_standards.json's shape: what an audit scores, each standard's weight, the pass mark."""

    pass_mark: int = Field(ge=0, le=100)
    items: list[AuditStandard] = Field(min_length=1, max_length=100)

    @field_validator("items")
    @classmethod
    def _codes_once(cls, value: list[AuditStandard]) -> list[AuditStandard]:
        _once([i.code for i in value], "code")
        return value


class ChecklistItem(_Body):
    code: Code
    title: str = Field(min_length=1, max_length=200)


class OnboardingChecklist(_Body):
    """data/onboarding_checklist.json's shape: what an outlet does before it is activated."""

    items: list[ChecklistItem] = Field(min_length=1, max_length=100)

    @field_validator("items")
    @classmethod
    def _codes_once(cls, value: list[ChecklistItem]) -> list[ChecklistItem]:
        _once([i.code for i in value], "code")
        return value


class _Period(_Body):
    months: int = Field(ge=1, le=1200)
    km: int = Field(ge=1, le=10_000_000)


class _EarlyWindow(_Body):
    days: int = Field(ge=1, le=3660)
    km: int = Field(ge=1, le=10_000_000)
    systems: list[str] = Field(max_length=50)
    remedy: str = Field(min_length=1, max_length=64)


class _ReplacementIf(_Body):
    cumulative_repair_days_over: int = Field(ge=0, le=3660)
    same_problem_repairs_over: int = Field(ge=0, le=1000)


class _RefundIf(_Body):
    serious_safety_fault_repairs_at_least: int = Field(ge=1, le=1000)
    engine_or_transmission_replacements_at_least: int = Field(ge=1, le=1000)
    same_major_part_replacements_at_least: int = Field(ge=1, le=1000)


class Revision(_Body):
    """One revision of the Three Guarantees regulation (data/sanbao_policy*.json): a car
    follows the revision in force on its sale date."""

    effective_from: date
    source: str = Field(default="", max_length=4000)
    sources: list[str] = Field(default_factory=list, max_length=20)
    replaces: dict[str, str] | None = None
    warranty_period: _Period
    validity_period: _Period
    period_starts_at: Literal["invoice_date"]
    loaner_if_single_repair_days_over: int = Field(ge=0, le=3660)
    early_window: _EarlyWindow
    replacement_if: _ReplacementIf
    refund_if: _RefundIf
    remedy_note: str = Field(default="", max_length=4000)
    excluded_from_repair_days: list[str] = Field(default_factory=list, max_length=50)


class Watch(_Body):
    """data/sanbao_watch.json's shape: how the platform reads repair orders for the watch."""

    description: str = Field(default="", max_length=4000)
    quality_pay_types: list[str] = Field(min_length=1, max_length=20)
    not_quality_categories: list[str] = Field(max_length=100)
    same_problem_by: str = Field(default="", max_length=1000)
    serious_safety_categories: list[str] = Field(max_length=100)
    engine_or_transmission_replacement_op_codes: list[str] = Field(max_length=1000)
    engine_or_transmission_replacement_part_nos: list[str] = Field(max_length=1000)
    engine_or_transmission_replacement_note: str = Field(default="", max_length=4000)
    one_step_repair_days: int = Field(ge=1, le=366)
    one_step_note: str = Field(default="", max_length=4000)
    day_rule: str = Field(default="", max_length=4000)


class ThreeGuarantees(_Body):
    """The Three Guarantees (三包) policy: the regulation's revisions, oldest first
    (data/sanbao_policy.json, data/sanbao_policy_2021.json), and the watch's reading of
    orders (data/sanbao_watch.json)."""

    regulation: list[Revision] = Field(min_length=1, max_length=20)
    watch: Watch

    @field_validator("regulation")
    @classmethod
    def _oldest_first(cls, value: list[Revision]) -> list[Revision]:
        days = [r.effective_from for r in value]
        if days != sorted(set(days)):
            raise ValueError("revisions oldest first, each on its own effective_from")
        return value


class CampaignPolicy(_Body):
    """data/campaign_policy.json's shape: what campaign work is paid at (null: warranty's)."""

    description: str = Field(default="", max_length=2000)
    labour_rate_fen_per_hour: int | None = Field(ge=0, le=MAX_LINE_FEN)
    parts_handling_percent: int | None = Field(ge=0, le=100)


SHAPES: dict[PolicyName, type[_Body]] = {
    PolicyName.WARRANTY_POLICY: WarrantyPolicy,
    PolicyName.LABOUR_OPERATIONS: LabourOperations,
    PolicyName.PARTS_PRICES: PartsPrices,
    PolicyName.AUDIT_STANDARDS: AuditStandards,
    PolicyName.ONBOARDING_CHECKLIST: OnboardingChecklist,
    PolicyName.THREE_GUARANTEES: ThreeGuarantees,
    PolicyName.CAMPAIGN_POLICY: CampaignPolicy,
}


def check(name: PolicyName, body: dict[str, Any]) -> None:
    """ValidationFailed (422) naming the first wrong field as `body.<path>`."""
    try:
        SHAPES[name].model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(p) for p in ("body", *error["loc"]))
        raise ValidationFailed(path, error["msg"]) from None


# ---- what changed between two versions -----------------------------------------------

# A list of objects each naming itself by one of these keys is compared item by item.
_ITEM_KEYS = ("op_code", "code", "part_no", "name", "effective_from")


class Change(BaseModel):
    path: str = Field(description="dotted; a list item by its code, e.g. operations.BRK-0210.flat_rate_hours")
    change: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    for key in _ITEM_KEYS:
        if items and all(isinstance(i, dict) and isinstance(i.get(key), str) for i in items):
            keyed = {i[key]: i for i in items}
            if len(keyed) == len(items):
                return keyed
    return None


def _walk(before: Any, after: Any, path: str) -> Iterator[Change]:
    if isinstance(before, list) and isinstance(after, list):
        old, new = _keyed(before), _keyed(after)
        if old is not None and new is not None:
            before, after = old, new
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(before.keys() | after.keys()):
            where = f"{path}.{key}" if path else str(key)
            if key not in after:
                yield Change(path=where, change="removed", before=before[key])
            elif key not in before:
                yield Change(path=where, change="added", after=after[key])
            else:
                yield from _walk(before[key], after[key], where)
    elif before != after:
        yield Change(path=path, change="changed", before=before, after=after)


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Every key added, removed or changed from `before` to `after`, innermost first named."""
    return list(_walk(before, after, ""))
