from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from services.common.inputs import MAX_REQUEST_FEN, Day
from services.reception.shared.schemas import Input

PayerKind = Literal["fleet", "customer", "insurer", "brand"]
Bucket = Literal["0-30", "31-60", "61-90", "90+"]
BUCKETS: tuple[Bucket, ...] = ("0-30", "31-60", "61-90", "90+")


class ReceivablePublic(BaseModel):
    id: str
    store_id: str
    payer_kind: PayerKind
    payer_id: str
    payer_name: str
    source_kind: str = Field(description="repair_order: an order's fleet on account, insurer share or customer on "
                                         "credit; settlement: the brand's warranty statement")
    source_id: str
    reference: str | None = Field(description="the invoice number")
    amount_fen: int
    paid_fen: int
    open_fen: int
    issued_on: date
    due_on: date
    days_past_due: int = Field(description="store-local days since the due date; 0 while not yet due")
    bucket: Bucket


class OrderReceivable(BaseModel):
    """One payer's amount owed on a repair order since its settlement, and what is paid of it."""

    receivable_id: str
    payer_kind: PayerKind
    payer_id: str
    payer_name: str
    amount_fen: int
    paid_fen: int
    open_fen: int
    due_on: date


class BucketTotal(BaseModel):
    bucket: Bucket
    count: int
    open_fen: int


class ReceivableList(BaseModel):
    as_of: date = Field(description="the store's local date the ageing counts to")
    items: list[ReceivablePublic]
    totals: list[BucketTotal] = Field(description="every bucket, in order, over the items listed")
    open_fen: int


class AllocationIn(Input):
    receivable_id: str = Field(min_length=1, max_length=64)
    amount_fen: int = Field(gt=0, le=MAX_REQUEST_FEN, strict=True)


class PaymentCreate(Input):
    """Money received from one payer, matched to one or several of its open items, each
    wholly or partly; the allocations add up to the amount."""

    store_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
                                 description="HQ callers name the store")
    payer_kind: PayerKind
    payer_id: str = Field(min_length=1, max_length=64)
    amount_fen: int = Field(gt=0, le=MAX_REQUEST_FEN, strict=True)
    received_on: Day
    method: Literal["bank_transfer", "cash", "card", "cheque", "wechat", "alipay"]
    reference: str | None = Field(default=None, min_length=1, max_length=100, description="bank slip or voucher no.")
    allocations: list[AllocationIn] = Field(min_length=1, max_length=200)


class AllocationPublic(BaseModel):
    receivable_id: str
    amount_fen: int
    open_fen: int = Field(description="left open on the item after this payment")


class PaymentPublic(BaseModel):
    id: str
    store_id: str
    payer_kind: PayerKind
    payer_id: str
    amount_fen: int
    received_on: date
    method: str
    reference: str | None
    allocations: list[AllocationPublic]


class OverdueAccount(BaseModel):
    """A payer to remind: what it owes past due, and how late the oldest item is."""

    store_id: str
    payer_kind: PayerKind
    payer_id: str
    payer_name: str
    overdue_fen: int
    items: int
    oldest_due_on: date
    days_past_due: int
    contact_phone: str | None = Field(default=None, description="whom to call: the customer, or the fleet's "
                                                                "approving contact")
    references: list[str] = Field(default_factory=list, description="what the payer quotes: invoice numbers, the "
                                                                    "insurer's claim numbers, statement periods")
    reminder: str = Field(description="中文在前 Chinese first, English beside it, in the payer kind's own words")


class OverdueList(BaseModel):
    as_of: date
    accounts: list[OverdueAccount]
