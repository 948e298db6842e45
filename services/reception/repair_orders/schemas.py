from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, computed_field, field_validator

from services.common.inputs import MAX_REQUEST_FEN, AwareMoment, Day
from services.common.pagination import Page
from services.reception.credit.schemas import CreditAllowancePublic
from services.reception.fleets.schemas import FleetOrderPublic
from services.reception.insurance.schemas import AssessmentPublic
from services.reception.receivables.schemas import OrderReceivable
from services.reception.shared.schemas import Actor, Customer, HistoryEntry, Input, Vehicle
from services.reception.vehicle_notices.schemas import VehicleNotices

RepairOrderStatus = Literal[
    "open", "awaiting_approval", "approved", "in_progress", "ready", "settled", "delivered", "cancelled",
]
LineKind = Literal["labor", "part", "sublet", "fee", "accessory"]
# The brand pays warranty, first_maintenance (首保) and campaign lines; the store internal and goodwill.
PayType = Literal["customer", "warranty", "insurance", "internal", "goodwill", "first_maintenance", "campaign"]
PAY_TYPES: tuple[str, ...] = ("customer", "warranty", "insurance", "internal", "goodwill", "first_maintenance",
                              "campaign")
BRAND_PAY_TYPES: tuple[str, ...] = ("warranty", "first_maintenance", "campaign")
ApprovalChannel = Literal["in_person", "phone", "app"]
PaymentMethod = Literal["cash", "card", "wechat_pay", "alipay", "transfer"]
# on_account: a fleet's order charged to the fleet's balance, billed on its monthly statement.
# on_credit: a customer's order owed by the customer (a credit account, or the manager's allowance).
OrderPaymentMethod = Literal["cash", "card", "wechat_pay", "alipay", "transfer", "on_account", "on_credit"]
FuelLevel = Literal["empty", "quarter", "half", "three_quarters", "full"]
DamagePosition = Literal[
    "front_bumper", "rear_bumper", "hood", "roof", "trunk_lid", "windshield", "rear_window",
    "left_front_fender", "right_front_fender", "left_front_door", "right_front_door", "left_rear_door",
    "right_rear_door", "left_rear_quarter", "right_rear_quarter", "left_mirror", "right_mirror",
    "left_front_wheel", "right_front_wheel", "left_rear_wheel", "right_rear_wheel", "left_sill", "right_sill",
    "headlamps", "tail_lamps", "interior", "other",
]
DamageKind = Literal["scratch", "dent", "scuff", "chip", "crack", "broken", "missing", "other"]
WarningLight = Literal[
    "check_engine", "abs", "airbag", "battery", "oil_pressure", "coolant_temperature", "brake", "tyre_pressure",
    "stability_control", "power_steering", "transmission", "other",
]


class Damage(Input):
    position: DamagePosition
    kind: DamageKind
    note: str | None = Field(default=None, max_length=500)


class Inspection(Input):
    """The walk-around done with the customer at check-in."""

    fuel_level: FuelLevel
    exterior_damage: list[Damage] = Field(default_factory=list, max_length=50)
    warning_lights: list[WarningLight] = Field(default_factory=list, max_length=20)
    valuables: list[str] = Field(default_factory=list, max_length=30, description="items left in the car")
    notes: str = Field(default="", max_length=4000)


class Insurance(Input):
    """An insurance job: the insurer pays the insurance lines under this claim."""

    insurer: str = Field(min_length=1, max_length=100)
    claim_no: str = Field(min_length=1, max_length=64)
    policy_no: str | None = Field(default=None, max_length=64)
    accident_date: Day | None = None
    surveyor: str | None = Field(default=None, max_length=100)


class CheckIn(Input):
    store_id: str | None = Field(
        default=None, description="HQ callers name the store; store callers check in to their own"
    )
    appointment_id: str | None = None
    customer: Customer | None = Field(
        default=None, description="a walk-in's customer; taken from the appointment otherwise"
    )
    vehicle: Vehicle | None = Field(
        default=None, description="a walk-in's vehicle; taken from the appointment otherwise"
    )
    mileage_km: int = Field(ge=0, le=2_000_000)
    mileage_correction_reason: str | None = Field(
        default=None, min_length=1, max_length=500,
        description="needed when the mileage is lower than the last one this store saw for the VIN",
    )
    complaint: str = Field(min_length=1, max_length=4000)
    inspection: Inspection
    insurance: Insurance | None = None


