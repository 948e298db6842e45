from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.pagination import Page
from services.crm.customers.schemas import Channel

Kind = Literal["first_maintenance", "periodic_maintenance"]
Status = Literal["pending", "sent", "converted", "expired"]


class ReminderSend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel


class ReminderPublic(BaseModel):
    id: str
    store_id: str
    vin: str
    customer_id: str
    kind: Kind
    op_code: str
    due_on: date = Field(description="the day the maintenance falls due (store's calendar)")
    due_km: int
    projected_km: int = Field(description="mileage projected for the due day when the reminder was made")
    km_per_month: int
    reason: str
    status: Status
    created_at: datetime
    sent_at: datetime | None = None
    channel: str | None = None
    sent_by: str | None = Field(default=None, description="the person who sent it (for a machine's own key, the "
                                                          "key's id)")
    sent_by_name: str | None = Field(default=None, description="their name then")
    sent_by_credential: str | None = Field(
        default=None, description='the key or sign-in they used: "key:<key id>" or "token:<sign-in>"; '
                                  'null where it was not recorded')
    converted_at: datetime | None = None
    converted_by: str | None = Field(default=None, description="appointment:<id> or repair_order:<id>")
    expired_at: datetime | None = None
    version: int


ReminderList = Page[ReminderPublic]
