"""What each policy's body must hold, and what changed between two bodies: pure functions
apart from the database, as claims/policy.py is.

A body is checked whole (unknown keys refused, so a misspelt key is a 422 and not a
setting silently ignored) and kept as HQ sent it."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.errors import ValidationFailed
from services.common.inputs import MAX_HOURS, MAX_LINE_FEN, MAX_REQUEST_FEN


class PolicyName(StrEnum):
    """The policies kept as versions. The audit standards, onboarding checklist, parts
    prices, the Three-Guarantees and campaign policies are still files in data/."""

    WARRANTY_POLICY = "warranty_policy"
    LABOUR_OPERATIONS = "labour_operations"


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
        names = [c.name for c in value]
        if len(set(names)) != len(names):
            raise ValueError("each plan name once")
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
        codes = [o.op_code for o in value]
        if len(set(codes)) != len(codes):
            raise ValueError("each op_code once")
        return value


SHAPES: dict[PolicyName, type[_Body]] = {
    PolicyName.WARRANTY_POLICY: WarrantyPolicy,
    PolicyName.LABOUR_OPERATIONS: LabourOperations,
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
_ITEM_KEYS = ("op_code", "code", "part_no", "name")


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
