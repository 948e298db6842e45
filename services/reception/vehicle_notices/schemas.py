from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class CampaignPart(BaseModel):
    part_no: str
    quantity: Decimal


class OpenCampaign(BaseModel):
    """A recall or service campaign the car is in and which is open today (China time)."""

    campaign_id: str
    code: str
    kind: str = Field(description="recall | service")
    title_zh: str
    title_en: str
    op_code: str = Field(description="the labour operation the campaign pays for")
    flat_hours: Decimal | None = Field(description="the hours the brand pays; null until the campaign's "
                                                   "network.campaign.published has reached reception")
    parts: list[CampaignPart] | None = None
    starts_on: date
    ends_on: date


class ThreeGuaranteesFigures(BaseModel):
    """The car's Three Guarantees (三包) counts as network last worked them out."""

    validity: str = Field(description="in_validity | expired | unknown (no sale date known)")
    valid_until: date | None = None
    cumulative_repair_days: int
    same_problem_repairs: dict[str, int] = Field(description="quality problem (labour category) -> repairs")
    serious_safety_fault_repairs: int
    engine_or_transmission_replacements: int
    alerts: list[str] = Field(description="thresholds at one step or reached, e.g. same_problem_repairs:brakes")
    updated_at: datetime


class ThreeGuaranteesAlertPublic(BaseModel):
    threshold: str
    kind: str
    remedy: str = Field(description="replacement | refund | loaner_or_transport_allowance")
    status: str = Field(description="one_step | reached (a loaner: owed)")
    value: int
    limit: int
    problem: str | None = None
    loaner_owed: bool
    message_zh: str
    message_en: str
    raised_at: datetime


class VehicleNotices(BaseModel):
    """What the advisor must see of the car at booking and check-in."""

    vin: str
    on: date = Field(description="the day (China time) the campaigns are open on")
    campaigns: list[OpenCampaign]
    three_guarantees: ThreeGuaranteesFigures | None = Field(
        description="三包 figures; null while network has sent none for this car (no warranty repair closed)")
    three_guarantees_alerts: list[ThreeGuaranteesAlertPublic]