class LineCreate(Input):
    kind: LineKind
    op_code: str | None = Field(
        default=None, max_length=32, description="labour operation (data/labor_operations.json)"
    )
    part_no: str | None = Field(default=None, max_length=32, description="part number (data/parts.json)")
    accessory_code: str | None = Field(
        default=None, max_length=32,
        description="精品 accessory code (data/accessories.json, GET /v1/accessories); accessories are customer-paid",
    )
    description: str | None = Field(default=None, min_length=1, max_length=500,
                                    description="defaults to the catalogue's for labour, parts and accessories")
    quantity: Decimal | None = Field(
        default=None, gt=0, le=Decimal("9999.99"), decimal_places=2,
        description="hours for labour (default: flat-rate hours), units otherwise (default 1)",
    )
    unit_price_fen: int | None = Field(
        default=None, ge=0, le=100_000_000, strict=True,
        description="default: the store's labour rate per hour, the part's list price or the accessory's price",
    )
    pay_type: PayType = Field(
        default="customer",
        description="first_maintenance: maintenance operations and parts only; campaign lines are added with "
                    "POST .../campaign-lines",
    )

    @field_validator("quantity")
    @classmethod
    def _plain(cls, value: Decimal | None) -> Decimal | None:
        # 1E+1 and 10 are the same quantity; events and answers show the plain form.
        return None if value is None else Decimal(format(value, "f"))


class CampaignLinesCreate(Input):
    campaign_code: str = Field(min_length=1, max_length=32,
                               description="an open campaign of the order's car (vehicle_notices.campaigns)")


class Estimate(Input):
    promised_at: AwareMoment | None = Field(default=None, description="when the car is promised back")


class Approve(Input):
    approved_by: str = Field(min_length=1, max_length=200, description="who approved, usually the customer")
    channel: ApprovalChannel
    promised_at: AwareMoment | None = Field(
        default=None,
        description="when the car is promised back, in the future and at most RECEPTION_PROMISE_MAX_DAYS_AHEAD "
                    "(60) days ahead; default: the estimate's promise while it is still ahead, else the store's "
                    "closing hour of the day the labour's flat hours are done. Not on a supplement's approval: "
                    "move the promise with POST .../promise",
    )


class SignOff(Input):
    note: str | None = Field(default=None, max_length=2000, description="the manager's remark, kept in history")


class MovePromise(Input):
    promised_at: AwareMoment = Field(description="the new promise, in the future and within the allowed range")
    reason: str = Field(min_length=1, max_length=500, description="why, as the customer is told")


class Payment(Input):
    method: PaymentMethod
    amount_fen: int = Field(gt=0, le=MAX_REQUEST_FEN, strict=True, description="whole fen")
    reference: str | None = Field(default=None, max_length=100, description="card slip, transaction or transfer id")


class OrderPayment(Payment):
    method: OrderPaymentMethod  # type: ignore[assignment]


class Settle(Input):
    payments: list[OrderPayment] = Field(max_length=20)


class Deliver(Input):
    delivered_by: str | None = Field(default=None, min_length=1, max_length=200, description="default: the caller")
    explained: bool = Field(description="the work done, the invoice and the returned parts were explained")
    notes: str | None = Field(default=None, max_length=2000)


class Cancel(Input):
    reason: str | None = Field(default=None, max_length=2000)


class LinePublic(BaseModel):
    id: str
    position: int
    kind: LineKind
    op_code: str | None = None
    part_no: str | None = None
    accessory_code: str | None = None
    description: str
    quantity: Decimal
    flat_rate_hours: Decimal | None = None
    unit_price_fen: int
    discount_percent: Decimal | None = Field(default=None, description="a fleet's contract discount on the line")
    amount_fen: int
    pay_type: PayType
    campaign_code: str | None = Field(default=None, description="a campaign line: the campaign it carries out")
    supplement: bool
    approved: bool
    approval_id: str | None = None
    added_by: Actor
    added_at: datetime


class Totals(BaseModel):
    customer_fen: int = 0
    warranty_fen: int = 0
    insurance_fen: int = 0
    internal_fen: int = 0
    goodwill_fen: int = 0
    first_maintenance_fen: int = 0
    campaign_fen: int = 0
    subtotal_fen: int = Field(default=0, description="all lines, every payer, before tax")
    tax_fen: int = Field(default=0, description="VAT on customer pay")
    customer_due_fen: int = Field(default=0, description="what the customer pays: customer pay plus its VAT, "
                                                        "plus the insurance excess")
    insurance_approved_fen: int = Field(default=0, description="the insurer's approved amounts of insurance lines "
                                                              "(a line not yet assessed at its amount)")
    insurance_write_off_fen: int = Field(default=0, description="insurance lines' cuts: the store writes them off")
    excess_fen: int = Field(default=0, description="the insurance excess (免赔额), paid by the customer")
    insurer_due_fen: int = Field(default=0, description="what the insurer pays: approved amounts less the excess")
    vat_rate: Decimal = Decimal("0")


