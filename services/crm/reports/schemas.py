from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.common.pagination import Page


class Score(BaseModel):
    answers: int
    average: float | None = Field(default=None, description="mean of the 1..5 answers, 2 decimals")
    low: int = Field(description="answers at or below the survey's low mark")


class Satisfaction(BaseModel):
    surveys: int = Field(description="first-callback surveys recorded in the period")
    csi_average: float | None = None
    by_department: dict[str, Score]
    by_question: dict[str, Score]


class CallbackFigures(BaseModel):
    due: int = Field(description="callbacks due in the period")
    completed_on_time: int
    completed_late: int
    unreachable: int
    cancelled: int
    pending: int
    sla_rate: float | None = Field(default=None, description="completed by the due time / due")


class Callbacks(BaseModel):
    first: CallbackFigures
    follow_up: CallbackFigures
    closed: int = Field(description="callbacks ended in the period (survey recorded or unreachable)")
    reached: int
    reach_rate: float | None = None


class Outcomes(BaseModel):
    closed: int = Field(description="closed after a satisfied follow-up")
    awaiting_follow_up: int
    in_progress: int
    reopened: int = Field(description="reopened at least once by an unsatisfied follow-up")


class Complaints(BaseModel):
    opened: int
    opened_by_department: dict[str, int]
    opened_by_severity: dict[str, int]
    opened_by_source: dict[str, int]
    resolved: int
    closed: int
    reopened: int
    escalated: dict[str, int]
    open_at_end: int
    overdue_at_end: int
    outcomes: Outcomes = Field(description="what became of the complaints opened in the period, as of the report")


class Churn(BaseModel):
    detected: int
    became_lost: int
    came_back: int
    at_risk_at_end: int
    lost_at_end: int
    customers_at_end: int
    rate: float | None = Field(default=None, description="(at risk + lost) / customers, at the end")
    lost_rate: float | None = None


class Verbatim(BaseModel):
    callback_id: str
    kind: str
    repair_order_id: str | None = None
    customer_id: str | None = None
    recorded_at: datetime
    low_answers: dict[str, dict[str, int]]
    verbatim: str


class ProblemCustomer(BaseModel):
    """One complaint and its customer, named: what was done, the result, and what the customer
    said on the second callback."""

    complaint_id: str
    opened_at: datetime
    customer_id: str | None = None
    customer_name: str | None = None
    phone: str | None = None
    repair_order_number: str | None = None
    department: str
    severity: str
    problem: str
    customer_words: str | None = None
    owner: str | None = None
    due_at: datetime
    due_reason: str | None = None
    handling: str | None = Field(default=None, description="what was done (the resolution)")
    status: str
    result: str = Field(description="Chinese, then English")
    second_callback_overall: int | None = None
    reaction: str | None = Field(default=None, description="the customer's words on the second callback")
    second_callback_at: datetime | None = None


class ReportBody(BaseModel):
    satisfaction: Satisfaction
    callbacks: Callbacks
    complaints: Complaints
    churn: Churn
    verbatims: list[Verbatim] = Field(description="the customers' own words, for low scores")
    problem_customers: list[ProblemCustomer] = Field(
        default_factory=list, description="each complaint opened in the period, its customer, handling and reaction")


class DailyTally(BaseModel):
    store_id: str
    day: date
    timezone: str
    by_department: dict[str, int] = Field(description="problem customers (complaints opened) per department")
    problem_customers: list[ProblemCustomer]


class ReportPublic(ReportBody):
    id: str | None = Field(default=None, description="set when the report is a stored one")
    store_id: str
    kind: Literal["weekly", "monthly"]
    period: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    generated_at: datetime
    stored: bool
    trigger: Literal["schedule", "manual"] | None = None


class ReportSummary(BaseModel):
    id: str
    store_id: str
    kind: Literal["weekly", "monthly"]
    period: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    generated_at: datetime
    trigger: Literal["schedule", "manual"]
    generated_by: str = Field(description='the person who started the job by hand (for a machine\'s own key, the '
                                          'key\'s id), or "scheduler"')
    generated_by_name: str | None = Field(default=None, description="their name then")
    generated_by_credential: str | None = Field(
        default=None, description='the key or sign-in they used: "key:<key id>" or "token:<sign-in>"; null for the '
                                  'scheduler and where it was not recorded')


ReportList = Page[ReportSummary]
