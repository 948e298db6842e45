from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from services.common.pagination import Page
from services.workshop.base import seconds_to_hours

if TYPE_CHECKING:
    from services.workshop.jobs.models import Job

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
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None
    seconds: int | None = None


class QualityCheckPublic(BaseModel):
    id: str
    technician_id: str | None = None
    result: Literal["pass", "fail"]
    inspector: str
    inspector_name: str
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
    return JobPublic.model_validate({**job.model_dump(), "clocked_hours": seconds_to_hours(job.clocked_seconds)})
