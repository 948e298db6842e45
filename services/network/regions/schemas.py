from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from services.common.inputs import MAX_LINE_FEN, Day
from services.common.pagination import Page
from services.network.kpis.schemas import NetworkFigures, StoreFigures

CODE = r"^[A-Z0-9][A-Z0-9-]*$"


class AreaCreate(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=CODE, description="unique within its region")
    name: str = Field(min_length=1, max_length=100)


def _claim_review_limit(default: int | None):
    return Field(default=default, ge=0, le=MAX_LINE_FEN, description=(
        "the largest claim (amount claimed, fen) the region's managers approve or reject themselves; a larger "
        "one is HQ's to decide. 0: every claim goes to HQ"))


class RegionCreate(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=CODE, examples=["EAST"])
    name: str = Field(min_length=1, max_length=100, examples=["华东大区 East"])
    claim_review_limit_fen: int = _claim_review_limit(0)
    areas: list[AreaCreate] = Field(default_factory=list, max_length=100)

    @field_validator("areas")
    @classmethod
    def _codes_once(cls, value: list[AreaCreate]) -> list[AreaCreate]:
        if len({a.code for a in value}) != len(value):
            raise ValueError("each area code once")
        return value


class RegionUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    claim_review_limit_fen: int | None = _claim_review_limit(None)


class ManagersReplace(BaseModel):
    person_ids: list[str] = Field(max_length=20, description=(
        "the region's managers from now on: active people of the staff directory whose HQ role is region_manager"))

    @field_validator("person_ids")
    @classmethod
    def _once(cls, value: list[str]) -> list[str]:
        if any(not 1 <= len(p) <= 64 for p in value):
            raise ValueError("a person id is 1 to 64 characters")
        if len(set(value)) != len(value):
            raise ValueError("each person once")
        return value


class StoreMove(BaseModel):
    area_id: str = Field(min_length=1, max_length=64)
    effective_from: Day | None = Field(default=None, description=(
        "the store's first day (its own time zone) in the new area; default today, or for a store never placed "
        "the day it was created. Not in the future, and not before the day it entered its current area"))
    reason: str = Field(min_length=1, max_length=500)


class AreaPublic(BaseModel):
    id: str
    region_id: str
    code: str
    name: str
    store_count: int = Field(description="stores in the area now")
    created_at: datetime


class ManagerPublic(BaseModel):
    person_id: str
    name: str
    assigned_at: datetime


class RegionPublic(BaseModel):
    id: str
    code: str
    name: str
    store_count: int
    claim_review_limit_fen: int
    areas: list[AreaPublic]
    managers: list[ManagerPublic]
    created_at: datetime
    version: int


RegionList = Page[RegionPublic]


class MembershipPublic(BaseModel):
    region_id: str
    region_code: str
    area_id: str
    area_code: str
    from_day: date
    until_day: date | None = Field(description="the first day elsewhere; null: there now")
    reason: str | None
    moved_by: str
    moved_at: datetime


class StorePlacement(BaseModel):
    store_id: str
    region_id: str | None
    area_id: str | None
    history: list[MembershipPublic] = Field(description="oldest first")


class RegionKpis(BaseModel):
    """A region's figures over a window: each store's figures for the days it was in the
    region (a store moved in or out during the window counts only its days here), and the
    region's from their summed counters. complaints_open and complaints_overdue, states at
    the window's end, count the stores in the region on its last day."""

    model_config = {"populate_by_name": True}

    from_: date = Field(serialization_alias="from", validation_alias="from")
    to: date
    region_id: str
    region_code: str
    stores: list[StoreFigures]
    region: NetworkFigures
