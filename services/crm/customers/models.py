"""What CRM keeps of customers, vehicles, bookings and repair orders, all learnt from
reception's events: a customer is one phone number in one store, a vehicle one VIN
across the group, and every change of owner is kept."""
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_dict, empty_list
from services.crm.base import CrmModel


class Customer(CrmModel, table=True):
    __tablename__ = "customers"
    __table_args__ = (sa.UniqueConstraint("store_id", "phone", name="uq_customers_store_phone"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    phone: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    club_member: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, default=False))
    club_since: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    contact_preferences: dict[str, Any] = Field(
        default_factory=empty_dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    first_seen_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    last_visit_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    # When reception last told us the name, so a late, older event cannot undo a newer name.
    name_seen_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, default=1))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class Vehicle(CrmModel, table=True):
    __tablename__ = "vehicles"

    vin: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    plate: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    model: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    sold_at: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    # The store that saw the vehicle first; its maintenance reminders go out from there. A
    # visit at another store does not move it (services/crm/customers/service.py).
    home_store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    customer_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    owner_phone: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    owner_since: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    first_seen_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class VehicleOwner(CrmModel, table=True):
    """One span of a customer (of one store) owning a vehicle; `until` is set when the
    vehicle turns up with another phone number."""

    __tablename__ = "vehicle_owners"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    customer_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    phone: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    since: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))


class RepairOrder(CrmModel, table=True):
    """CRM's copy of a repair order; the delivered ones are the vehicle's service history."""

    __tablename__ = "repair_orders"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    number: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # open | delivered | cancelled
    vin: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True, index=True))
    customer_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True))
    advisor_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    advisor_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    mileage_km: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    opened_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    cancelled_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    operations: list[dict[str, Any]] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    parts: list[dict[str, Any]] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    amount_fen: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    customer_due_fen: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, default=0))
    totals: dict[str, Any] = Field(default_factory=empty_dict, sa_column=sa.Column(sa.JSON, nullable=False))


class Appointment(CrmModel, table=True):
    """A booking, kept for churn (a customer with a booking is not lost) and for
    reminders (a booking converts them)."""

    __tablename__ = "appointments"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    customer_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    service_type: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # booked | cancelled | no_show | checked_in
    scheduled_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    booked_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
