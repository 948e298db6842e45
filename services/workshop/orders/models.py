from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.workshop.base import WorkshopModel


class WorkshopOrder(WorkshopModel, table=True):
    """What the workshop knows of a repair order, and the flags that make its progress
    events (`work_started`, `ready`, `costed`) go out once per order however often events repeat."""

    __tablename__ = "repair_orders"
    __table_args__ = (sa.Index("ix_repair_orders_store_status", "store_id", "status"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    number: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    plate: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    model: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    # awaiting_approval | approved | in_progress | ready | cancelled | delivered
    status: str = Field(sa_column=sa.Column(sa.String(24), nullable=False))
    # Opened at reception (known from its `opened` event; None for orders first seen approved).
    opened_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    approved_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    # When reception promised the car back, if it said so.
    promised_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    work_started_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    ready_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    # Set when `workshop.order.costed` went out.
    costed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
