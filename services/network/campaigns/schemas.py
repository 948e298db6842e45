from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from services.common.inputs import MAX_HOURS, MAX_QUANTITY, Day


class CampaignKind(StrEnum):
    RECALL = "recall"  # a safety or compliance defect: the brand must reach every car
    SERVICE = "service"  # a product improvement the brand offers free


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


# A campaign runs at most this long: a recall stays open for years, but not unbounded.
MAX_CAMPAIGN_DAYS = 3_660


class CampaignPart(BaseModel):
    part_no: str = Field(min_length=1, max_length=32)
    quantity: Decimal = Field(gt=0, le=MAX_QUANTITY, decimal_places=2)


class CampaignCreate(BaseModel):
    code: Annotated[str, Field(min_length=2, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$",
                               description="the brand's campaign code, e.g. RC-2026-014")]
    kind: CampaignKind
    title_zh: str = Field(min_length=1, max_length=200)
    title_en: str = Field(min_length=1, max_length=200)
    op_code: str = Field(min_length=1, max_length=32, description="a labour operation of data/labor_operations.json")
    parts: list[CampaignPart] = Field(default_factory=list, max_length=50)
    flat_hours: Decimal = Field(gt=0, le=MAX_HOURS, decimal_places=2)
    starts_on: Day
    ends_on: Day

    @model_validator(mode="after")
    def _dates_in_order(self) -> "CampaignCreate":
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        if (self.ends_on - self.starts_on).days > MAX_CAMPAIGN_DAYS:
            raise ValueError(f"a campaign runs at most {MAX_CAMPAIGN_DAYS} days")
        return self


class CampaignPublic(BaseModel):
    id: str
    code: str
    kind: CampaignKind
    title_zh: str
    title_en: str
    op_code: str
    parts: list[CampaignPart]
    flat_hours: Decimal
    starts_on: date
    ends_on: date
    status: CampaignStatus
    vin_count: int
    created_at: datetime
    published_at: datetime | None = None


class CampaignList(BaseModel):
    items: list[CampaignPublic]
    next_cursor: str | None = None


class VinUpload(BaseModel):
    campaign_id: str
    vin_count: int = Field(description="distinct VINs the campaign now lists")
    lines: int = Field(description="lines read, blank lines and a header included")
    duplicates: int = Field(description="lines repeating a VIN seen earlier in the file")


class OpenCampaign(BaseModel):
    """A campaign a car is due: what the advisor adds as the campaign line."""

    campaign_id: str
    code: str
    kind: CampaignKind
    title_zh: str
    title_en: str
    op_code: str
    parts: list[CampaignPart]
    flat_hours: Decimal
    ends_on: date


class VehicleCampaigns(BaseModel):
    vin: str
    on: date = Field(description="the day (China time) the campaigns are open on")
    campaigns: list[OpenCampaign]


class StoreCompletion(BaseModel):
    store_id: str
    store_code: str
    store_name: str
    region: str
    completed: int


class RegionCompletion(BaseModel):
    region: str
    completed: int


class CampaignCompletion(BaseModel):
    campaign_id: str
    code: str
    affected: int | None = Field(description="VINs the campaign lists; null for a store, which sees its own work")
    completed: int
    completion_rate: Decimal | None = Field(description="completed / affected, four places; null for a store")
    regions: list[RegionCompletion]
    stores: list[StoreCompletion]
