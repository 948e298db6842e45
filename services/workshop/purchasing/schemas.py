from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from services.common.inputs import MAX_LINE_FEN
from services.common.pagination import Page
from services.workshop.parts.schemas import (
    CREDENTIAL,
    MAX_UNITS,
    ReceiptPublic,
    _unique_parts,
    line_amount_within_bounds,
)

PurchaseOrderStatus = Literal["open", "partially_received", "received", "cancelled"]


class PurchaseOrderLineIn(BaseModel):
    part_no: str = Field(min_length=1, max_length=32)
    qty: int = Field(gt=0, le=MAX_UNITS)
    unit_cost_fen: int | None = Field(default=None, ge=0, le=MAX_LINE_FEN,
                                      description="defaults to the catalogue dealer cost")

    @model_validator(mode="after")
    def _amount(self):
        line_amount_within_bounds(self.qty, self.unit_cost_fen)
        return self


class PurchaseOrderCreate(BaseModel):
    supplier: str = Field(default="brand", min_length=1, max_length=200)
    lines: list[PurchaseOrderLineIn] = Field(min_length=1, max_length=500)
    note: str | None = Field(default=None, max_length=2000)
    store_id: str | None = None

    @field_validator("lines")
    @classmethod
    def _each_part_once(cls, value):
        return _unique_parts(value)


class PurchaseOrderLinePublic(BaseModel):
    part_no: str
    name: str
    quantity: int
    received_quantity: int
    outstanding: int
    unit_cost_fen: int


class PurchaseOrderPublic(BaseModel):
    id: str
    store_id: str
    number: str
    supplier: str
    status: PurchaseOrderStatus
    note: str | None = None
    total_fen: int
    lines: list[PurchaseOrderLinePublic]
    created_at: datetime
    created_by: str = Field(description="the person who raised it (for a machine's own key, the key's id)")
    created_by_name: str | None = Field(default=None, description="their name when they raised it")
    created_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    received_at: datetime | None = None
    cancelled_at: datetime | None = None
    version: int


PurchaseOrderList = Page[PurchaseOrderPublic]


class ReceiveLine(BaseModel):
    part_no: str = Field(min_length=1, max_length=32)
    qty: int = Field(gt=0, le=MAX_UNITS)


class PurchaseOrderReceive(BaseModel):
    reference: str = Field(min_length=1, max_length=200, description="the supplier's delivery note")
    lines: list[ReceiveLine] = Field(min_length=1, max_length=500)

    @field_validator("lines")
    @classmethod
    def _each_part_once(cls, value):
        return _unique_parts(value)


class PurchaseOrderReceipt(BaseModel):
    purchase_order: PurchaseOrderPublic
    receipt: ReceiptPublic


class ReorderSuggestion(BaseModel):
    store_id: str
    part_no: str
    name: str
    on_hand: int
    reserved: int
    available: int
    backordered: int
    on_order: int
    reorder_point: int | None = None
    reorder_quantity: int | None = None
    suggested_quantity: int
    unit_cost_fen: int
    amount_fen: int
    reason: Literal["below_reorder_point", "backorders"]


class ReorderSuggestionList(BaseModel):
    store_id: str
    items: list[ReorderSuggestion]
    total_fen: int
    next_cursor: str | None = None
