import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, field_validator

from services.common.inputs import MAX_REQUEST_FEN
from services.common.pagination import Page
from services.reception.shared.schemas import VIN_PATTERN, Actor, Input

PHONE_PATTERN = r"^\+?[0-9][0-9 \-]{3,18}[0-9]$"


class Contract(Input):
    """The fleet's terms: its discounts, the approval limit per order, its credit and payment terms."""

    labour_discount_percent: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2,
                                             description="off customer-pay labour lines, e.g. 10.00")
    parts_discount_percent: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2,
                                            description="off customer-pay part lines")
    approval_limit_fen: int = Field(ge=0, le=MAX_REQUEST_FEN, strict=True,
                                    description="what the fleet owes on one order (VAT included) above which "
                                                "the fleet's manager approves before work starts")
    credit_limit_fen: int = Field(ge=0, le=MAX_REQUEST_FEN, strict=True,
                                  description="the most the fleet may owe on account")
    payment_terms_days: int = Field(ge=0, le=365, strict=True, description="days after the statement month's end")


class ContactIn(Input):
    id: str | None = Field(default=None, max_length=64, description="keep an existing contact's id when updating")
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=5, max_length=20, pattern=PHONE_PATTERN)
    email: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=100, description="e.g. 车队经理 fleet manager")
    approves: bool = Field(default=False, description="may approve orders above the limit for the fleet")


class Driver(Input):
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, min_length=5, max_length=20, pattern=PHONE_PATTERN)


class FleetVehicleIn(Input):
    vin: str = Field(min_length=17, max_length=17)
    plate: str | None = Field(default=None, min_length=1, max_length=16)
    driver: Driver | None = None

    @field_validator("vin", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("vin")
    @classmethod
    def _valid_vin(cls, value: str) -> str:
        if not re.fullmatch(VIN_PATTERN, value):
            raise ValueError("a VIN is 17 letters and digits, without I, O or Q")
        return value


class FleetCreate(Input):
    store_id: str | None = Field(default=None, max_length=64,
                                 description="HQ callers name the store; store callers open it in their own")
    name: str = Field(min_length=1, max_length=200, description="the company's name")
    contract: Contract
    contacts: list[ContactIn] = Field(default_factory=list, max_length=50)
    vehicles: list[FleetVehicleIn] = Field(default_factory=list, max_length=500)


class FleetUpdate(Input):
    """What is given replaces what was (contacts as a whole list); vehicles have their own routes."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    contract: Contract | None = None
    contacts: list[ContactIn] | None = Field(default=None, max_length=50)


class ContactPublic(BaseModel):
    id: str
    name: str
    phone: str
    email: str | None = None
    title: str | None = None
    approves: bool


class DriverPublic(BaseModel):
    name: str
    phone: str | None = None


class FleetVehiclePublic(BaseModel):
    vin: str
    plate: str | None = None
    driver: DriverPublic | None = None
    added_at: datetime


class ContractPublic(BaseModel):
    labour_discount_percent: Decimal
    parts_discount_percent: Decimal
    approval_limit_fen: int
    credit_limit_fen: int
    payment_terms_days: int


class FleetSummary(BaseModel):
    id: str
    store_id: str
    name: str
    contract: ContractPublic
    balance_fen: int = Field(description="charged on account and not yet paid")
    credit_available_fen: int = Field(description="credit limit less balance (negative: over the limit)")
    credit_stop: bool = Field(description="the balance has reached the credit limit: new work needs the manager's "
                                          "override")
    created_at: datetime
    updated_at: datetime
    version: int


class FleetPublic(FleetSummary):
    contacts: list[ContactPublic]
    vehicles: list[FleetVehiclePublic]
    created_by: Actor


FleetList = Page[FleetSummary]


class FleetApproval(Input):
    token: str | None = Field(default=None, min_length=20, max_length=100,
                              description="the approval link's token (the contact approving through the link)")
    contact_id: str | None = Field(default=None, max_length=64,
                                   description="by API: the fleet's approving contact whose yes is recorded")
    note: str | None = Field(default=None, max_length=2000)


class FleetApprovalLinkCreate(Input):
    contact_id: str = Field(max_length=64, description="the fleet's approving contact the link is for")


class FleetApprovalLink(BaseModel):
    token: str = Field(description="shown once: send it to the contact")
    contact: ContactPublic
    expires_at: datetime
    amount_fen: int = Field(description="what the fleet owes on the order as it stands")


class CreditOverride(Input):
    reason: str = Field(min_length=1, max_length=500)


class FleetOrderPublic(BaseModel):
    """The fleet side of a repair order."""

    fleet_id: str
    name: str
    labour_discount_percent: Decimal
    parts_discount_percent: Decimal
    approval_limit_fen: int
    approval_needed: bool = Field(description="work waits for the fleet's approval (POST .../fleet-approval)")
    approved_fen: int | None = None
    approved_by: dict | None = None
    approved_at: datetime | None = None
    credit_override: dict | None = None
    on_account_fen: int = 0
    settled_at: datetime | None = None


class StatementLine(BaseModel):
    repair_order_id: str
    number: str
    vin: str
    plate: str | None = None
    opened_at: datetime
    settled_at: datetime
    invoice_no: str | None = None
    list_fen: int = Field(description="customer-pay lines at list price, before tax")
    discount_fen: int = Field(description="the contract's discounts")
    labour_fen: int
    parts_fen: int
    other_fen: int = Field(description="fees, sublets and accessories")
    tax_fen: int
    customer_due_fen: int
    on_account_fen: int
    paid_fen: int = Field(description="paid at the counter instead of on account")


class StatementTotals(BaseModel):
    orders: int
    discount_fen: int
    customer_due_fen: int
    on_account_fen: int
    paid_fen: int


class Statement(BaseModel):
    fleet_id: str
    fleet_name: str
    store_id: str
    month: str
    first_day: date
    last_day: date
    payment_terms_days: int
    due_on: date = Field(description="the month's last day plus the payment terms")
    orders: list[StatementLine]
    totals: StatementTotals
    balance_fen: int = Field(description="the fleet's balance now")


class VehicleUptime(BaseModel):
    vin: str
    plate: str | None = None
    days_off_road: int = Field(description="store-local days at the store, from check-in day to handover day; "
                                           "overlapping orders' days once")
    days_on_road: int
    availability_percent: Decimal = Field(description="days on the road / days of the range, to 0.01 %")
    orders: list[str] = Field(description="the numbers of the orders that kept it off the road in the range")


class UptimeTotals(BaseModel):
    vehicles: int
    vehicle_days: int = Field(description="vehicles × days of the range")
    days_off_road: int
    availability_percent: Decimal | None = Field(description="(vehicle_days - days_off_road) / vehicle_days, to "
                                                             "0.01 %; null without vehicles")


class FleetUptime(BaseModel):
    """出勤率 The fleet's cars' days off the road over a range of the store's days."""

    fleet_id: str
    fleet_name: str
    store_id: str
    first_day: date
    last_day: date
    days: int = Field(description="days in the range, both ends counted")
    vehicles: list[VehicleUptime] = Field(description="the cars on the fleet's list now, and any car of an order "
                                                      "of the fleet in the range, most days off the road first")
    totals: UptimeTotals
