from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_dict
from services.crm.base import CrmModel


class JobRun(CrmModel, table=True):
    """One job's runs for one store on one of the store's days. The row is written in the
    same transaction as the job's work, so two workers cannot both do a day's run."""

    __tablename__ = "job_runs"
    __table_args__ = (sa.UniqueConstraint("job", "store_id", "run_date", name="uq_job_runs_day"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    job: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    run_date: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    runs: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, default=1))
    first_run_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    last_run_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    last_trigger: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # schedule | manual
    # The person who started it by hand (or "scheduler"), their name, and the key or sign-in they used.
    last_run_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    last_run_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    last_run_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    result: dict[str, Any] = Field(default_factory=empty_dict, sa_column=sa.Column(sa.JSON, nullable=False))
