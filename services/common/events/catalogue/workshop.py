"""Events workshop and parts emit."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from ..envelope import Event, event_type


class _JobEvent(Event):
    job_id: str
    store_id: str
    repair_order_id: str
    line_id: str
    op_code: str
    technician_id: str | None = None  # workshop's own technician record
    # Added (optional): the staff-directory person that record works under, when it has one,
    # so whoever credits the work (network's appraisal) credits the person who signs in.
    technician_person_id: str | None = None
    technician_name: str | None = None


@event_type("workshop.job.created", aggregate="job")
class JobCreated(_JobEvent):
    flat_rate_hours: str
    created_at: datetime


@event_type("workshop.job.started", aggregate="job")
class JobStarted(_JobEvent):
    started_at: datetime


class _QualityCheckEvent(_JobEvent):
    inspector: str  # the person who checked (or a machine's own key)
    # Their name as signed (not the name the caller may write on the job card) and the key
    # or sign-in they checked with; absent from events sent before they were carried.
    inspector_name: str | None = None
    inspector_credential: str | None = None


@event_type("workshop.job.qc_passed", aggregate="job")
class JobQcPassed(_QualityCheckEvent):
    flat_rate_hours: str
    clocked_hours: str
    rework_count: int = 0
    passed_at: datetime


@event_type("workshop.job.qc_failed", aggregate="job")
class JobQcFailed(_QualityCheckEvent):
    notes: str = ""
    rework_count: int
    failed_at: datetime


@event_type("workshop.repair_order.work_started", aggregate="repair_order")
class RepairOrderWorkStarted(Event):
    repair_order_id: str
    store_id: str
    started_at: datetime


@event_type("workshop.repair_order.ready", aggregate="repair_order")
class RepairOrderReady(Event):
    repair_order_id: str
    store_id: str
    ready_at: datetime
    jobs: int
    clocked_hours: str
    flat_rate_hours: str


@event_type("workshop.reservation.backordered", aggregate="reservation")
class ReservationBackordered(Event):
    reservation_id: str
    store_id: str
    repair_order_id: str
    part_no: str
    quantity: int
    short_quantity: int
    backordered_at: datetime


@event_type("workshop.reservation.issued", aggregate="reservation")
class ReservationIssued(Event):
    reservation_id: str
    store_id: str
    repair_order_id: str
    part_no: str
    quantity: int
    filled_from_stock: bool = True  # False when it had to wait on a backorder
    reserved_at: datetime | None = None
    issued_at: datetime


@event_type("workshop.stock.low", aggregate="stock")
class StockLow(Event):
    store_id: str
    part_no: str
    available: int
    reorder_point: int
    detected_at: datetime


@event_type("workshop.comeback.detected", aggregate="comeback")
class ComebackDetected(Event):
    comeback_id: str
    store_id: str
    vin: str
    op_code: str
    repair_order_id: str
    original_repair_order_id: str
    original_technician_id: str | None = None
    original_delivered_at: datetime
    detected_at: datetime
    # Added by workshop (optional): where the first repair was done, the two jobs, and the gap.
    original_store_id: str | None = None
    job_id: str | None = None
    original_job_id: str | None = None
    days_since_delivery: int | None = None
    # Added (optional): the staff-directory person the first repair's technician record works under.
    original_technician_person_id: str | None = None
    original_technician_name: str | None = None


class CostedLine(BaseModel):
    """One line of a costed order: what it cost the store, for its revenue in reception's events."""

    model_config = ConfigDict(extra="allow")
    line_id: str | None = None  # None for parts issued over the counter to the order, outside its lines
    kind: str  # labor | part | sublet
    pay_type: str | None = None
    cost_fen: int
    clocked_hours: str | None = None  # labour: Decimal as text
    quantity: int | None = None  # parts: units issued and not returned


class CostByPayType(BaseModel):
    model_config = ConfigDict(extra="allow")
    pay_type: str
    parts_cost_fen: int = 0
    labor_cost_fen: int = 0
    sublet_cost_fen: int = 0


@event_type("workshop.order.costed", aggregate="repair_order")
class OrderCosted(Event):
    """What a delivered order cost the store, once per order, for network's gross margin:
    parts at their average cost when issued, labour at the technicians' cost rates for the
    hours clocked, sublet at its recorded cost. Integer fen."""

    repair_order_id: str
    store_id: str
    costed_at: datetime
    parts_cost_fen: int
    labor_cost_fen: int
    sublet_cost_fen: int
    total_cost_fen: int
    number: str | None = None
    delivered_at: datetime | None = None
    clocked_hours: str | None = None
    by_pay_type: list[CostByPayType] | None = None  # warranty and internal work apart
    lines: list[CostedLine] | None = None
    # What the figures lack (a technician without a cost rate, a sublet without its bill), if anything.
    missing: list[str] | None = None


class _SubletOrderEvent(Event):
    """Outsourced work (委外): one repair order's sublet line sent to a vendor."""

    sublet_order_id: str
    number: str
    store_id: str
    repair_order_id: str
    line_id: str
    vendor_id: str
    vendor_name: str
    work: str
    agreed_price_fen: int
    promised_on: date  # the day the vendor promised it back, the store's calendar


@event_type("workshop.sublet_order.sent", aggregate="sublet_order")
class SubletOrderSent(_SubletOrderEvent):
    sent_at: datetime
    sent_by: str | None = None


@event_type("workshop.sublet_order.returned", aggregate="sublet_order")
class SubletOrderReturned(_SubletOrderEvent):
    returned_at: datetime
    note: str | None = None


@event_type("workshop.sublet_order.inspected", aggregate="sublet_order")
class SubletOrderInspected(_SubletOrderEvent):
    """The store's check of the vendor's work: a fail sends it back to the vendor (status `sent`,
    with the new promised day if one was given)."""

    result: str  # pass | fail
    inspected_at: datetime
    inspector: str
    inspector_name: str | None = None
    note: str | None = None
    status: str  # after the check: inspected (pass) or sent (back to the vendor)


@event_type("workshop.sublet_order.invoice_matched", aggregate="sublet_order")
class SubletOrderInvoiceMatched(_SubletOrderEvent):
    """The vendor's invoice is the work's cost: within the tolerance of the agreed price at once,
    or accepted by a manager after it was held (`accepted_by` set)."""

    invoice_number: str
    invoice_amount_fen: int
    difference_fen: int  # invoice less agreed price
    tolerance_fen: int
    invoiced_at: datetime
    cost_fen: int  # what the work costs the store, in the order's margin
    accepted_by: str | None = None
    accepted_by_name: str | None = None
    note: str | None = None


@event_type("workshop.sublet_order.invoice_held", aggregate="sublet_order")
class SubletOrderInvoiceHeld(_SubletOrderEvent):
    """An invoice further from the agreed price than the tolerance waits for the service or store manager."""

    invoice_number: str
    invoice_amount_fen: int
    difference_fen: int
    tolerance_fen: int
    received_at: datetime
