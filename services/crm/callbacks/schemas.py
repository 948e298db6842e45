from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from services.common.pagination import Page
from services.common.who import Who
from services.crm.callbacks.clerk_schemas import NextService, ScriptLine

Outcome = Literal["reached", "no_answer", "wrong_number"]


class AttemptCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    note: str = Field(default="", max_length=2000)


class SurveyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The survey's own scale (data/survey.json) is checked by the service; this only keeps
    # a number no scale has from going further.
    answers: dict[str, Annotated[StrictInt, Field(ge=0, le=10)]] = Field(
        description="question code (data/survey.json) -> 1..5")
    verbatim: str | None = Field(default=None, max_length=4000, description="the customer's own words, kept as said")
    extra_answers: dict[str, list[Annotated[str, Field(max_length=32)]]] | None = Field(
        default=None, max_length=8,
        description="choices for data/survey_extra_questions.json, e.g. where else the car is serviced")


class CallbackCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class AttemptPublic(BaseModel):
    id: str
    outcome: Outcome
    note: str
    made_by: str
    made_by_person: Who = Field(description="who made the call, and with which key or sign-in")
    made_at: datetime


class SurveyPublic(BaseModel):
    answers: dict[str, int]
    overall: int | None = None
    verbatim: str | None = None
    low_answers: dict[str, dict[str, int]]
    extra_answers: dict[str, list[str]] | None = None
    complaints_opened: list[str] = Field(default_factory=list, description="complaints this survey opened")
    agent: str
    agent_person: Who = Field(description="the callback agent, and the key or sign-in they recorded it with")
    recorded_at: datetime


class CallbackCustomer(BaseModel):
    id: str
    name: str
    phone: str
    club_member: bool
    preferred_call_time: str | None = None


class CallbackPublic(BaseModel):
    id: str
    store_id: str
    kind: Literal["first", "follow_up"]
    repair_order_id: str | None = None
    repair_order_number: str | None = None
    complaint_id: str | None = None
    customer_id: str | None = None
    customer: CallbackCustomer | None = None
    vin: str | None = None
    advisor_id: str | None = Field(default=None, description="who served the order; may not make this call")
    due_at: datetime
    due_at_local: str = Field(description="due time in the store's own time zone")
    overdue: bool
    status: Literal["pending", "completed", "unreachable", "cancelled"]
    attempts: list[AttemptPublic]
    unanswered_attempts: int
    survey: SurveyPublic | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None
    completed_by_person: Who | None = None
    on_time: bool | None = None
    unreachable_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    created_at: datetime
    version: int
    script: list[ScriptLine] = Field(default_factory=list, description="the member script, for club members")
    extra_questions: list[dict] = Field(default_factory=list,
                                        description="questions beside the scored survey (where else it is serviced)")
    next_service: NextService | None = Field(default=None, description="the car's next service, to offer on the call")


CallbackList = Page[CallbackPublic]