class ApprovalPublic(BaseModel):
    id: str
    approved_by: str
    channel: ApprovalChannel
    approved_at: datetime
    recorded_by: Actor
    supplement: bool
    line_ids: list[str]
    amount_fen: int
    customer_due_fen: int


class Payer(BaseModel):
    payer: Literal["customer", "brand", "insurer", "store"]
    name: str
    pay_types: list[PayType]
    amount_fen: int
    tax_fen: int = 0
    total_fen: int
    claim_no: str | None = None
    excess_fen: int = Field(default=0, description="the insurance excess in this payer's amount (customer), or "
                                                   "taken off it (insurer)")
    write_off_fen: int = Field(default=0, description="the insurer's cuts, written off by the store")


class PaymentPublic(BaseModel):
    method: OrderPaymentMethod
    amount_fen: int
    reference: str | None = None


class InvoicePublic(BaseModel):
    id: str
    number: str
    issued_at: datetime
    issued_by: Actor
    totals: Totals
    payers: list[Payer]
    payments: list[PaymentPublic]


class Delivery(BaseModel):
    delivered_by: str
    explained: bool
    notes: str | None = None
    recorded_by: Actor


class RepairOrderSummary(BaseModel):
    id: str
    store_id: str
    number: str
    status: RepairOrderStatus
    appointment_id: str | None = None
    roadside_id: str | None = None
    customer: Customer
    vehicle: Vehicle
    mileage_km: int
    mileage_correction_reason: str | None = None
    complaint: str
    inspection: Inspection | None = None
    insurance: Insurance | None = None
    advisor: Actor
    opened_at: datetime
    estimated_at: datetime | None = None
    promised_at: datetime | None = Field(default=None, description="when the car is promised back, after any moves")
    first_promised_at: datetime | None = Field(default=None, description="the promise given at approval")
    promise_moves: int = Field(default=0, description="how often the promise was moved (reasons in history)")
    approved_at: datetime | None = None
    signed_off_by: Actor | None = Field(default=None, description="the service manager who signed off the estimate")
    signed_off_at: datetime | None = None
    signed_off_fen: int | None = Field(default=None, description="the estimate's value the sign-off covers")
    work_started_at: datetime | None = None
    ready_at: datetime | None = None
    settled_at: datetime | None = None
    delivered_at: datetime | None = None
    delivery: Delivery | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    totals: Totals
    version: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def insurer_due_fen(self) -> int:
        """The insurer's share of the order: its receivable from the insurer (totals.insurer_due_fen)."""
        return self.totals.insurer_due_fen

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ready_on_time(self) -> bool | None:
        """Ready no later than the promise in force: the on-time rate counts this; null until ready."""
        if self.promised_at is None or self.ready_at is None:
            return None
        return self.ready_at <= self.promised_at

    @computed_field  # type: ignore[prop-decorator]
    @property
    def delivered_on_time(self) -> bool | None:
        """Handed over no later than the promise in force (a customer who comes later makes it false)."""
        if self.promised_at is None or self.delivered_at is None:
            return None
        return self.delivered_at <= self.promised_at


class RepairOrderPublic(RepairOrderSummary):
    sign_off_needed: bool = Field(
        default=False, description="the customer's yes waits for the service manager's sign-off "
                                   "(POST .../sign-off): the estimate reaches the store's threshold and is not "
                                   "signed, or grew past what was signed by more than the margin")
    lines: list[LinePublic]
    awaiting_supplement_approval: bool = Field(description="lines added after approval wait for the customer's yes")
    approvals: list[ApprovalPublic]
    invoice: InvoicePublic | None = None
    history: list[HistoryEntry]
    fleet: FleetOrderPublic | None = Field(
        default=None, description="a fleet's car: the contract it is priced under, the fleet's approval and credit")
    insurance_assessment: AssessmentPublic | None = Field(
        default=None, description="the insurer's assessment (定损) in force: approved amounts, excess, the lines "
                                  "waiting for a supplementary assessment")
    vehicle_notices: VehicleNotices | None = Field(
        default=None, description="the car's open recall and service campaigns and its Three Guarantees (三包) "
                                  "figures and alerts, as reception last heard from network")
    credit_allowance: CreditAllowancePublic | None = Field(
        default=None, description="the service manager let this order's customer pay later (settle on_credit)")
    receivables: list[OrderReceivable] = Field(
        default_factory=list, description="what the order's payers owe the store since its settlement (回款): the "
                                          "fleet on account, the insurer's share, the customer on credit")


RepairOrderList = Page[RepairOrderSummary]
