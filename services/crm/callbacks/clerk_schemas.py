"""Wire shapes of the information clerk's routes: call windows, tracking and invitation
follow-up calls, the next service and its booking, return repairs, club suggestions."""
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.inputs import AwareMoment
from services.common.pagination import Page

Part = Literal["morning", "afternoon"]
CREDENTIAL = 'the key or sign-in they used: "key:<key id>" or "token:<sign-in>"; null where it was not recorded'


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(pattern=r"^\d{2}:\d{2}$", description="HH:MM, store time; the window includes it")
    end: str = Field(pattern=r"^\d{2}:\d{2}$", description="HH:MM, store time; the window ends before it")
    part: Part | None = Field(default=None, description="default: morning for a start before 12:00")


class CallWindowsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    windows: list[WindowIn] = Field(min_length=1, max_length=8)


class CallWindowsPublic(BaseModel):
    store_id: str
    windows: list[dict[str, str]]
    source: Literal["store", "default"] = Field(description="the store's own, or data/call_windows.json's")
    updated_at: datetime | None = None
    updated_by: str | None = Field(default=None, description="the person who set the store's windows (for a "
                                                             "machine's own key, the key's id)")
    updated_by_name: str | None = Field(default=None, description="their name then")
    updated_by_credential: str | None = Field(default=None, description=CREDENTIAL)


class ScriptLine(BaseModel):
    zh: str
    en: str


class NextService(BaseModel):
    """The car's next maintenance, from data/maintenance_policy.json and its history in CRM."""

    op_code: str
    item_zh: str
    item_en: str
    kind: Literal["first_maintenance", "periodic_maintenance"]
    due_on: date
    due_km: int
    projected_km: int = Field(description="the odometer expected on due_on at the car's own pace")
    overdue: bool
    reason: str
    booking: dict | None = Field(default=None, description="an offer made on a call and whether reception booked it")


class CallTaskPublic(BaseModel):
    id: str
    store_id: str
    kind: Literal["tracking", "invitation_follow_up"]
    customer_id: str | None = None
    customer_name: str | None = None
    phone: str | None = None
    club_member: bool = False
    vin: str | None = None
    repair_order_id: str | None = None
    repair_order_number: str | None = None
    reminder_id: str | None = None
    due_at: datetime
    due_at_local: str
    overdue: bool
    status: Literal["pending", "done", "cancelled"]
    result: str | None = None
    note: str
    done_at: datetime | None = None
    done_by: str | None = Field(default=None, description="the person who recorded the result (for a machine's "
                                                          "own key, the key's id; \"system\" for a call a "
                                                          "booking cancelled)")
    done_by_name: str | None = Field(default=None, description="their name then")
    done_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    script: list[ScriptLine] = Field(description="what to say; club members get the member script too")
    results: list[dict[str, str]] = Field(description="the results this call may end with")
    next_service: NextService | None = None
    created_at: datetime
    version: int


CallTaskList = Page[CallTaskPublic]


class CallResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: str = Field(min_length=1, max_length=32, description="one of the call's results (data/call_scripts.json)")
    note: str = Field(default="", max_length=2000)


class BookingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheduled_at: AwareMoment = Field(description="the time the customer agreed to, for reception to book")
    note: str | None = Field(default=None, max_length=2000)


class BookingOfferPublic(BaseModel):
    id: str
    store_id: str
    vin: str
    customer_id: str | None = None
    via: str
    op_code: str
    service_type: str
    scheduled_at: datetime
    offered_at: datetime
    offered_by: str = Field(description="the person who made the offer on the call (for a machine's own key, "
                                        "the key's id)")
    offered_by_name: str | None = Field(default=None, description="their name then")
    offered_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    appointment_id: str | None = None
    booked_at: datetime | None = None
    appointment_request: dict = Field(
        description="the body for reception's POST /v1/appointments (send with X-Store-Id: store_id)")


class ReturnRepairCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=4000, description="what the customer says is wrong again")


class ReturnRepairPublic(BaseModel):
    id: str
    store_id: str
    customer_id: str | None = None
    customer_name: str | None = None
    phone: str | None = None
    vin: str
    repair_order_id: str | None = None
    repair_order_number: str | None = None
    reported_via: str
    description: str
    status: Literal["reported", "came_back"]
    for_role: Literal["service_manager"] = "service_manager"
    reported_at: datetime
    reported_by: str = Field(description="the person who took the report on the call (for a machine's own key, "
                                         "the key's id)")
    reported_by_name: str | None = Field(default=None, description="their name then")
    reported_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    comeback_repair_order_id: str | None = None
    came_back_at: datetime | None = None


ReturnRepairList = Page[ReturnRepairPublic]


class SuggestionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000, description="the member's suggestion, in their words")


class SuggestionPublic(BaseModel):
    id: str
    store_id: str
    customer_id: str
    customer_name: str | None = None
    via: str
    text: str
    recorded_at: datetime
    recorded_by: str = Field(description="the person who took it down (for a machine's own key, the key's id)")
    recorded_by_name: str | None = Field(default=None, description="their name then")
    recorded_by_credential: str | None = Field(default=None, description=CREDENTIAL)


SuggestionList = Page[SuggestionPublic]
