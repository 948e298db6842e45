from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.common.inputs import MAX_VERSION, Day
from services.common.pagination import Page

Channel = Literal["phone", "sms", "wechat", "email"]


def _default_channels() -> list[Channel]:
    return ["phone", "sms", "wechat"]


class ContactPreferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] = Field(
        default_factory=_default_channels,
        description="channels the customer agreed to be contacted on (reminders use one of them)",
    )
    marketing_opt_out: bool = Field(default=False, description="no maintenance reminders at all")
    preferred_call_time: Literal["morning", "afternoon"] | None = Field(
        default=None, description="which call window the customer prefers for callbacks")

    @field_validator("channels")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a channel is listed twice")
        return value


class OwnedVehicle(BaseModel):
    vin: str
    plate: str | None = None
    model: str | None = None
    sold_at: date | None = None
    since: datetime
    until: datetime | None = None
    current: bool


class CustomerPublic(BaseModel):
    id: str
    store_id: str
    name: str
    phone: str
    club_member: bool
    club_since: date | None = None
    contact_preferences: ContactPreferences
    first_seen_at: datetime
    last_visit_at: datetime | None = None
    vehicles: list[OwnedVehicle]
    version: int
    created_at: datetime
    updated_at: datetime


CustomerList = Page[CustomerPublic]


class CustomerUpdate(BaseModel):
    """Only what the store decides about a customer; name, phone and vehicles come from reception."""

    model_config = ConfigDict(extra="forbid")

    club_member: bool | None = None
    club_since: Day | None = Field(default=None, description="defaults to today (store time) when joining")
    contact_preferences: ContactPreferences | None = None
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION, description="the version read; or send If-Match")


class Owner(BaseModel):
    customer_id: str
    store_id: str
    since: datetime
    until: datetime | None = None


class Operation(BaseModel):
    kind: str
    op_code: str | None = None
    description: str
    hours: str | None = None
    pay_type: str


class PartUsed(BaseModel):
    part_no: str | None = None
    description: str
    quantity: str
    pay_type: str


class Visit(BaseModel):
    repair_order_id: str
    number: str
    store_id: str
    date: datetime = Field(description="when the vehicle was delivered back to the customer")
    opened_at: datetime | None = None
    mileage_km: int | None = None
    operations: list[Operation]
    parts: list[PartUsed]
    amount_fen: int = Field(description="all lines of the order before tax, whoever pays")
    customer_due_fen: int = Field(description="what the customer paid")
    advisor: dict[str, str | None]


class VehicleHistory(BaseModel):
    vin: str
    plate: str | None = None
    model: str | None = None
    sold_at: date | None = None
    owners: list[Owner]
    items: list[Visit]
    next_cursor: str | None = None
