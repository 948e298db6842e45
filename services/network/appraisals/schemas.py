from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from services.network.targets.schemas import MeasureAttainment


class RevenueFen(BaseModel):
    labour: int
    parts: int
    accessories: int = Field(description="accessory lines of their orders and their counter sales, before tax")
    total: int


class MarginFigures(BaseModel):
    orders: int = Field(description="their orders delivered and costed in the month")
    orders_incomplete: int = Field(description="of them, costed with something missing: margin too high by it")
    revenue_fen: int
    cost_fen: int
    margin_fen: int | None = Field(description="null while none of their orders is costed")
    margin_rate: Decimal | None = Field(description="margin / revenue, 4 places")


class CsiFigures(BaseModel):
    surveys: int = Field(description="surveys with an overall score about their orders, recorded in the month")
    average: Decimal | None = Field(description="the mean overall score (1..5), 2 places")


class OnTimeFigures(BaseModel):
    promised: int = Field(description="their orders delivered in the month that had a promised time")
    ready_on_time: int = Field(description="of them, ready by the promise")
    rate: Decimal | None


class AccessoryFigures(BaseModel):
    repair_orders_fen: int = Field(description="accessory lines of their orders settled in the month")
    counter_sales: int = Field(description="counter sales they made")
    counter_fen: int = Field(description="accessories of those counter sales, before tax")
    total_fen: int


class CustomerBaseFigures(BaseModel):
    vehicles: int = Field(description="cars in their base as CRM last counted it in the month")
    retained: int = Field(description="of them, cars with a visit in the last twelve months")
    retention_rate: Decimal | None
    counted_on: str = Field(description="the local day of that count")


class AdvisorFigures(BaseModel):
    orders_delivered: int
    revenue_fen: RevenueFen
    gross_margin: MarginFigures
    csi: CsiFigures
    on_time: OnTimeFigures
    accessories: AccessoryFigures
    customer_base: CustomerBaseFigures | None = Field(description="null: CRM sent no count in the month")


class TechnicianFigures(BaseModel):
    jobs_passed: int = Field(description="jobs that passed quality check in the month")
    flat_rate_hours: Decimal
    clocked_hours: Decimal
    efficiency: Decimal | None = Field(description="flat-rate / clocked hours, 2 places, as workshop reports it")
    reworks: int = Field(description="quality checks those jobs failed before they passed")
    comebacks: int = Field(description="comebacks detected in the month on jobs they did")


class InformationClerkFigures(BaseModel):
    calls_made: int = Field(description="call attempts of the callbacks they closed in the month")
    callbacks_closed: int = Field(description="callbacks they completed or closed as unreachable")
    reached: int
    reach_rate: Decimal | None = Field(description="reached / closed")
    callbacks_due: int = Field(description="callbacks they closed that fell due in the month")
    on_time: int = Field(description="of them, completed by their due time")
    sla_rate: Decimal | None = Field(description="on time / due")
    problem_customers_closed: int = Field(description="complaints they closed in the month")


class WarrantyClerkFigures(BaseModel):
    claims_filed: int = Field(description="claims they filed first in the month")
    first_pass_decided: int = Field(description="first submissions of their claims decided for good in the month")
    first_pass_approved: int = Field(description="of them, approved in full or in part")
    first_pass_approval_rate: Decimal | None
    rejected_fen: int = Field(description="claimed less approved by the latest decision of their claims")
    part_returns_shipped: int
    part_returns_on_time: int = Field(description="of them, shipped by their ship-by time")
    part_returns_on_time_rate: Decimal | None


class PartsFigures(BaseModel):
    """The store's parts desk: workshop's reservation events name no clerk, so these are the
    desk's figures, shown for each parts clerk."""

    credited_to: str = Field(default="store", description="store: the desk's figures, not the person's own")
    reservations: int
    filled_from_stock: int
    fill_rate: Decimal | None
    stock_turns: Decimal | None = Field(default=None, description="null: see not_measured")
    not_measured: dict[str, str] = Field(default_factory=dict, description="a figure left out and why")


class PersonAppraisal(BaseModel):
    person_id: str = Field(description="the person credited: a staff-directory id, or as the events name them")
    name: str | None
    employee_no: str | None
    status: str | None = Field(description="active | left; null when not in the staff directory")
    in_directory: bool = Field(description="false: figures credited to an id the staff directory does not know "
                                           "(a workshop technician record working under no person, "
                                           "a machine's key)")
    roles: list[str] = Field(description="their role in the store (staff directory)")
    advisor: AdvisorFigures | None = None
    technician: TechnicianFigures | None = None
    information_clerk: InformationClerkFigures | None = None
    warranty_clerk: WarrantyClerkFigures | None = None
    parts: PartsFigures | None = None
    targets: list[MeasureAttainment] = Field(description="each measure the store gave the person a target for")


class StoreAppraisal(BaseModel):
    store_id: str
    store_code: str
    store_name: str
    region: str
    timezone: str
    days_in_month: int
    days_elapsed: int
    parts_desk: PartsFigures
    people: list[PersonAppraisal]


class AppraisalReport(BaseModel):
    month: str
    as_of: datetime
    stores: list[StoreAppraisal]
