from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.reception.base import ReceptionModel


class CreditAccount(ReceptionModel, table=True):
    """A customer the store lets pay later, up to a limit, known by phone as at the counter."""

    __tablename__ = "credit_accounts"
    # One account per customer and store: settlement must find one answer for a phone.
    __table_args__ = (sa.UniqueConstraint("store_id", "phone", name="uq_credit_accounts_store_phone"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    customer_name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    # Digits only, so "139 1234 5678" at the desk and "13912345678" on the order are one customer.
    phone: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    credit_limit_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    payment_terms_days: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    active: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    created_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))


class CreditAllowance(ReceptionModel, table=True):
    """The service manager lets one order's customer pay later, account or not, past any limit."""

    __tablename__ = "credit_allowances"

    repair_order_id: str = Field(
        sa_column=sa.Column(sa.String(64), sa.ForeignKey("repair_orders.id"), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    payment_terms_days: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    allowed_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    allowed_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
