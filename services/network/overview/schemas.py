from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from services.network.kpis.schemas import NetworkFigures, Revenue
from services.network.targets.schemas import MeasureAttainment


class Bucket(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday first
    MONTH = "month"


class StoreCounts(BaseModel):
    """Stores by state now."""

    onboarding: int = 0
    active: int = 0
    suspended: int = 0
    total: int = 0


class AreaOverview(BaseModel):
    area_id: str
    area_code: str = Field(description="an area whose code is a province's ISO 3166-2:CN code (ZJ, GD …) "
                                       "is that province on the dashboard's grid")
    area_name: str
    region_id: str
    stores: StoreCounts = Field(description="the stores in the area now")
    figures: NetworkFigures = Field(description="each store counted for the days of the window it was here")


class RegionOverview(BaseModel):
    region_id: str
    region_code: str
    region_name: str
    claim_review_limit_fen: int = Field(default=0, description=(
        "the region's managers decide its stores' claims up to this amount; above it, HQ"))
    stores: StoreCounts
    figures: NetworkFigures
    areas: list[AreaOverview]


class StoreLeader(BaseModel):
    store_id: str
    store_code: str
    store_name: str
    region_id: str | None
    revenue_fen: int = Field(description="revenue of every payer in the window")
    repair_orders_delivered: int


class TheRest(BaseModel):
    stores: int = Field(description="stores with revenue in the window beyond the leaders")
    revenue_fen: int


class Funnel(BaseModel):
    """From application to active outlet, as things stand now."""

    applications_submitted: int = Field(description="waiting for HQ's review")
    applications_approved: int
    applications_rejected: int
    outlets_onboarding: int = Field(description="partner outlets working through the checklist")
    outlets_active: int
    outlets_suspended: int


class RegionAttainment(BaseModel):
    region_id: str
    stores: int = Field(description="how many stores the region holds now")
    measures: list[MeasureAttainment]


class Attainment(BaseModel):
    """The targets and attainment of the month `to` falls in, for the network and each region
    shown, as GET /v1/targets/attainment computes its groups (a store counts in the region it
    is in now; a group covers those of its stores with a target for the measure)."""

    period: str = Field(description="YYYY-MM")
    days_in_month: int
    network: list[MeasureAttainment]
    regions: list[RegionAttainment]


class Overview(BaseModel):
    """What the HQ dashboard's first screen shows, in one read: the network's figures, each
    region's and area's (a store moved during the window counts for its days in each, as
    GET /v1/regions/{id}/kpis does), the leading stores by revenue and the rest, store counts
    and the onboarding funnel. A region manager sees its own regions, and the network as
    their sum."""

    model_config = {"populate_by_name": True}

    from_: date = Field(serialization_alias="from", validation_alias="from")
    to: date
    network: NetworkFigures
    stores: StoreCounts
    regions: list[RegionOverview]
    unplaced: NetworkFigures | None = Field(description="stores in no region (HQ only); null when there are none")
    leaders: list[StoreLeader] = Field(description="the stores with the most revenue in the window, most first")
    rest: TheRest
    funnel: Funnel
    attainment: Attainment = Field(description="targets and attainment of the month `to` falls in")


class TrendPoint(BaseModel):
    start: date
    end: date = Field(description="the bucket's last day within the window")
    repair_orders_opened: int
    repair_orders_delivered: int
    revenue_fen: Revenue
    accessories_revenue_fen: int
    claims_submitted: int
    claims_approved_fen: int
    comebacks: int
    first_time_fix_rate: Decimal | None
    csi_average: Decimal | None


class Trend(BaseModel):
    """Figures per day, ISO week or month over a window, for the network (a region manager:
    its regions), one region (its stores for their days there) or one store. States at a
    moment (open complaints) are not summed over buckets and are left out."""

    model_config = {"populate_by_name": True}

    bucket: Bucket
    from_: date = Field(serialization_alias="from", validation_alias="from",
                        description="the first bucket's first day (a Monday, a 1st for months)")
    to: date
    store_id: str | None = None
    region_id: str | None = None
    points: list[TrendPoint]
