from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field


class Revenue(BaseModel):
    customer: int = 0
    warranty: int = 0
    insurance: int = 0
    internal: int = 0
    goodwill: int = 0
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


class StoreFigures(Figures):
    store_id: str
    store_code: str


class KpiReport(BaseModel):
    from_: date = Field(serialization_alias="from", validation_alias="from")
    to: date
    stores: list[StoreFigures]
    network: Figures

    model_config = {"populate_by_name": True}


class RebuildResult(BaseModel):
    consumer_group: str
    events_read: int
    events_applied: int
    events_skipped: int
    seconds: float
