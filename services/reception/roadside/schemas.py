from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from services.common.pagination import Page
from services.reception.shared.schemas import Actor, Customer, HistoryEntry, Input, Vehicle

RoadsideStatus = Literal["requested", "dispatched", "arrived", "resolved"]
# towed: the car is brought to the store and a repair order opens for it.
Outcome = Literal["repaired_on_site", "towed", "referred", "customer_cancelled"]


class Location(Input):
    lat: Decimal = Field(ge=-90, le=90, max_digits=9, decimal_places=6)
    lng: Decimal = Field(ge=-180, le=180, max_digits=10, decimal_places=6)
    address: str = Field(min_length=1, max_length=500)


class RoadsideCreate(Input):
    store_id: str | None = Field(default=None, description="HQ callers name the store that responds")
    customer: Customer
    vehicle: Vehicle
    location: Location
    problem: str = Field(min_length=1, max_length=2000)
    mileage_km: int | None = Field(default=None, ge=0, le=2_000_000, description="odometer, if the caller knows it")


class Dispatch(Input):
    responder: str = Field(min_length=1, max_length=200, description="the technician or tow unit sent")
    eta_minutes: int | None = Field(default=None, ge=1, le=1440)


class Arrive(Input):
    notes: str | None = Field(default=None, max_length=2000)


class Resolve(Input):
    outcome: Outcome
    notes: str | None = Field(default=None, max_length=2000)
    mileage_km: int | None = Field(default=None, ge=0, le=2_000_000,
                                   description="for a tow: the odometer read at the scene")
    mileage_correction_reason: str | None = Field(default=None, min_length=1, max_length=500)
    complaint: str | None = Field(
        default=None, min_length=1, max_length=4000,
        description="for a tow: the towed car's repair order complaint (default: the problem)",
    )


class RoadsidePublic(BaseModel):
    id: str
    store_id: str
    status: RoadsideStatus
    customer: Customer
    vehicle: Vehicle
    location: Location
    problem: str
    mileage_km: int | None = None
    requested_by: Actor
    requested_at: datetime
    dispatched_at: datetime | None = None
    responder: str | None = None
    eta_minutes: int | None = None
    arrived_at: datetime | None = None
    response_minutes: Decimal | None = Field(default=None, description="arrival minus request, in minutes")
    resolved_at: datetime | None = None
    outcome: Outcome | None = None
    resolution_notes: str | None = None
    repair_order_id: str | None = None
    version: int
    history: list[HistoryEntry] = Field(default_factory=list)


RoadsideList = Page[RoadsidePublic]
