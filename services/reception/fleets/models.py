from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.reception.base import ReceptionModel


class Fleet(ReceptionModel, table=True):
    """A company whose cars a store services on contract terms, billed on account."""

    __tablename__ = "fleets"
    __table_args__ = (sa.Index("ix_fleets_store_name", "store_id", "name"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    labour_discount_percent: Decimal = Field(sa_column=sa.Column(sa.Numeric(5, 2), nullable=False))
    parts_discount_percent: Decimal = Field(sa_column=sa.Column(sa.Numeric(5, 2), nullable=False))
    # What the fleet owes on one order (VAT included) above which its manager approves the work.
    approval_limit_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    credit_limit_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    payment_terms_days: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    contacts: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    # Charged on account and not yet paid: grows with each order settled on account.
    balance_fen: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    created_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))


class FleetVehicle(ReceptionModel, table=True):
    __tablename__ = "fleet_vehicles"
    # A car is on one fleet's contract in a store: check-in must find one answer.
    __table_args__ = (sa.UniqueConstraint("store_id", "vin", name="uq_fleet_vehicles_store_vin"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    fleet_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("fleets.id"), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    vin: str = Field(sa_column=sa.Column(sa.String(17), nullable=False))
    plate: str | None = Field(default=None, sa_column=sa.Column(sa.String(16), nullable=True))
    driver_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    driver_phone: str | None = Field(default=None, sa_column=sa.Column(sa.String(20), nullable=True))
    added_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class FleetOrder(ReceptionModel, table=True):
    """A repair order of a fleet's car: the contract it was opened under, the fleet's
    approval, the manager's credit override and what was charged on account."""

    __tablename__ = "fleet_orders"
    __table_args__ = (sa.Index("ix_fleet_orders_fleet_settled", "fleet_id", "settled_at"),)

    repair_order_id: str = Field(
        sa_column=sa.Column(sa.String(64), sa.ForeignKey("repair_orders.id"), primary_key=True))
    fleet_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("fleets.id"), nullable=False))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    # The contract as it stood at check-in: a later change does not reprice an open order.
    labour_discount_percent: Decimal = Field(sa_column=sa.Column(sa.Numeric(5, 2), nullable=False))
    parts_discount_percent: Decimal = Field(sa_column=sa.Column(sa.Numeric(5, 2), nullable=False))
    approval_limit_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    approved_fen: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    approved_by: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    approved_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    # Only the link's hash is kept: the token itself is shown once, to be sent to the contact.
    link_token_hash: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, unique=True))
    link_contact_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    link_expires_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    credit_override: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    settled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    on_account_fen: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    # What the statement shows of the order, fixed when it is settled.
    charges: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
