from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.common.pagination import Page

Level = Literal["at_risk", "lost"]


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


ChurnList = Page[ChurnPublic]
