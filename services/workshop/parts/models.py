from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_list
from services.workshop.base import BigId, WorkshopModel


class Stock(WorkshopModel, table=True):
    """One part in one store. Every change locks this row first, so concurrent issues and
    receipts serialise on it and `available` never goes below zero."""

    __tablename__ = "stock"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "part_no", name="uq_stock_store_part"),
        # The last line of defence: the database itself refuses an oversold row.
        sa.CheckConstraint("reserved >= 0 AND on_hand >= reserved", name="ck_stock_not_oversold"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    part_no: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    on_hand: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    # Units on hand set aside for reservations (allocated, not yet issued).
    reserved: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    bin: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    reorder_point: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    reorder_quantity: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    # Set when `stock.low` went out; cleared when available climbs back, so it goes out once per crossing.
    below_reorder_point: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    average_cost_fen: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    # Arrival counter for this part's reservations: backorders are filled in this order.
    reservation_seq: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(WorkshopModel, table=True):
    """The append-only ledger: per store and part, the sum of `on_hand_delta` is on hand
    and the sum of `reserved_delta` is reserved."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        sa.Index("ix_stock_movements_store_part", "store_id", "part_no", "id"),
        sa.Index("ix_stock_movements_order", "repair_order_id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    part_no: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    # receipt | reservation | release | issue | return | adjustment
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    on_hand_delta: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    reserved_delta: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    on_hand_after: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    reserved_after: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    # Receipts: the price paid; issues and returns: the part's average cost when issued.
    unit_cost_fen: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    reference: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    reservation_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    repair_order_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    receipt_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # Who moved it: the person (or a machine's own key), their name, and the key or sign-in
    # they used; none for what the workshop does itself (reservations from reception's events).
    principal_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    principal_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    principal_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class Reservation(WorkshopModel, table=True):
    """Parts held for one approved part line of a repair order."""

    __tablename__ = "reservations"
    __table_args__ = (
        sa.UniqueConstraint("repair_order_id", "line_id", name="uq_reservations_order_line"),
        sa.Index("ix_reservations_queue", "store_id", "part_no", "status", "queue_seq"),
        sa.CheckConstraint("allocated >= 0 AND allocated <= quantity", name="ck_reservations_allocated"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    repair_order_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    line_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    part_no: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    pay_type: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    quantity: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    allocated: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    issued_quantity: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    returned_quantity: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    # The part's moving average cost in this store when the reservation was issued: the
    # order's parts cost, whatever later receipts do to the average.
    unit_cost_fen: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    # reserved | backordered | issued | released
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    queue_seq: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    filled_from_stock: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    reserved_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    filled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    issued_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    issued_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    issued_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    issued_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    released_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))

    @property
    def short(self) -> int:
        return self.quantity - self.allocated


class StockReceipt(WorkshopModel, table=True):
    """Goods received into a store, with or without a purchase order."""

    __tablename__ = "stock_receipts"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    reference: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    purchase_order_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True))
    lines: list[dict] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    received_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    received_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    received_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    received_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
