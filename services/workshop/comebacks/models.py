from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.workshop.base import WorkshopModel


class DeliveredOperation(WorkshopModel, table=True):
    """A labour operation of a delivered repair order, and who did it: what a later
    approval on the same VIN is compared with."""

    __tablename__ = "delivered_operations"
    __table_args__ = (sa.Index("ix_delivered_operations_vin_op", "vin", "op_code", "delivered_at"),)

    repair_order_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    line_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    repair_order_number: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    op_code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    delivered_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    job_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    technician_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))


class Comeback(WorkshopModel, table=True):
    __tablename__ = "comebacks"
    __table_args__ = (
        sa.UniqueConstraint("repair_order_id", "line_id", name="uq_comebacks_order_line"),
        sa.Index("ix_comebacks_store_detected", "store_id", "detected_at"),
        sa.Index("ix_comebacks_original_technician", "original_technician_id", "detected_at"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    # The store where the vehicle came back (whose staff see it).
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    op_code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    repair_order_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    line_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    job_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    original_repair_order_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    original_repair_order_number: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    original_store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    original_job_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    original_technician_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    original_delivered_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    approved_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    days_since_delivery: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    detected_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
