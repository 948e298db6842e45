from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from services.network.targets.schemas import MeasureAttainment


class Revenue(BaseModel):
    customer: int = 0
    warranty: int = 0
    insurance: int = 0
    internal: int = 0
    goodwill: int = 0
    first_maintenance: int = 0
    campaign: int = 0
    total: int = 0


class Figures(BaseModel):
    """Every KPI of data/kpi_definitions.json. Ratios and means are exact decimals computed
    from integer counters (rates to 4 places, means to 2, half up), sent as strings; null
    when the window has nothing to divide by."""

    repair_orders_opened: int
    repair_orders_delivered: int
    revenue_fen: Revenue
    appointment_show_rate: Decimal | None
    first_time_fix_rate: Decimal | None
    comebacks: int
    callback_sla_rate: Decimal | None
    csi_average: Decimal | None
    complaints_open: int
    complaints_overdue: int
    claims_submitted: int
    claims_approved_fen: int
    claim_cycle_hours: Decimal | None
    parts_fill_rate: Decimal | None
    roadside_response_minutes: Decimal | None
    technician_efficiency: Decimal | None
    effective_labour_rate_fen: int | None
    callback_reach_rate: Decimal | None
    accessories_revenue_fen: int


class MarginCost(BaseModel):
    parts: int = 0
    labour: int = 0
    sublet: int = 0
    total: int = 0


class MarginByPayer(BaseModel):
    customer: int = Field(0, description="customer-pay work")
    warranty: int = 0
    internal: int = 0
    other: int = Field(0, description="insurance, goodwill, parts issued over the counter to the order")


class GrossMargin(BaseModel):
    """Gross margin of the orders delivered in the window whose revenue (reception's lines,
    every payer, before tax) and cost (workshop's `order.costed`) are both known, in fen;
    counted on the order's local delivery day."""

    orders: int = Field(description="orders delivered and costed")
    orders_incomplete: int = Field(description="of them, costed with something missing (a rate, a sublet bill)")
    revenue_fen: int
    cost_fen: MarginCost
    margin_fen: int = Field(description="revenue - cost; a loss is negative")
    margin_rate: Decimal | None = Field(description="margin / revenue, 4 places; null without revenue")
    by_payer_fen: MarginByPayer = Field(description="the margin by who pays: warranty and internal work apart")


class StoreFigures(Figures):
    store_id: str
    store_code: str
    store_name: str | None = None
    gross_margin: GrossMargin
    targets: dict[str, int | None] | None = Field(default=None, description=(
        "the month of `to`: measure -> target (null where none is set)"))
    attainment: list[MeasureAttainment] | None = Field(default=None, description=(
        "the month of `to`, month to date: target, actual, attained and the projection per measure"))


class NetworkFigures(Figures):
    gross_margin: GrossMargin
    targets: dict[str, int | None] | None = None
    attainment: list[MeasureAttainment] | None = None


class KpiReport(BaseModel):
    from_: date = Field(serialization_alias="from", validation_alias="from")
    to: date
    stores: list[StoreFigures]
    network: NetworkFigures

    model_config = {"populate_by_name": True}


class RebuildResult(BaseModel):
    events_read: int
    events_applied: int
    events_skipped: int
    entities: int
    seconds: float
    write_seconds: float = Field(description="of them, the transaction that replaced the tables (the live "
                                             "consumer waits meanwhile)")


class RebuildJobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RebuildJobPublic(BaseModel):
    """A rebuild of the KPI projections from the topics, running in the background."""

    id: str
    state: RebuildJobState
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    events_total: int = Field(description="events in the topics when it started (grows by what arrives meanwhile)")
    events_read: int
    events_applied: int = Field(description="of them, KPI events applied")
    events_skipped: int = Field(description="of them, unreadable events left out")
    entities: int = Field(description="things counted (orders, appointments, callbacks, ...) once done")
    events_per_s: float | None = Field(description="events read per second since it started")
    error: str | None = Field(description="why it failed")


class RebuildJobList(BaseModel):
    items: list[RebuildJobPublic]
