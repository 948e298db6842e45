from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

OpenState = Literal["awaiting_approval", "approved", "in_progress", "ready"]
AgeBucket = Literal["under_1_day", "1_to_3_days", "3_to_7_days", "over_7_days"]

STATE_LABELS: dict[str, str] = {
    "awaiting_approval": "待客户确认 awaiting approval",
    "approved": "已确认待开工 approved, not started",
    "in_progress": "维修中 in progress",
    "ready": "完工待交车 ready for collection",
}
BUCKET_LABELS: dict[str, str] = {
    "under_1_day": "1天以内 under 1 day",
    "1_to_3_days": "1至3天 1 to 3 days",
    "3_to_7_days": "3至7天 3 to 7 days",
    "over_7_days": "7天以上 over 7 days",
}


class PromiseOutlook(BaseModel):
    """Whether an unfinished order can still be ready by its promised time."""

    promised_at: datetime
    work_left_hours: Decimal = Field(description="flat-rate hours of the order's unfinished jobs")
    queued_before_hours: Decimal = Field(
        description="other orders' hours queued before it on its busiest technician")
    hours_needed: Decimal = Field(description="working hours until its last job is done, queue included")
    hours_left: Decimal = Field(description="working hours from now to the promised time")
    at_risk: bool = Field(description="needs more working time than is left, while the promise is still ahead")
    late: bool = Field(description="the promised time has passed and the order is not ready")


class StateCount(BaseModel):
    state: OpenState
    label: str
    count: int


class BucketCount(BaseModel):
    bucket: AgeBucket
    label: str
    count: int


class BoardOrder(BaseModel):
    id: str
    number: str
    vin: str
    plate: str | None = None
    model: str | None = None
    status: OpenState
    in_shop_since: datetime = Field(description="opened at reception, else approved")
    age_hours: Decimal
    age_bucket: AgeBucket
    jobs: int
    jobs_done: int = Field(description="completed or passed quality check")
    waiting_approval: bool
    waiting_parts: bool
    parts_short: int = Field(description="units still owed to the order's backordered reservations")
    in_qc: int = Field(description="jobs completed and waiting for their quality check")
    promise: PromiseOutlook | None = None


class WorkInProgressBoard(BaseModel):
    store_id: str
    as_of: datetime
    open_orders: int
    by_state: list[StateCount]
    ageing: list[BucketCount]
    waiting_approval: int
    waiting_parts: int
    in_qc: int = Field(description="orders with a job waiting for its quality check")
    at_risk: int
    late: int
    average_age_hours: Decimal | None = Field(description="of the open orders, now")
    average_time_in_shop_hours: Decimal | None = Field(
        description="in shop to delivery, over the orders delivered in the last time_in_shop_days")
    delivered_counted: int
    time_in_shop_days: int
    orders: list[BoardOrder] = Field(description="oldest first")
