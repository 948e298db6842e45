from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.workshop.base import WorkshopModel


class PurchaseOrder(WorkshopModel, table=True):
    __tablename__ = "purchase_orders"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "number", name="uq_purchase_orders_store_number"),
        sa.Index("ix_purchase_orders_store_status", "store_id", "status"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    number: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    supplier: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    # open | partially_received | received | cancelled
    status: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    total_fen: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    created_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    created_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    created_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    received_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))


class PurchaseOrderLine(WorkshopModel, table=True):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        sa.UniqueConstraint("purchase_order_id", "part_no", name="uq_purchase_order_lines_part"),
        sa.CheckConstraint("received_quantity >= 0 AND received_quantity <= quantity", name="ck_po_lines_received"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    purchase_order_id: str = Field(
        sa_column=sa.Column(sa.String(64), sa.ForeignKey("purchase_orders.id"), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    part_no: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    quantity: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    received_quantity: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    unit_cost_fen: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))

    @property
    def outstanding(self) -> int:
        return self.quantity - self.received_quantity


class NumberSequence(WorkshopModel, table=True):
    """Per-store counters for human-readable numbers (purchase orders)."""

    __tablename__ = "number_sequences"

    store_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    name: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    value: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
