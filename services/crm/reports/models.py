from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_dict
from services.crm.base import CrmModel


class Report(CrmModel, table=True):
    """A weekly or monthly report as it was generated, kept unchanged."""

    __tablename__ = "reports"
    __table_args__ = (sa.UniqueConstraint("store_id", "kind", "period", name="uq_reports_store_period"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # weekly | monthly
    period: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # 2026-W05 | 2026-02
    starts_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    ends_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    timezone: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    generated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    trigger: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # schedule | manual
    # The person who started the job by hand (or "scheduler"), their name, and the key or sign-in they used.
    generated_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    generated_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    generated_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    body: dict[str, Any] = Field(default_factory=empty_dict, sa_column=sa.Column(sa.JSON, nullable=False))
