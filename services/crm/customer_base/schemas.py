from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.crm.callbacks.clerk_schemas import NextService

AdvisorStatus = Literal["active", "left", "not_an_advisor", "unknown"]
ADVISOR_STATUS_DESCRIPTION = (
    "from network's staff directory: active (a service advisor of the store), left, not_an_advisor (no longer "
    "an advisor in this store) or unknown (not in the directory, e.g. a machine's key)")


class Retention(BaseModel):
    today: date = Field(description="the store's day the figures are counted on")
    retained_since: date = Field(description="a car is retained when its last visit is on or after this day: "
                                             "within the last twelve months")
    vehicles: int
    retained: int
    retention_rate: float | None = Field(default=None, description="retained / vehicles, 4 decimals")


class AdvisorSummary(BaseModel):
    advisor_id: str
    advisor_name: str | None = None
    status: AdvisorStatus = Field(description=ADVISOR_STATUS_DESCRIPTION)
    awaiting_reassignment: bool = Field(description="the advisor has left or is no longer an advisor here, and "
                                                    "still has cars: the service manager reassigns them")
    vehicles: int
    retained: int
    retention_rate: float | None = None


class StoreBaseSummary(Retention):
    store_id: str
    counted_at: datetime
    advisors: list[AdvisorSummary]


class BaseOwner(BaseModel):
    customer_id: str
    name: str | None = None
    phone: str | None = None


class LastVisit(BaseModel):
    at: datetime = Field(description="when the car came in (its repair order was opened)")
    day: date = Field(description="that moment's day in the store")
    repair_order_id: str
    served_by: str
    served_by_name: str | None = None


class BaseCarPublic(BaseModel):
    vin: str
    plate: str | None = None
    model: str | None = None
    owner: BaseOwner
    last_visit: LastVisit
    retained: bool
    next_service: NextService | None = None
    came_by: Literal["served", "reassigned", "moved"] = Field(
        description="served: the advisor served its last visit; reassigned or moved: the service manager gave it")
    in_base_since: datetime


class AdvisorBase(Retention):
    advisor_id: str
    advisor_name: str | None = None
    store_id: str
    status: AdvisorStatus = Field(description=ADVISOR_STATUS_DESCRIPTION)
    items: list[BaseCarPublic]
    next_cursor: str | None = None


class Reassign(BaseModel):
    from_person_id: str = Field(min_length=1, max_length=64)
    to_person_id: str | None = Field(default=None, min_length=1, max_length=64,
                                     description="the advisor who takes the whole base")
    split_evenly: bool = Field(default=False, description="instead of to_person_id: share the base evenly among "
                                                          "the store's other active advisors")


class MoveCar(BaseModel):
    vin: str = Field(min_length=1, max_length=32)
    to_person_id: str = Field(min_length=1, max_length=64)


class Share(BaseModel):
    advisor_id: str
    advisor_name: str | None = None
    vehicles: int


class ReassignmentPublic(BaseModel):
    id: str
    store_id: str
    kind: Literal["whole_base", "one_car"]
    from_person_id: str
    to_person_id: str | None = None
    split_evenly: bool
    vin: str | None = None
    vehicles: int
    shares: list[Share]
    reassigned_at: datetime
    reassigned_by: str
    reassigned_by_name: str | None = None
    reassigned_by_credential: str | None = None
