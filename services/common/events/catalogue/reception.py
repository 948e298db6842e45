"""Events reception emits. They are the only thing other services know of a repair
order, so they carry everything: customer, vehicle, mileage, lines, pay types, amounts."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..envelope import Event, event_type

# Who pays a line. The brand pays `warranty`, `first_maintenance` (the free first service, 首保)
# and `campaign` (recall and service campaign work) and the store claims them from it; `goodwill`
# is the store's own gesture unless HQ pre-authorised it, then the brand's (a goodwill claim).
PayType = Literal["customer", "warranty", "insurance", "internal", "goodwill", "first_maintenance", "campaign"]
LineKind = Literal["labor", "part", "sublet", "fee", "accessory"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow")


class Customer(_Part):
    name: str
    phone: str


class Vehicle(_Part):
    vin: str
    plate: str | None = None
    model: str | None = None
    sold_at: date | None = None


class Principal(_Part):
    id: str  # the person (for a machine's own key, the key)
    name: str = ""
    role: str = ""
    credential: str | None = None  # the key or sign-in they came with


class RepairOrderLine(_Part):
    line_id: str
    kind: LineKind
    op_code: str | None = None
    part_no: str | None = None
    accessory_code: str | None = None  # an accessory line's item of data/accessories.json
    description: str
    quantity: str  # Decimal as text: hours for labour, units for parts and accessories
    unit_price_fen: int
    amount_fen: int
    pay_type: PayType
    flat_rate_hours: str | None = None
    supplement: bool = False
    approval_id: str | None = None  # the approval that let the workshop do it
    campaign_code: str | None = None  # a `campaign` line: the campaign it carries out
    goodwill_authorisation_id: str | None = None  # a `goodwill` line HQ pre-authorised (the brand pays)


class Totals(_Part):
    customer_fen: int = 0
    warranty_fen: int = 0
    insurance_fen: int = 0
    internal_fen: int = 0
    goodwill_fen: int = 0
    first_maintenance_fen: int = 0
    campaign_fen: int = 0
    tax_fen: int = 0
    customer_due_fen: int = 0
    subtotal_fen: int = 0  # every payer, before tax
    vat_rate: str | None = None  # Decimal as text, e.g. "0.13"


class _RepairOrderEvent(Event):
    repair_order_id: str
    number: str
    store_id: str
    fleet_id: str | None = None  # a fleet's car: the fleet whose contract the order is under (null: none)


class _AppointmentEvent(Event):
    appointment_id: str
    store_id: str
    customer: Customer
    vehicle: Vehicle
    service_type: str
    scheduled_at: datetime


@event_type("reception.appointment.booked", aggregate="appointment")
class AppointmentBooked(_AppointmentEvent):
    booked_at: datetime
    note: str | None = None
    booked_by: str | None = None


@event_type("reception.appointment.cancelled", aggregate="appointment")
class AppointmentCancelled(_AppointmentEvent):
    cancelled_at: datetime
    reason: str | None = None
    cancelled_by: str | None = None


@event_type("reception.appointment.no_show", aggregate="appointment")
class AppointmentNoShow(_AppointmentEvent):
    marked_at: datetime
    marked_by: str | None = None


@event_type("reception.appointment.checked_in", aggregate="appointment")
class AppointmentCheckedIn(_AppointmentEvent):
    repair_order_id: str
    checked_in_at: datetime


@event_type("reception.repair_order.opened", aggregate="repair_order")
class RepairOrderOpened(_RepairOrderEvent):
    appointment_id: str | None = None
    customer: Customer
    vehicle: Vehicle
    mileage_km: int
    complaint: str
    advisor: Principal
    opened_at: datetime
    insurance: dict | None = None
    roadside_id: str | None = None  # opened by a roadside tow
    inspection: dict | None = None  # the walk-around: fuel, damage, warning lights, valuables
    mileage_correction_reason: str | None = None


@event_type("reception.repair_order.approved", aggregate="repair_order")
class RepairOrderApproved(_RepairOrderEvent):
    """Carries only the lines approved by this approval (the first approval, or a supplement)."""

    customer: Customer
    vehicle: Vehicle
    mileage_km: int
    advisor: Principal
    approved_by: str
    channel: str
    approved_at: datetime
    supplement: bool = False
    lines: list[RepairOrderLine]
    approval_id: str | None = None
    opened_at: datetime | None = None
    insurance: dict | None = None
    totals: Totals | None = None  # the whole order's totals after this approval
    promised_at: datetime | None = None  # the promise in force (given at the first approval)
    signed_off_by: Principal | None = None  # the service manager who signed off a high-value estimate
    signed_off_at: datetime | None = None
    signed_off_fen: int | None = None  # the estimate's value (every payer, VAT included) the sign-off covers


@event_type("reception.repair_order.cancelled", aggregate="repair_order")
class RepairOrderCancelled(_RepairOrderEvent):
    previous_status: str
    cancelled_at: datetime
    reason: str | None = None
    cancelled_by: str | None = None
    customer: Customer | None = None
    vehicle: Vehicle | None = None


@event_type("reception.repair_order.settled", aggregate="repair_order")
class RepairOrderSettled(_RepairOrderEvent):
    customer: Customer
    vehicle: Vehicle
    mileage_km: int
    advisor: Principal
    opened_at: datetime
    settled_at: datetime
    invoice_no: str
    lines: list[RepairOrderLine]
    totals: Totals
    payments: list[dict]
    invoice_id: str | None = None
    payers: list[dict] | None = None  # the invoice split: customer, brand, insurer, store
    insurance: dict | None = None
    appointment_id: str | None = None
    settled_by: str | None = None
    # What the order's payers owe the store from now (回款): [{receivable_id, payer_kind: fleet|insurer|customer,
    # payer_id, payer_name, amount_fen, paid_fen, open_fen, due_on}]
    receivables: list[dict] | None = None
    accessories_fen: int | None = None  # the accessory lines' amount before tax (customer-paid)


@event_type("reception.repair_order.delivered", aggregate="repair_order")
class RepairOrderDelivered(_RepairOrderEvent):
    customer: Customer
    vehicle: Vehicle
    mileage_km: int
    advisor: Principal
    delivered_by: str
    opened_at: datetime
    settled_at: datetime
    delivered_at: datetime
    lines: list[RepairOrderLine]
    totals: Totals
    invoice_no: str | None = None
    explained: bool | None = None
    appointment_id: str | None = None
    roadside_id: str | None = None
    insurance: dict | None = None
    promised_at: datetime | None = None  # the promise in force at handover (after any moves)
    first_promised_at: datetime | None = None  # the promise given at approval
    promise_moves: int | None = None
    ready_at: datetime | None = None  # the workshop's word that the car was ready
    ready_on_time: bool | None = None  # ready_at <= promised_at: what the on-time rate counts
    delivered_on_time: bool | None = None  # delivered_at <= promised_at
    signed_off_by: Principal | None = None
    # The accessory lines' amount before tax (customer-paid), credited to the advisor.
    accessories_fen: int | None = None
    payers: list[dict] | None = None  # the invoice split, as at settlement: customer, brand, insurer, store


@event_type("reception.repair_order.promise_moved", aggregate="repair_order")
class RepairOrderPromiseMoved(_RepairOrderEvent):
    """The car is promised for another time, with the reason the customer is to be told."""

    promised_at: datetime
    moved_at: datetime
    previous_promised_at: datetime | None = None
    first_promised_at: datetime | None = None
    reason: str | None = None
    moved_by: Principal | None = None
    moves: int | None = None  # how often this order's promise has been moved, this one included
    customer: Customer | None = None
    vehicle: Vehicle | None = None
    advisor: Principal | None = None


@event_type("reception.repair_order.extra_work_proposed", aggregate="repair_order")
class RepairOrderExtraWorkProposed(_RepairOrderEvent):
    """Work found after approval (supplement lines) waits for the customer's yes. Sent each
    time a supplement line is added, carrying every line of the round still unapproved, so
    the last one says what the customer is asked to approve; the round's approval is the
    next `repair_order.approved` with `supplement` set."""

    proposed_at: datetime
    estimate_version: int | None = None  # the approval round these lines wait for: 2 is the first supplement
    lines: list[RepairOrderLine] | None = None  # every supplement line of the round not yet approved
    amount_fen: int | None = None  # those lines' amounts, every payer, before tax
    customer_fen: int | None = None  # the part of it the customer pays, before tax
    customer_due_fen: int | None = None  # the whole order's customer total after these lines, VAT included
    proposed_by: Principal | None = None
    customer: Customer | None = None
    vehicle: Vehicle | None = None
    advisor: Principal | None = None


@event_type("reception.roadside.requested", aggregate="roadside")
class RoadsideRequested(Event):
    roadside_id: str
    store_id: str
    customer: Customer
    vehicle: Vehicle
    location: dict
    problem: str
    requested_at: datetime
    requested_by: str | None = None


@event_type("reception.roadside.resolved", aggregate="roadside")
class RoadsideResolved(Event):
    roadside_id: str
    store_id: str
    outcome: str
    requested_at: datetime
    dispatched_at: datetime | None = None
    arrived_at: datetime | None = None
    resolved_at: datetime
    response_minutes: str | None = None  # Decimal as text; arrival minus request
    repair_order_id: str | None = None
    customer: Customer | None = None
    vehicle: Vehicle | None = None
    responder: str | None = None
    notes: str | None = None
    resolved_by: str | None = None


@event_type("reception.counter_sale.completed", aggregate="counter_sale")
class CounterSaleCompleted(Event):
    """Accessories sold over the counter, without a repair order, and paid: counted for the
    advisor who sold them like an order's accessory lines."""

    counter_sale_id: str
    number: str  # the store's counter-sale number people use
    store_id: str
    customer: Customer | None = None  # a walk-in buyer may stay anonymous
    vin: str | None = None
    lines: list[RepairOrderLine]  # kind accessory, pay_type customer
    amount_fen: int  # every line, before tax
    tax_fen: int
    total_fen: int  # what the buyer paid, VAT included
    sold_by: Principal  # the advisor credited with the sale
    completed_at: datetime
