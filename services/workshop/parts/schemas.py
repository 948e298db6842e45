from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from services.common.inputs import MAX_LINE_FEN, MAX_QUANTITY
from services.common.pagination import Page

if TYPE_CHECKING:
    from services.workshop.parts.models import Reservation, StockMovement, StockReceipt

MAX_UNITS = MAX_QUANTITY
PartNo = Field(min_length=1, max_length=32)
MovementKind = Literal["receipt", "reservation", "release", "issue", "return", "adjustment"]
ReservationStatus = Literal["reserved", "backordered", "issued", "released"]
CREDENTIAL = 'the key or sign-in they used: "key:<key id>" or "token:<sign-in>"; null where it was not recorded'


def _unique_parts(lines: list) -> list:
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line.part_no in seen:
            raise ValueError(f"lines[{i}].part_no {line.part_no} appears twice; give each part once")
        seen.add(line.part_no)
    return lines


class PartPublic(BaseModel):
    part_no: str
    name: str
    category: str
    list_price_fen: int
    dealer_cost_fen: int
    warranty_eligible: bool


PartList = Page[PartPublic]


class StockPublic(BaseModel):
    id: str | None = Field(description="null for a catalogue part this store has never stocked")
    store_id: str
    part_no: str
    name: str
    on_hand: int
    reserved: int
    available: int
    backordered: int = Field(description="units still owed to backordered reservations")
    bin: str | None = None
    reorder_point: int | None = None
    reorder_quantity: int | None = None
    below_reorder_point: bool
    average_cost_fen: int
    updated_at: datetime
    version: int


StockList = Page[StockPublic]


class MovementPublic(BaseModel):
    id: int
    store_id: str
    part_no: str
    kind: MovementKind
    on_hand_delta: int
    reserved_delta: int
    on_hand_after: int
    reserved_after: int
    unit_cost_fen: int | None = None
    reference: str | None = None
    reservation_id: str | None = None
    repair_order_id: str | None = None
    receipt_id: str | None = None
    reason: str | None = None
    principal_id: str | None = Field(default=None, description="who moved it: the person (for a machine's own key, "
                                                               "the key's id); null for the workshop's own moves")
    principal_name: str | None = Field(default=None, description="their name when they moved it")
    principal_credential: str | None = Field(default=None, description=CREDENTIAL)
    created_at: datetime


MovementList = Page[MovementPublic]


def line_amount_within_bounds(qty: int, unit_cost_fen: int | None) -> None:
    if unit_cost_fen is not None and qty * unit_cost_fen > MAX_LINE_FEN:
        raise ValueError(f"qty × unit_cost_fen must be at most {MAX_LINE_FEN} fen a line")


class ReceiptLine(BaseModel):
    part_no: str = PartNo
    qty: int = Field(gt=0, le=MAX_UNITS)
    unit_cost_fen: int | None = Field(default=None, ge=0, le=MAX_LINE_FEN,
                                      description="defaults to the catalogue dealer cost")

    @model_validator(mode="after")
    def _amount(self):
        line_amount_within_bounds(self.qty, self.unit_cost_fen)
        return self


class ReceiptCreate(BaseModel):
    reference: str = Field(min_length=1, max_length=200, description="delivery note or invoice number")
    lines: list[ReceiptLine] = Field(min_length=1, max_length=500)
    store_id: str | None = None

    @field_validator("lines")
    @classmethod
    def _each_part_once(cls, value):
        return _unique_parts(value)


class ReceiptPublic(BaseModel):
    id: str
    store_id: str
    reference: str
    purchase_order_id: str | None = None
    lines: list[dict]
    received_at: datetime
    received_by: str = Field(description="the person who received the goods (for a machine's own key, the key's id)")
    received_by_name: str | None = Field(default=None, description="their name when they received them")
    received_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    filled_reservations: list[str] = Field(default_factory=list, description="backorders this receipt filled")


ReceiptList = Page[ReceiptPublic]


class AdjustmentCreate(BaseModel):
    part_no: str = PartNo
    delta: int = Field(ge=-MAX_UNITS, le=MAX_UNITS)
    reason: str = Field(min_length=1, max_length=2000)
    store_id: str | None = None

    @field_validator("delta")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must not be zero")
        return value


class IssueCreate(BaseModel):
    """A counter issue: parts taken from available stock without a reservation."""

    part_no: str = PartNo
    qty: int = Field(gt=0, le=MAX_UNITS)
    reference: str | None = Field(default=None, max_length=200)
    repair_order_id: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=2000)
    store_id: str | None = None


class StockChange(BaseModel):
    movement: MovementPublic
    stock: StockPublic


class ReorderPolicy(BaseModel):
    reorder_point: int | None = Field(
        ge=0, le=MAX_UNITS, description="alert and suggest when available falls below; null clears the policy")
    reorder_quantity: int | None = Field(default=None, ge=1, le=MAX_UNITS, description="order in multiples of this")
    store_id: str | None = None

    @model_validator(mode="after")
    def _both(self):
        if self.reorder_point is not None and self.reorder_quantity is None:
            raise ValueError("reorder_quantity is required with a reorder_point")
        return self


class BinUpdate(BaseModel):
    bin: str | None = Field(max_length=32)
    store_id: str | None = None


class ReservationPublic(BaseModel):
    id: str
    store_id: str
    repair_order_id: str
    line_id: str
    part_no: str
    pay_type: str
    quantity: int
    allocated: int
    short: int
    issued_quantity: int
    returned_quantity: int
    status: ReservationStatus
    queue_seq: int
    filled_from_stock: bool
    reserved_at: datetime
    filled_at: datetime | None = None
    issued_at: datetime | None = None
    issued_by: str | None = Field(default=None, description="the person who issued the parts (for a machine's own "
                                                            "key, the key's id)")
    issued_by_name: str | None = Field(default=None, description="their name when they issued them")
    issued_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    released_at: datetime | None = None
    unit_cost_fen: int | None = Field(default=None, description="the part's average cost in the store when issued")
    version: int


ReservationList = Page[ReservationPublic]


class ReturnCreate(BaseModel):
    quantity: int = Field(gt=0, le=MAX_UNITS)
    reason: str = Field(min_length=1, max_length=2000)


def reservation_public(r: "Reservation") -> ReservationPublic:
    """A reservation as the API shows it: `short` only while it is backordered."""
    return ReservationPublic.model_validate({**r.model_dump(), "short": r.short if r.status == "backordered" else 0})


def movement_public(m: "StockMovement") -> MovementPublic:
    return MovementPublic.model_validate(m, from_attributes=True)


def receipt_public(r: "StockReceipt", filled: Iterable["Reservation"] = ()) -> ReceiptPublic:
    return ReceiptPublic(**r.model_dump(), filled_reservations=[x.id for x in filled])
