import re
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from services.common.inputs import Day
from services.common.pagination import Page
from services.network.people.schemas import StaffRole

COURSE_CODE = r"^[A-Z][A-Z0-9-]*$"
OP_CODE = r"^[A-Z0-9][A-Z0-9-]*$"
# A certificate outlives no career: 10 years is the longest any course runs.
MAX_VALIDITY_MONTHS = 120
# How far ahead a list of expiring certificates looks at most.
MAX_EXPIRING_DAYS = 366
# The most certified people of one role and course a store may be required to have: more
# than any store's staff of that role.
MAX_REQUIRED_PEOPLE = 50
# The most requirements one kind of store may have (8 roles by a handful of courses).
MAX_KIND_REQUIREMENTS = 50


class StoreKindRule(StrEnum):
    """Which stores a store requirement applies to: every store, one kind of store, or a
    store that services electric cars (an outlet whose application asked for the ev service)."""

    EVERY_STORE = "every_store"
    DEALER_STORE = "dealer_store"
    PARTNER_OUTLET = "partner_outlet"
    EV_STORE = "ev_store"


class CertificationStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"  # by date: expires_on has passed (China's calendar)
    REVOKED = "revoked"


# The most labour operations one course may reserve to its holders.
MAX_COURSE_OPERATIONS = 200


def _op_codes(value: list[str]) -> list[str]:
    for code in value:
        if not 1 <= len(code) <= 32 or not re.fullmatch(OP_CODE, code):
            raise ValueError("an op code is 1 to 32 capitals, digits and hyphens")
    if len(set(value)) != len(value):
        raise ValueError("each operation once")
    return value


class CourseCreate(BaseModel):
    code: str = Field(min_length=1, max_length=16, pattern=COURSE_CODE, examples=["HV"])
    name_zh: str = Field(min_length=1, max_length=100, examples=["高压电作业认证"])
    name_en: str = Field(min_length=1, max_length=200, examples=["High-voltage work certification"])
    validity_months: int = Field(ge=1, le=MAX_VALIDITY_MONTHS)
    operations: list[str] = Field(default_factory=list, max_length=MAX_COURSE_OPERATIONS, description=(
        "labour operations (op codes) only a holder of this course's certification may be given"))
    trainer_person_ids: list[str] = Field(default_factory=list, max_length=20, description=(
        "the brand's trainers: active HQ people who may grant this course besides hq_admin"))

    @field_validator("operations")
    @classmethod
    def _operations(cls, value: list[str]) -> list[str]:
        return _op_codes(value)

    @field_validator("trainer_person_ids")
    @classmethod
    def _people(cls, value: list[str]) -> list[str]:
        if any(not 1 <= len(p) <= 64 for p in value):
            raise ValueError("a person id is 1 to 64 characters")
        if len(set(value)) != len(value):
            raise ValueError("each person once")
        return value


class CourseUpdate(BaseModel):
    """What HQ changes in a course; a field left out stays as it is. Certificates already
    granted keep their days; `operations`, when given, replaces the whole list."""

    name_zh: str | None = Field(default=None, min_length=1, max_length=100)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    validity_months: int | None = Field(default=None, ge=1, le=MAX_VALIDITY_MONTHS, description=(
        "for certificates granted from now on; those granted keep their expires_on"))
    operations: list[str] | None = Field(default=None, max_length=MAX_COURSE_OPERATIONS, description=(
        "the labour operations (op codes of the catalogue) only a holder may be given, the whole list"))

    @field_validator("operations")
    @classmethod
    def _operations(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _op_codes(value)


class CoursePublic(BaseModel):
    code: str
    name_zh: str
    name_en: str
    validity_months: int
    operations: list[str]
    trainer_person_ids: list[str]
    source: str | None = Field(default=None, description="where the course and its rule come from")
    created_at: datetime
    revision: int = Field(description=(
        "what network.course.published carries: 1 when added (or seeded from the data file), one more on each change"))
    version: int = Field(description='the ETag; send it as If-Match to PATCH (a stale one is 412)')


class CourseList(BaseModel):
    items: list[CoursePublic]


class StoreRequirementPublic(BaseModel):
    store_kind: StoreKindRule
    role: StaffRole
    course_code: str
    people: int = Field(default=1, description="how many people holding the role and a valid certificate it needs")
    source: str | None = None


class StoreRequirementIn(BaseModel):
    role: StaffRole
    course_code: str = Field(min_length=1, max_length=16, pattern=COURSE_CODE, examples=["HV"])
    people: int = Field(default=1, ge=1, le=MAX_REQUIRED_PEOPLE, description=(
        "how many people holding the role in the store, each with a valid certificate in the course"))
    source: str | None = Field(default=None, min_length=1, max_length=1000, description="why HQ requires it")


class StoreKindRequirementsPut(BaseModel):
    """Everything a kind of store must have, replacing what it had (an empty list: nothing)."""

    requirements: list[StoreRequirementIn] = Field(max_length=MAX_KIND_REQUIREMENTS)

    @field_validator("requirements")
    @classmethod
    def _once(cls, value: list[StoreRequirementIn]) -> list[StoreRequirementIn]:
        if len({(r.role, r.course_code) for r in value}) != len(value):
            raise ValueError("each role and course once")
        return value


class StoreKindRequirements(BaseModel):
    store_kind: StoreKindRule
    requirements: list[StoreRequirementPublic]


class OperationRequirementPublic(BaseModel):
    op_code: str
    course_code: str


class Requirements(BaseModel):
    stores: list[StoreRequirementPublic]
    operations: list[OperationRequirementPublic]


class CertificationGrant(BaseModel):
    person_id: str = Field(min_length=1, max_length=64)
    course_code: str = Field(min_length=1, max_length=16, pattern=COURSE_CODE)
    certificate_no: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9/_-]*$")
    issued_on: Day = Field(description="the day the certificate was issued: today (China time) or before")
    expires_on: Day | None = Field(default=None, description=(
        "the last day it is valid; default the day before issued_on plus the course's validity months"))


class CertificationRevoke(BaseModel):
    reason: str = Field(min_length=1, max_length=500)

    @field_validator("reason")
    @classmethod
    def _blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class CertificationPublic(BaseModel):
    id: str
    person_id: str
    person_name: str
    course_code: str
    course_name_zh: str
    course_name_en: str
    certificate_no: str
    issued_on: date
    expires_on: date = Field(description="the last day it is valid")
    status: CertificationStatus = Field(description="valid, expired (by date, today in China) or revoked")
    granted_at: datetime
    granted_by: str
    granted_by_name: str | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoked_by_name: str | None = None
    revoke_reason: str | None = None
    version: int


CertificationList = Page[CertificationPublic]


class MissingCertification(BaseModel):
    store_kind: StoreKindRule
    role: StaffRole
    course_code: str
    people: int = Field(description="how many certified people of the role the store needs")
    holding: int = Field(description="how many it has today")
    course_name_zh: str
    course_name_en: str
    message_zh: str
    message_en: str


class StoreCertificationStatus(BaseModel):
    """What the store's kinds require and which of it no one in the store holds today."""

    store_id: str
    store_kinds: list[StoreKindRule]
    complete: bool
    missing: list[MissingCertification]
