from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.inputs import Moment
from services.common.pagination import Page

Severity = Literal["low", "medium", "high", "critical"]
Status = Literal["open", "assigned", "resolved", "closed"]
CREDENTIAL = 'the key or sign-in they used: "key:<key id>" or "token:<sign-in>"; null where it was not recorded'


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: str | None = Field(default=None, description="HQ only: the store the complaint belongs to")
    customer_id: str | None = None
    repair_order_id: str | None = None
    department: str = Field(description="a department of data/survey.json: reception, parts, workshop, store")
    severity: Severity
    description: str = Field(min_length=1, max_length=4000)


class ComplaintAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: str = Field(min_length=1, max_length=64, description="the principal who owns the complaint")
    due_at: Moment | None = Field(
        default=None, description="the date the owner commits to; later than the deadline only with due_reason")
    due_reason: str | None = Field(
        default=None, max_length=32, description="why later than the deadline (data/complaint_rules.json)")


class ComplaintDueDate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_at: Moment = Field(description="the date the owner commits to")
    reason: str | None = Field(
        default=None, max_length=32,
        description="needed for a date later than the deadline: one of data/complaint_rules.json's reasons")


class ComplaintResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(min_length=1, max_length=4000)


class EscalationPublic(BaseModel):
    reason: Literal["critical", "overdue"]
    escalated_at: datetime


class StepPublic(BaseModel):
    action: str
    status: Status
    due_at: datetime
    at: datetime
    by: str = Field(description="who: the person (for a machine's own key, the key's id; \"system\" for the "
                                "service's own steps)")
    by_name: str | None = Field(default=None, description="their name then")
    by_credential: str | None = Field(default=None, description=CREDENTIAL)
    note: str


class ComplaintPublic(BaseModel):
    id: str
    store_id: str
    source: Literal["survey", "manual"]
    callback_id: str | None = None
    customer_id: str | None = None
    repair_order_id: str | None = None
    department: str
    severity: Severity
    description: str
    verbatim: str | None = Field(default=None, description="the customer's own words from the survey")
    status: Status
    owner: str | None = None
    due_at: datetime
    due_reason: str | None = Field(default=None, description="why the committed date is later than the deadline")
    due_committed_by: str | None = Field(default=None, description="the person who committed the due date: the "
                                                                   "owner, or the person who assigned it with one")
    due_committed_by_name: str | None = Field(default=None, description="their name then")
    due_committed_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    overdue: bool
    escalated: bool
    escalations: list[EscalationPublic]
    opened_at: datetime
    opened_by: str = Field(description="the person who opened it (for a survey's complaint, the callback agent; "
                                       "for a machine's own key, the key's id)")
    opened_by_name: str | None = Field(default=None, description="their name then")
    opened_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    assigned_at: datetime | None = None
    assigned_by: str | None = Field(default=None, description="the person who last assigned it")
    assigned_by_name: str | None = None
    assigned_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    resolved_at: datetime | None = None
    resolved_by: str | None = Field(default=None, description="the person who last resolved it")
    resolved_by_name: str | None = None
    resolved_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    resolution: str | None = None
    closed_at: datetime | None = None
    reopened: int
    follow_up_callback_id: str | None = None
    history: list[StepPublic]
    version: int


ComplaintList = Page[ComplaintPublic]
