from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.common.inputs import AwareMoment
from services.common.pagination import Page
from services.reception.shared.schemas import Actor, Customer, HistoryEntry, Input, Vehicle
from services.reception.vehicle_notices.schemas import VehicleNotices

AppointmentStatus = Literal["booked", "checked_in", "cancelled", "no_show"]
# The services a customer can book; what is done is decided at check-in.
ServiceType = Literal[
    "maintenance", "first_maintenance", "repair", "diagnosis", "warranty", "recall",
    "accident_repair", "body_paint", "tyres", "inspection",
]


class AppointmentCreate(Input):
    store_id: str | None = Field(default=None, description="HQ callers name the store; store callers book in their own")
    customer: Customer
    vehicle: Vehicle
    service_type: ServiceType
    scheduled_at: AwareMoment
    note: str | None = Field(default=None, max_length=2000)


class AppointmentCancel(Input):
    reason: str | None = Field(default=None, max_length=2000)


class AppointmentPublic(BaseModel):
    id: str
    store_id: str
    status: AppointmentStatus
    customer: Customer
    vehicle: Vehicle
    service_type: ServiceType
    scheduled_at: datetime
    slot_start: datetime
    local_date: date
    note: str | None = None
    booked_by: Actor
    booked_at: datetime
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    no_show_at: datetime | None = None
    checked_in_at: datetime | None = None
    repair_order_id: str | None = None
    version: int
    history: list[HistoryEntry] = Field(default_factory=list)
    vehicle_notices: VehicleNotices | None = Field(
        default=None, description="booking and reading one: the car's open recall and service campaigns and its "
                                  "Three Guarantees (三包) figures and alerts (not in lists)")


AppointmentList = Page[AppointmentPublic]


class Slot(BaseModel):
    start: datetime
    end: datetime
    local_time: str = Field(description="HH:MM in the store's time zone")
    capacity: int
    booked: int
    free: int
    bookable: bool = Field(description="free places remain and the slot has not ended")


class Availability(BaseModel):
    store_id: str
    date: date
    timezone: str
    capacity_per_hour: int
    slots: list[Slot]
