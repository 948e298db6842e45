import re
import unicodedata
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from services.common.inputs import Day
from services.common.pagination import Page


class StaffRole(StrEnum):
    """A person's role in a store: every store role of services.common.identity except
    outlet_api, which is an outlet system's key, not a person."""

    STORE_MANAGER = "store_manager"
    SERVICE_MANAGER = "service_manager"
    SERVICE_ADVISOR = "service_advisor"
    TECHNICIAN = "technician"
    PARTS_CLERK = "parts_clerk"
    CRM_AGENT = "crm_agent"
    WARRANTY_CLERK = "warranty_clerk"
    CASHIER = "cashier"


class HqRole(StrEnum):
    """A person's role at head office: the HQ roles of services.common.identity."""

    HQ_ADMIN = "hq_admin"
    HQ_ANALYST = "hq_analyst"
    REGION_MANAGER = "region_manager"


class PersonStatus(StrEnum):
    ACTIVE = "active"
    LEFT = "left"


NO_ROLE = "a person works in at least one store or holds an HQ role"


# A mainland mobile number (the 1[3-9] prefixes of MIIT's plan): 11 digits.
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = re.compile(r"[ \-]")


def _mobile(value: str) -> str:
    """The 11 digits of a mainland mobile number, written with or without +86, spaces or hyphens."""
    digits = _SEPARATORS.sub("", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not _MOBILE.fullmatch(digits):
        raise ValueError("must be a mainland mobile number: 11 digits starting 13 to 19, +86 allowed")
    return digits


def _text(value: str, *, multiline: bool = False) -> str:
    """Stripped text without control characters (a line break or tab only where text runs
    over lines) or lone surrogates, which no database column should keep."""
    value = value.strip()
    allowed = "\n\t" if multiline else ""
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in value):
        raise ValueError("must not contain control characters")
    if not value:
        raise ValueError("must not be blank")
    return value


class AssignmentIn(BaseModel):
    store_id: str = Field(min_length=1, max_length=64)
    role: StaffRole


class PersonCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=11, max_length=20, examples=["13800138000"],
                       description="mainland mobile; +86, spaces and hyphens allowed; kept as the 11 digits")
    employee_no: str = Field(min_length=2, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$",
                             description="unique across the group")
    hq_role: HqRole | None = Field(default=None, description="the person's role at head office; hq_admin sets it")
    # validate_default: an absent list is checked too (against hq_role, validated before it).
    assignments: list[AssignmentIn] = Field(
        default_factory=list, max_length=20, validate_default=True,
        description="the stores the person works in, one role per store; none for HQ staff with an hq_role")

    @field_validator("assignments")
    @classmethod
    def _some_role(cls, value: list[AssignmentIn], info: ValidationInfo) -> list[AssignmentIn]:
        # hq_role missing from info.data failed its own check, which names it.
        if not value and "hq_role" in info.data and info.data["hq_role"] is None:
            raise ValueError(NO_ROLE)
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _text(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return _mobile(value)


class AssignmentsReplace(BaseModel):
    assignments: list[AssignmentIn] = Field(max_length=20, description=(
        "the person's stores and roles from now on; a store's caller names its own store only, "
        "and the person's other stores stay as they are"))
    hq_role: HqRole | None = Field(default=None, description=(
        "the person's role at head office from now on (null: none); left out, it stays as it is. "
        "hq_admin only"))
    reason: str = Field(min_length=1, max_length=500)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _text(value, multiline=True)


class PersonLeave(BaseModel):
    left_on: Day | None = Field(default=None, description="the last day; default today (China time)")
    reason: str | None = Field(default=None, max_length=500)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        return None if value is None else _text(value, multiline=True)


class AssignmentPublic(BaseModel):
    store_id: str
    role: StaffRole
    assigned_at: datetime


class PersonPublic(BaseModel):
    id: str
    employee_no: str
    name: str
    phone: str
    status: PersonStatus
    hq_role: HqRole | None = None
    assignments: list[AssignmentPublic] = Field(
        description="every store for HQ; a store's caller sees its own store's assignment only")
    left_on: date | None = None
    left_reason: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int


PersonList = Page[PersonPublic]


class SignInIssued(BaseModel):
    """A one-time password for the person's sign-in, answered once: the platform keeps no copy.
    The provider asks the person to choose their own password when they first sign in with it."""

    person_id: str
    username: str = Field(description="the employee number")
    temporary_password: str
