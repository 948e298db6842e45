from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from services.common.inputs import MAX_LINE_FEN, MAX_VERSION, Day
from services.common.pagination import Page

# What a vendor does, in the dealer's words: 玻璃 glass, 喷漆 paint, 钣金 body, 电脑编程 ECU
# programming, 内饰 upholstery, 机加工 machining, 轮胎轮毂 tyres and wheels, 空调 air
# conditioning, 电器 electrical, 美容 detailing, 拖车 towing, 其他 other.
Specialty = Literal["glass", "paint", "body", "ecu_programming", "upholstery", "machining", "tyres_wheels",
                    "air_conditioning", "electrical", "detailing", "towing", "other"]
SubletOrderStatus = Literal["draft", "sent", "returned", "inspected", "invoice_held", "invoiced", "cancelled"]
PHONE = r"^\+?[0-9][0-9 -]{4,30}$"


def _unique(value: list[str] | None) -> list[str] | None:
    return None if value is None else sorted(set(value))


class VendorCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    specialties: list[Specialty] = Field(min_length=1, max_length=12, description="what the vendor does")
    contact_name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32, pattern=PHONE)
    address: str | None = Field(default=None, min_length=1, max_length=500)
    store_id: str | None = Field(default=None, max_length=64,
                                 description="HQ callers name the store; store callers act in their own")

    @field_validator("specialties")
    @classmethod
    def _each_once(cls, value):
        return _unique(value)


class VendorUpdate(BaseModel):
    version: int = Field(ge=1, le=MAX_VERSION, description="the version you read; a stale one is 412")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    specialties: list[Specialty] | None = Field(default=None, min_length=1, max_length=12)
    contact_name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32, pattern=PHONE)
    address: str | None = Field(default=None, min_length=1, max_length=500)
    active: bool | None = Field(default=None, description="an inactive vendor gets no new sublet orders")

    @field_validator("specialties")
    @classmethod
    def _each_once(cls, value):
        return _unique(value)


class VendorPublic(BaseModel):
    id: str
    store_id: str
    name: str
    specialties: list[Specialty]
    contact_name: str | None = None
    phone: str | None = None
    address: str | None = None
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int


VendorList = Page[VendorPublic]


class SubletOrderCreate(BaseModel):
    repair_order_id: str = Field(min_length=1, max_length=64)
    line_id: str = Field(min_length=1, max_length=64, description="the order's approved sublet line")
    vendor_id: str = Field(min_length=1, max_length=64)
    work: str = Field(min_length=1, max_length=2000, description="what the vendor is to do")
    agreed_price_fen: int = Field(ge=0, le=MAX_LINE_FEN, description="the price agreed with the vendor, in fen")
    promised_on: Day = Field(description="the day the vendor promised the work back, in the store's calendar")
    note: str | None = Field(default=None, max_length=2000)


class SubletReturn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class SubletInspection(BaseModel):
    result: Literal["pass", "fail"]
    note: str | None = Field(default=None, min_length=1, max_length=2000, validate_default=True,
                             description="what was found; required when it failed")
    promised_on: Day | None = Field(default=None, validate_default=True,
                                    description="a failed inspection: the day the vendor promises the corrected "
                                                "work; the first promise stays without it")

    # Field validators, not one for the model: an error names its field.
    @field_validator("note")
    @classmethod
    def _failure_says_why(cls, value, info: ValidationInfo):
        if info.data.get("result") == "fail" and not value:
            raise ValueError("a failed inspection says what is wrong, for the vendor")
        return value

    @field_validator("promised_on")
    @classmethod
    def _only_a_failure_moves_the_promise(cls, value, info: ValidationInfo):
        if info.data.get("result") == "pass" and value is not None:
            raise ValueError("only a failed inspection sends the work back with a new promise")
        return value


class SubletInvoice(BaseModel):
    number: str = Field(min_length=1, max_length=64, description="the vendor's invoice number")
    amount_fen: int = Field(ge=0, le=MAX_LINE_FEN, description="what the vendor bills, in fen")


class InvoiceDecision(BaseModel):
    note: str | None = Field(default=None, min_length=1, max_length=2000)


class InvoiceRefusal(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class SubletCancel(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class Inspection(BaseModel):
    result: Literal["pass", "fail"]
    note: str | None = None
    inspected_at: datetime
    inspector: str = Field(description="the person who inspected it")
    inspector_name: str | None = None
    promised_on: date | None = Field(default=None, description="a failed one: the new promise, if given")


class SubletOrderPublic(BaseModel):
    id: str
    store_id: str
    number: str
    repair_order_id: str
    line_id: str
    vendor_id: str
    vendor_name: str
    work: str
    agreed_price_fen: int
    promised_on: date
    status: SubletOrderStatus
    note: str | None = None
    sent_at: datetime | None = None
    returned_at: datetime | None = None
    inspections: list[Inspection]
    invoice_number: str | None = None
    invoice_amount_fen: int | None = None
    invoice_received_at: datetime | None = None
    difference_fen: int | None = Field(default=None, description="the invoice less the agreed price")
    tolerance_fen: int = Field(description="how far the invoice may be from the agreed price and still match")
    invoiced_at: datetime | None = Field(default=None, description="when the invoice was matched or accepted")
    decided_by: str | None = Field(default=None, description="the manager who accepted (or last refused) an "
                                                             "invoice that differed")
    decided_by_name: str | None = None
    decision_note: str | None = None
    cost_fen: int = Field(description="what the work costs the order: the invoice once invoiced, else the agreed "
                                      "price")
    days_overdue: int = Field(description="days past the promise while the work is at the vendor; 0 otherwise")
    cancelled_at: datetime | None = None
    created_at: datetime
    created_by: str
    created_by_name: str | None = None
    version: int


SubletOrderList = Page[SubletOrderPublic]
