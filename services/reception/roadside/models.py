from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.reception.base import ReceptionModel


class RoadsideRequest(ReceptionModel, table=True):
    __tablename__ = "roadside_requests"
    __table_args__ = (sa.Index("ix_roadside_store_status", "store_id", "status"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    customer: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    vehicle: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    vin: str = Field(sa_column=sa.Column(sa.String(17), nullable=False, index=True))
    location: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    problem: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    mileage_km: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    requested_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    requested_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    dispatched_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    responder: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    eta_minutes: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    arrived_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    response_minutes: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(), nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    outcome: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    resolution_notes: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    repair_order_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
