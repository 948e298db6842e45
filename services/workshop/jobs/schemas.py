from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from services.common.pagination import Page
from services.common.who import Who
from services.workshop.base import seconds_to_hours

if TYPE_CHECKING:
    from services.workshop.jobs.models import Job, QualityCheck, WorkInterval

JobStatus = Literal["pending", "assigned", "in_progress", "paused", "completed", "rework", "qc_passed", "cancelled"]


class JobAssign(BaseModel):
    technician_id: str = Field(min_length=1, max_length=64)


class JobComplete(BaseModel):
    notes: str = Field(default="", max_length=5000, description="what was done and found")


class JobQualityCheck(BaseModel):
    result: Literal["pass", "fail"]
    inspector: str | None = Field(default=None, min_length=1, max_length=200,
                                  description="who inspected, as shown on the job card; the signed caller is "
                                              "recorded as the inspector principal")
    notes: str = Field(default="", max_length=5000)


class WorkIntervalPublic(BaseModel):
    id: str
    technician_id: str
    started_at: datetime
    started_by: str
    started_by_person: Who = Field(description="who clocked on, and with which key or sign-in")
    ended_at: datetime | None = None
    ended_by: str | None = None
    ended_by_person: Who | None = None
    end_reason: str | None = None
    seconds: int | None = None


class QualityCheckPublic(BaseModel):
    id: str
    technician_id: str | None = None
    result: Literal["pass", "fail"]
    inspector: str
    inspector_name: str = Field(description="the inspector as shown on the job card")
    inspector_person: Who = Field(description="who made the check (the signed caller), and with which key or sign-in")
    notes: str
    checked_at: datetime


class JobPublic(BaseModel):
    id: str
    store_id: str
    repair_order_id: str
    repair_order_number: str
    line_id: str
    vin: str
    op_code: str
    category: str | None = None
    description: str
    pay_type: str
    supplement: bool
    flat_rate_hours: Decimal
    status: JobStatus
    technician_id: str | None = None
    rework_count: int
    clocked_hours: Decimal = Field(description="hours of closed work intervals")
    notes: str | None = None
    created_at: datetime
    assigned_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None
    completed_by_person: Who | None = None
    qc_passed_at: datetime | None = None
    cancelled_at: datetime | None = None
    version: int


class JobDetail(JobPublic):
    clocked_on_since: datetime | None = Field(default=None,
                                              description="start of the open work interval, if clocked on now")
    work_intervals: list[WorkIntervalPublic]
    quality_checks: list[QualityCheckPublic]


JobList = Page[JobPublic]


def job_public(job: "Job") -> JobPublic:
    """A job as the API shows it: its clocked seconds as hours."""
    completed_by = (Who.stored(job.completed_by, job.completed_by_name, job.completed_by_credential)
                    if job.completed_by else None)
    return JobPublic.model_validate({**job.model_dump(), "clocked_hours": seconds_to_hours(job.clocked_seconds),
                                     "completed_by_person": completed_by})


def interval_public(interval: "WorkInterval") -> WorkIntervalPublic:
    ended_by = (Who.stored(interval.ended_by, interval.ended_by_name, interval.ended_by_credential)
                if interval.ended_by else None)
    return WorkIntervalPublic.model_validate({
        **interval.model_dump(), "ended_by_person": ended_by,
        "started_by_person": Who.stored(interval.started_by, interval.started_by_name, interval.started_by_credential)})


def check_public(check: "QualityCheck") -> QualityCheckPublic:
    return QualityCheckPublic.model_validate({**check.model_dump(), "inspector_person": Who.stored(
        check.inspector, check.inspector_person_name, check.inspector_credential)})
