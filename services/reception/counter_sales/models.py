from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_list
from services.reception.base import ReceptionModel


class CounterSale(ReceptionModel, table=True):
    """One counter sale: its lines are fixed when it is rung up, its money kept beside them
    so lists and the paid event need no sum over lines."""

    __tablename__ = "counter_sales"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "number", name="uq_counter_sales_store_number"),
        sa.Index("ix_counter_sales_store_day", "store_id", "sale_day"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    number: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    # The store's local day it was rung up on: the day in its number, and what lists filter by.
    sale_day: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    customer: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    vin: str | None = Field(default=None, sa_column=sa.Column(sa.String(17), nullable=True))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    sold_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    opened_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    list_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    discount_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    amount_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    tax_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    total_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    vat_rate: Decimal = Field(sa_column=sa.Column(sa.Numeric(), nullable=False))
    paid_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    paid_by: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    payments: list[dict[str, Any]] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    cancelled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    cancelled_by: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    cancel_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))


class CounterSaleLine(ReceptionModel, table=True):
    __tablename__ = "counter_sale_lines"
    __table_args__ = (sa.Index("ix_counter_sale_lines_sale", "counter_sale_id", "position"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    counter_sale_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("counter_sales.id"), nullable=False))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    position: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    accessory_code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    description: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    quantity: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    unit_price_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    discount_percent: Decimal = Field(sa_column=sa.Column(sa.Numeric(), nullable=False))
    discount_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    amount_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class CounterSaleSettings(ReceptionModel, table=True):
    """The most a store lets its counter take off the catalogue price; no row: the group's default."""

    __tablename__ = "counter_sale_settings"

    store_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    max_discount_percent: Decimal = Field(sa_column=sa.Column(sa.Numeric(), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    updated_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
