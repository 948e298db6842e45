"""Outsourced work (委外): the firms a store sends work to, and the sublet orders that send it."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_list
from services.workshop.base import WorkshopModel


class Vendor(WorkshopModel, table=True):
    """A firm a store sends work to (glass, paint, ECU programming, upholstery, ...)."""

    __tablename__ = "vendors"
    __table_args__ = (sa.UniqueConstraint("store_id", "name", name="uq_vendors_store_name"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    specialties: list[str] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    contact_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    phone: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    address: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    active: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))


class SubletOrder(WorkshopModel, table=True):
    """Work of one sublet line of a repair order sent to a vendor, from agreeing the price to
    matching the vendor's invoice. One live order per line: a cancelled one frees the line."""

    __tablename__ = "sublet_orders"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "number", name="uq_sublet_orders_store_number"),
        sa.Index("uq_sublet_orders_live_line", "repair_order_id", "line_id", unique=True,
                 postgresql_where=sa.text("status <> 'cancelled'")),
        sa.Index("ix_sublet_orders_store_status", "store_id", "status"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    number: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    repair_order_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    line_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    vendor_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("vendors.id"), nullable=False,
                                               index=True))
    work: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    agreed_price_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    promised_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    # draft | sent | returned | inspected | invoice_held | invoiced | cancelled
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    returned_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    # Each inspection, newest last: {result, note, inspected_at, inspector, inspector_name, promised_on}.
    inspections: list[dict] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    invoice_number: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    invoice_amount_fen: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    invoice_received_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    invoiced_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    decided_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    decided_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    decision_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    created_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    created_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))

    @property
    def cost_fen(self) -> int:
        """What the work costs the store: the vendor's invoice once matched or accepted, else the agreed price."""
        if self.status == "invoiced" and self.invoice_amount_fen is not None:
            return self.invoice_amount_fen
        return self.agreed_price_fen
