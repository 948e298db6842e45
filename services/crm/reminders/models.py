from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.crm.base import CrmModel


class Reminder(CrmModel, table=True):
    """A maintenance reminder for one milestone of one vehicle's schedule."""

    __tablename__ = "reminders"
    __table_args__ = (sa.UniqueConstraint("vin", "milestone", name="uq_reminders_vin_milestone"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    customer_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))  # first_maintenance | periodic_maintenance
    # Which point of the schedule ("first", "periodic:<base>:<n>"): a milestone is reminded once.
    milestone: str = Field(sa_column=sa.Column(sa.String(160), nullable=False))
    op_code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    due_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False, index=True))
    due_km: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    projected_km: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    km_per_month: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # pending | sent | converted | expired
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    channel: str | None = Field(default=None, sa_column=sa.Column(sa.String(16), nullable=True))
    # Who sent it: the person (or a machine's own key), their name, and the key or sign-in they used.
    sent_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    sent_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    sent_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    converted_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    converted_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    converted_store_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    expired_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, default=1))
