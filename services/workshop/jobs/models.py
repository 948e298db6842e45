from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.workshop.base import Hours, WorkshopModel


class Job(WorkshopModel, table=True):
    """One approved labour line of a repair order, as work for one technician."""

    __tablename__ = "jobs"
    __table_args__ = (
        # A redelivered or re-sent approval never makes a second job for the same line.
        sa.UniqueConstraint("repair_order_id", "line_id", name="uq_jobs_order_line"),
        sa.Index("ix_jobs_store_status", "store_id", "status"),
        sa.Index("ix_jobs_technician_status", "technician_id", "status"),
        sa.Index("ix_jobs_store_passed", "store_id", "qc_passed_at"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    repair_order_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    repair_order_number: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    line_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    op_code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    # Operation category from data/labor_operations.json; None for an operation not in it.
    category: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    description: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    pay_type: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    supplement: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    flat_rate_hours: Decimal = Field(sa_column=sa.Column(Hours, nullable=False))
    # pending | assigned | in_progress | paused | completed | rework | qc_passed | cancelled
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    technician_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    rework_count: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    # Sum of the closed work intervals; an open interval is added when it closes.
    clocked_seconds: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    notes: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    assigned_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    started_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    completed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    completed_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    completed_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    completed_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    qc_passed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))


class WorkInterval(WorkshopModel, table=True):
    """A stretch of time a technician was clocked on a job; clocked hours are their sum."""

    __tablename__ = "work_intervals"
    __table_args__ = (sa.Index("ix_work_intervals_technician_start", "technician_id", "started_at"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    job_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("jobs.id"), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    technician_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    started_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    started_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    started_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    started_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    ended_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    ended_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    ended_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    # pause | complete | switch (the technician clocked onto another job) | cancel
    end_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(16), nullable=True))
    seconds: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    # The technician's cost rate when the interval opened, so a later change of rate does not
    # rewrite the cost of work already done.
    hourly_cost_fen: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))


class QualityCheck(WorkshopModel, table=True):
    __tablename__ = "quality_checks"
    __table_args__ = (sa.Index("ix_quality_checks_store_checked", "store_id", "checked_at"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    job_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("jobs.id"), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    # The technician whose work was checked (the one assigned at the time).
    technician_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    result: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    # The signed caller (the person, or a machine's own key), their name and what they came
    # with; inspector_name is the name on the job card, which the caller may give.
    inspector: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    inspector_name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    inspector_person_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    inspector_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    notes: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    checked_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
