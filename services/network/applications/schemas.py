from datetime import datetime
from typing import Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, Field, field_validator

from services.common.pagination import Page

ApplicationStatus = Literal["submitted", "approved", "rejected"]
_Text = Field(min_length=1, max_length=200)


def _stripped(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class Contact(BaseModel):
    name: str = _Text
    phone: str = Field(pattern=r"^\+?[0-9][0-9 ()-]{4,30}$")
    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    _strip = field_validator("name")(_stripped)


class Address(BaseModel):
    province: str = Field(min_length=1, max_length=64)
    city: str = Field(min_length=1, max_length=64)
    line: str = Field(min_length=1, max_length=300)

    _strip = field_validator("province", "city", "line")(_stripped)


class ApplicationCreate(BaseModel):
    company_name: str = _Text
    license_no: str = Field(min_length=5, max_length=64, pattern=r"^[0-9A-Za-z-]+$")
    contact: Contact
    address: Address
    bays: int = Field(ge=1, le=500)
    technicians: int = Field(ge=1, le=5000)
    certifications: list[str] = Field(default_factory=list, max_length=50)
    requested_services: list[str] = Field(min_length=1, max_length=50)

    _strip = field_validator("company_name")(_stripped)

    @field_validator("certifications", "requested_services")
    @classmethod
    def _items(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v or len(v) > 100 for v in cleaned):
            raise ValueError("each entry must be 1..100 characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("entries must not repeat")
        return cleaned


class ApplicationSubmitted(BaseModel):
    id: str
    status: ApplicationStatus
    status_token: str = Field(description="shown this once; send it as X-Application-Token to read the application")
    submitted_at: datetime


class ApplicationPublic(BaseModel):
    id: str
    company_name: str
    license_no: str
    contact: Contact
    address: Address
    bays: int
    technicians: int
    certifications: list[str]
    requested_services: list[str]
    status: ApplicationStatus
    submitted_at: datetime
    reviewed_at: datetime | None = None
    # HQ's people are not the applicant's business: these three are null on the applicant's own read.
    reviewed_by: str | None = Field(default=None, description="the HQ person who reviewed it (for a machine's own "
                                                              "key, the key's id); HQ callers only")
    reviewed_by_name: str | None = Field(default=None, description="their name when they reviewed it; HQ callers only")
    reviewed_by_credential: str | None = Field(
        default=None, description='the key or sign-in they used: "key:<key id>" or "token:<sign-in>"; HQ callers only')
    review_reason: str | None = None
    store_id: str | None = None
    version: int


ApplicationList = Page[ApplicationPublic]


class ApplicationReview(BaseModel):
    decision: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=2000)
    # For an approval: how the new outlet is registered (defaults: a generated code, the
    # applicant's province as region, Asia/Shanghai).
    store_code: str | None = Field(default=None, min_length=2, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$")
    region: str | None = Field(default=None, min_length=1, max_length=64)
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise ValueError("not an IANA time zone")
        return value

