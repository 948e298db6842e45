from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from services.common.inputs import Day
from services.network.policies.bodies import Change, PolicyName

# How far ahead a version may be published: each later version must take effect after it,
# so a mistyped year would hold the policy as it is until then.
MAX_DAYS_AHEAD = 366


class PolicyVersionCreate(BaseModel):
    effective_from: Day = Field(description="the first day (China time) the version is in force: today or later, "
                                            f"at most {MAX_DAYS_AHEAD} days ahead, after every earlier version's")
    body: dict[str, Any] = Field(description="the whole policy, in the shape of its file in data/ (unknown keys 422)")
    note: str | None = Field(default=None, max_length=500, description="why it changed")


class PolicyVersionPublic(BaseModel):
    name: PolicyName
    version: int
    effective_from: date
    effective_until: date | None = Field(description="the day the next version takes effect; null: none yet")
    body: dict[str, Any]
    note: str | None
    created_at: datetime
    created_by: str
    changes: list[Change] = Field(description="what this version changed from the one before (empty for version 1)")


class PolicyVersionList(BaseModel):
    name: PolicyName
    items: list[PolicyVersionPublic]


class PolicyVersionChanges(BaseModel):
    """One version as a store reads what it changed."""

    version: int
    effective_from: date
    note: str | None
    created_at: datetime
    changes: list[Change] = Field(description="what it changed from the version before")


class PolicyChanges(BaseModel):
    name: PolicyName
    title_zh: str
    title_en: str
    since: date
    version_on_since: int | None = Field(description="the version in force on `since`, which the changes start from")
    versions: list[PolicyVersionChanges] = Field(description="every version taking effect after `since`, oldest "
                                                             "first, those announced for later days included")
    overall: list[Change] = Field(description="what the latest version changed from the one in force on `since`, "
                                              "all versions between taken together")


class UpcomingVersion(BaseModel):
    version: int
    effective_from: date


class PolicySummary(BaseModel):
    name: PolicyName
    title_zh: str
    title_en: str
    version: int = Field(description="the version in force today (China time)")
    effective_from: date
    upcoming: list[UpcomingVersion] = Field(description="versions announced for later days")


class PolicySummaryList(BaseModel):
    items: list[PolicySummary]
