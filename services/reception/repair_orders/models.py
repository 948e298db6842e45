from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_dict
from services.reception.base import ReceptionModel


class RepairOrder(ReceptionModel, table=True):
    __tablename__ = "repair_orders"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "number", name="uq_repair_orders_store_number"),
        sa.Index("ix_repair_orders_store_status", "store_id", "status"),
        sa.Index("ix_repair_orders_store_vin", "store_id", "vin", "opened_at"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    number: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    appointment_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    roadside_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    customer: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    vehicle: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    vin: str = Field(sa_column=sa.Column(sa.String(17), nullable=False))
    mileage_km: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    mileage_correction_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    complaint: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    inspection: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    insurance: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    advisor: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    opened_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    estimated_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    promised_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    approved_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    # The promise as first given at approval; promised_at is the one in force after moves.
    first_promised_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    promise_moves: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    # The service manager's sign-off of a high-value estimate, and the amount it covered.
    signed_off_by: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    signed_off_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    signed_off_fen: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    work_started_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    ready_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    settled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    delivery: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    cancel_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # Kept up to date with every line change, so lists show money without reading lines.
    totals: dict[str, Any] = Field(default_factory=empty_dict, sa_column=sa.Column(sa.JSON, nullable=False))
    line_count: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))


class RepairOrderLine(ReceptionModel, table=True):
    __tablename__ = "repair_order_lines"
    __table_args__ = (sa.Index("ix_repair_order_lines_order", "repair_order_id", "position"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    repair_order_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("repair_orders.id"), nullable=False))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    position: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    op_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    part_no: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    accessory_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    description: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    quantity: Decimal = Field(sa_column=sa.Column(sa.Numeric(), nullable=False))
    flat_rate_hours: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(), nullable=True))
    unit_price_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    # A fleet's contract discount on the line (amount_fen is after it, rounded once).
    discount_percent: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(5, 2), nullable=True))
    amount_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    pay_type: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    # A campaign line's campaign (its code): one campaign's work goes on an order once.
    campaign_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    supplement: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    approval_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    added_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    added_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class Approval(ReceptionModel, table=True):
    """The customer's yes to an estimate or to a supplement: who, when, how, and to what."""

    __tablename__ = "repair_order_approvals"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    repair_order_id: str = Field(
        sa_column=sa.Column(sa.String(64), sa.ForeignKey("repair_orders.id"), nullable=False, index=True)
    )
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    approved_by: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    channel: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    approved_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    recorded_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    supplement: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    line_ids: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    amount_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    customer_due_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class Invoice(ReceptionModel, table=True):
    __tablename__ = "invoices"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    number: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    # One invoice per order: a retried settlement can never issue a second.
    repair_order_id: str = Field(
        sa_column=sa.Column(sa.String(64), sa.ForeignKey("repair_orders.id"), nullable=False, unique=True)
    )
    issued_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    issued_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    totals: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    payers: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    payments: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
