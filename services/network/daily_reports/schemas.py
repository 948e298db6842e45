from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from services.common.who import Who
from services.network.kpis.schemas import GrossMargin, Revenue
from services.network.targets.schemas import MeasureAttainment


class OrdersOfDay(BaseModel):
    opened: int = Field(description="repair orders opened (in)")
    delivered: int = Field(description="repair orders delivered (out)")


class ComplaintsOfDay(BaseModel):
    opened: int
    closed: int
    open_at_end: int = Field(description="open at the end of the day")
    overdue_at_end: int = Field(description="past their due time and not closed at the end of the day")


class CallbacksOfDay(BaseModel):
    due: int
    on_time: int = Field(description="of those due that day, completed by their due time")
    sla_rate: Decimal | None
    reached: int = Field(description="completed that day (the customer answered)")
    closed: int = Field(description="completed or given up as unreachable that day")
    surveys: int = Field(description="completed that day with a satisfaction score")
    csi_average: Decimal | None


class OrderMargin(BaseModel):
    repair_order_id: str
    number: str | None
    advisor_id: str | None
    revenue_fen: int
    cost_fen: int
    margin_fen: int
    complete: bool = Field(description="false: the workshop costed it with something missing")


class TargetsToDate(BaseModel):
    period: str
    days_elapsed: int = Field(description="days of the month up to the report's day, that day included")
    days_in_month: int
    measures: list[MeasureAttainment] = Field(description=(
        "the month's target, the actual from the 1st to the report's day, and the month at that pace"))


class SignOff(BaseModel):
    signed_by: Who
    role: str
    signed_at: datetime
    note: str | None
    changed_since: bool | None = Field(default=None, description=(
        "late events have changed the day's figures since they were signed (targets to date not compared); "
        "null in HQ's list, which does not compute the figures"))


class DailyReport(BaseModel):
    store_id: str
    store_code: str
    store_name: str
    date: date
    timezone: str
    orders: OrdersOfDay
    revenue_fen: Revenue = Field(description="revenue of the orders settled that day, by payer, before tax")
    gross_margin: GrossMargin = Field(description="of the orders delivered and costed that day")
    margin_orders: list[OrderMargin] = Field(description="those orders one by one")
    complaints: ComplaintsOfDay
    callbacks: CallbacksOfDay
    targets_to_date: TargetsToDate
    left_out: list[str] = Field(description="what the page cannot show yet, and why")
    sign_off: SignOff | None


class SignOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=500, description="the manager's remark on the day")


class StoreSignOff(BaseModel):
    store_id: str
    store_code: str
    store_name: str
    region: str
    status: str
    signed: bool
    sign_off: SignOff | None


class DaySignOffs(BaseModel):
    date: date
    stores_signed: int
    stores: list[StoreSignOff]
