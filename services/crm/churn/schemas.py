from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.pagination import Page

Level = Literal["at_risk", "lost"]
CREDENTIAL = 'the key or sign-in they used: "key:<key id>" or "token:<sign-in>"; null where it was not recorded'


class ChurnPublic(BaseModel):
    id: str
    store_id: str
    customer_id: str
    customer_name: str
    phone: str
    club_member: bool
    level: Level
    last_visit_at: datetime
    months_without_visit: int
    reason: str = Field(description="why the customer is on the list")
    has_booking: bool
    detected_at: datetime
    lost_at: datetime | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    cause: str | None = Field(default=None, description="why the customer stayed away (data/churn_rules.json)")
    cause_zh: str | None = None
    cause_en: str | None = None
    cause_note: str | None = None
    win_back_calls: list["WinBackCallPublic"] = Field(default_factory=list)
    won_back: bool = Field(default=False, description="came back after win-back calls")
    won_back_at: datetime | None = None
    won_back_by: str | None = None


class WinBackCallPublic(BaseModel):
    result: str
    note: str
    made_at: datetime
    made_by: str = Field(description="the person who made the call (for a machine's own key, the key's id)")
    made_by_name: str | None = Field(default=None, description="their name then")
    made_by_credential: str | None = Field(default=None, description=CREDENTIAL)


class CauseSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cause: str = Field(min_length=1, max_length=32, description="one of data/churn_rules.json's causes")
    note: str | None = Field(default=None, max_length=2000)


class WinBackCallCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: str = Field(min_length=1, max_length=32, description="one of data/churn_rules.json's win_back_results")
    note: str = Field(default="", max_length=2000)


ChurnList = Page[ChurnPublic]
