from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from services.common.inputs import Moment
from services.common.pagination import Page

CREDENTIAL = 'the key or sign-in they used: "key:<key id>" or "token:<sign-in>"; null where it was not recorded'


class AuditItemIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    score: int = Field(ge=0, le=100)
    note: str = Field(default="", max_length=2000)


class AuditCreate(BaseModel):
    items: list[AuditItemIn] = Field(min_length=1, max_length=100,
                                     description="one entry for every standard of the audit standards in force "
                                                 "on the audit day (GET /v1/policies/audit_standards?on=)")
    audited_at: Moment | None = Field(default=None, description="when the site visit took place; default now")
    note: str | None = Field(default=None, max_length=4000)


class ActionStatus(StrEnum):
    """Where a corrective action stands."""

    OPEN = "open"
    CLOSED = "closed"


class AuditItemOut(BaseModel):
    """One standard as an audit scored it (an audit keeps its items in this shape)."""

    code: str
    title: str
    weight: int
    score: int
    note: str = ""


class CorrectiveActionPublic(BaseModel):
    id: str
    audit_id: str
    store_id: str
    item_code: str
    title: str
    score: int
    due_at: datetime
    status: ActionStatus
    overdue: bool = False
    opened_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = Field(default=None, description="the person who closed it (for a machine's own key, "
                                                            "the key's id)")
    closed_by_name: str | None = Field(default=None, description="their name when they closed it")
    closed_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    resolution: str | None = None
    version: int


class AuditPublic(BaseModel):
    id: str
    store_id: str
    audited_at: datetime
    auditor: str = Field(description="the person who recorded the audit (for a machine's own key, the key's id)")
    auditor_name: str | None = Field(default=None, description="their name when they recorded it")
    auditor_credential: str | None = Field(default=None, description=CREDENTIAL)
    items: list[AuditItemOut]
    score: Decimal = Field(description="weighted score 0..100, two decimals")
    pass_mark: int
    passed: bool
    standards_version: int | None = Field(default=None, description="the version of the audit standards in force on "
                                                                    "the audit day (China time) it was scored by; "
                                                                    "null: recorded before they had versions")
    note: str | None = None
    corrective_actions: list[CorrectiveActionPublic] = []


AuditList = Page[AuditPublic]
CorrectiveActionList = Page[CorrectiveActionPublic]


class CorrectiveActionClose(BaseModel):
    resolution: str = Field(min_length=1, max_length=4000)
