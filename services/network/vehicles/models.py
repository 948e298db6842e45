from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_dict, empty_list
from services.network.base import NetworkModel


class PdiInspection(NetworkModel, table=True):
    """One pre-delivery inspection sheet of a new car (data/pdi_checklist.json)."""

    __tablename__ = "pdi_inspections"

    id: str = Field(primary_key=True, max_length=64)
    vin: str = Field(sa_column=sa.Column(sa.String(17), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    inspected_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    items: list[dict[str, Any]] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    defects: list[dict[str, Any]] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    # Every defect found was fixed before delivery: the car may be handed over.
    all_fixed: bool
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    # Who: the person (or a machine's own key), their name, and the key or sign-in they used.
    recorded_by: str
    recorded_by_name: str | None = None
    recorded_by_credential: str | None = None


class VehicleRegistration(NetworkModel, table=True):
    """The warranty registration of a car at its sale; one per VIN, changed only by corrections."""

    __tablename__ = "vehicle_registrations"

    vin: str = Field(sa_column=sa.Column(sa.String(17), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False, index=True))
    buyer_name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    buyer_phone: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    model: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    invoice_date: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    delivery_date: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    mileage_at_delivery_km: int
    registered_at: datetime = Field(sa_type=UTCDateTime)
    registered_by: str
    registered_by_name: str | None = None
    registered_by_credential: str | None = None
    corrected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1


class RegistrationCorrection(NetworkModel, table=True):
    """A correction of a registration: what changed (from → to) and why."""

    __tablename__ = "vehicle_registration_corrections"

    id: str = Field(primary_key=True, max_length=64)
    vin: str = Field(sa_column=sa.Column(sa.String(17), sa.ForeignKey("vehicle_registrations.vin"), nullable=False,
                                         index=True))
    changes: dict[str, Any] = Field(default_factory=empty_dict, sa_column=sa.Column(sa.JSON, nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    corrected_at: datetime = Field(sa_type=UTCDateTime)
    corrected_by: str
    corrected_by_name: str | None = None
    corrected_by_credential: str | None = None
