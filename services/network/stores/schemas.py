from datetime import datetime
from typing import Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, Field, field_validator

from services.common.pagination import Page

StoreKind = Literal["dealer_store", "partner_outlet"]
StoreStatus = Literal["onboarding", "active", "suspended"]


class StoreCreate(BaseModel):
    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$")
    name: str = Field(min_length=1, max_length=200)
    kind: StoreKind
    region: str = Field(min_length=1, max_length=64)
    city: str = Field(min_length=1, max_length=64)
    timezone: str = "Asia/Shanghai"
    area_id: str | None = Field(default=None, min_length=1, max_length=64, description=(
        "the area (片区) the store opens in; its region's code then becomes `region`. Left out, HQ places the "
        "store later with PUT /v1/stores/{id}/area"))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError("not an IANA time zone")
        return value


class StoreSuspend(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class StorePublic(BaseModel):
    id: str
    code: str
    name: str
    kind: StoreKind
    region: str
    city: str
    timezone: str
    status: StoreStatus
    created_at: datetime
    activated_at: datetime | None = None
    suspended_at: datetime | None = None
    suspension_reason: str | None = None
    version: int
    region_id: str | None = Field(default=None, description="the region it is in now; null: not placed yet")
    area_id: str | None = Field(default=None, description="the area it is in now")


StoreList = Page[StorePublic]
