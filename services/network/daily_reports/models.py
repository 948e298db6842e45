from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class DailyReportSignOff(NetworkModel, table=True):
    """A store's day signed off by its service manager (or store manager): who, when, and
    the day's figures as they read then, so a late event that changes them shows."""

    __tablename__ = "daily_report_sign_offs"
    __table_args__ = (
        sa.PrimaryKeyConstraint("store_id", "day", name="pk_daily_report_sign_offs"),
        sa.Index("ix_daily_report_sign_offs_day", "day"),
    )

    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    day: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    signed_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    signed_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    signed_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    signed_by_role: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    signed_at: datetime = Field(sa_type=UTCDateTime)
    note: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    figures: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
