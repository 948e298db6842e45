from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from services.common.pagination import Page

MIN_YEAR, MAX_YEAR = 2000, 2100


class FunnelStep(StrEnum):
    """An outlet's way from application to active outlet, each step entered by a fact the
    platform already records (docs/network.md)."""

    APPLIED = "applied"          # the application was submitted
    APPROVED = "approved"        # HQ approved it: the outlet's store exists, onboarding
    CONTRACTED = "contracted"    # checklist: warranty and settlement agreement signed
    BUILDING = "building"        # checklist: the first of training, IT test, parts account done
    AUDITED = "audited"          # checklist: site audit against the standards passed
    ACTIVE = "active"            # the store was activated


STEP_NAMES = {
    FunnelStep.APPLIED: "已申请 applied", FunnelStep.APPROVED: "已批准 approved",
    FunnelStep.CONTRACTED: "已签约 contracted", FunnelStep.BUILDING: "建设中 building",
    FunnelStep.AUDITED: "已验收 audited", FunnelStep.ACTIVE: "已开业 active",
}


class PlannedCity(BaseModel):
    province: str = Field(min_length=1, max_length=50, examples=["浙江"])
    city: str = Field(min_length=1, max_length=50, examples=["杭州"])
    planned_outlets: int = Field(ge=1, le=1000)


class PlanPut(BaseModel):
    cities: list[PlannedCity] = Field(min_length=1, max_length=500)
    note: str | None = Field(default=None, max_length=500)

    @field_validator("cities")
    @classmethod
    def _each_city_once(cls, value: list[PlannedCity]) -> list[PlannedCity]:
        if len({(c.province, c.city) for c in value}) != len(value):
            raise ValueError("each city once")
        return value


class CityProgress(PlannedCity):
    applied: int = Field(description="applications from the city submitted in the plan's year")
    approved: int
    active: int = Field(description="of those, outlets active now")


class PlanPublic(BaseModel):
    id: str
    region_id: str
    region_code: str
    year: int
    planned_outlets: int
    applied: int
    approved: int
    active: int
    cities: list[CityProgress]
    note: str | None
    updated_at: datetime
    updated_by: str
    updated_by_name: str | None
    version: int


class PlanList(BaseModel):
    year: int
    items: list[PlanPublic]


class StepFigures(BaseModel):
    step: FunnelStep
    name: str = Field(description="Chinese first, English beside it")
    reached: int = Field(description="outlets that got this far")
    here_now: int = Field(description="outlets whose furthest step is this one (rejected applications excluded)")
    days_median: Decimal | None = Field(description="days from entering this step to entering the next, over the "
                                                    "outlets that went on; null when none did (and for active)")
    days_p90: Decimal | None
    went_on: int = Field(description="outlets the days are measured over")


class RegionFunnel(BaseModel):
    region_id: str | None = Field(description="null: applications from no region's planned city, not yet an outlet "
                                              "of a region (HQ sees this row only)")
    region_code: str | None
    planned_outlets: int
    rejected: int
    steps: list[StepFigures]


class Funnel(BaseModel):
    year: int
    regions: list[RegionFunnel]


class ChecklistProgress(BaseModel):
    done: int
    total: int
    missing: list[str] = Field(description="the codes of the items not done yet")


class OutletProgress(BaseModel):
    store_id: str
    store_code: str
    store_name: str
    city: str
    region_id: str | None
    status: str
    checklist: ChecklistProgress
    onboarding_since: datetime = Field(description="when its store was made (the application approved)")


OutletProgressList = Page[OutletProgress]
