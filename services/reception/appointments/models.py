from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.reception.base import ReceptionModel


class Appointment(ReceptionModel, table=True):
    __tablename__ = "appointments"
    __table_args__ = (
        sa.Index("ix_appointments_store_slot", "store_id", "slot_start"),
        sa.Index("ix_appointments_store_date", "store_id", "local_date"),
        sa.Index("ix_appointments_store_vin", "store_id", "vin"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    customer: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    vehicle: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    vin: str = Field(sa_column=sa.Column(sa.String(17), nullable=False))
    service_type: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    scheduled_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    # The clock hour (store local time) the booking counts against, and its local date.
    slot_start: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    local_date: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    booked_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    booked_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    cancelled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    cancel_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    no_show_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    checked_in_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    repair_order_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
