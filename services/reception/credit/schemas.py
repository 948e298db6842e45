from datetime import datetime

from pydantic import BaseModel, Field

from services.common.inputs import MAX_REQUEST_FEN
from services.common.pagination import Page
from services.reception.shared.schemas import Actor, Input

PHONE_PATTERN = r"^\+?[0-9][0-9 \-]{3,18}[0-9]$"


class CreditCustomer(Input):
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=5, max_length=20, pattern=PHONE_PATTERN,
                       description="the phone the customer's orders carry; spaces and dashes are ignored")


class CreditAccountCreate(Input):
    """赊账客户 A customer the store lets pay later: orders settled `on_credit` are owed by them
    within the limit, due the terms' days after settlement."""

    store_id: str | None = Field(default=None, max_length=64, description="HQ callers name the store")
    customer: CreditCustomer
    credit_limit_fen: int = Field(ge=0, le=MAX_REQUEST_FEN, strict=True,
                                  description="the most the customer may owe the store on credit")
    payment_terms_days: int = Field(ge=0, le=365, strict=True, description="days after the settlement day")
    note: str | None = Field(default=None, max_length=2000)


class CreditAccountUpdate(Input):
    """What is given replaces what was; the phone stays (it is who the account is)."""

    customer_name: str | None = Field(default=None, min_length=1, max_length=200)
    credit_limit_fen: int | None = Field(default=None, ge=0, le=MAX_REQUEST_FEN, strict=True)
    payment_terms_days: int | None = Field(default=None, ge=0, le=365, strict=True)
    active: bool | None = Field(default=None, description="false: no new order settles on this account's credit")
    note: str | None = Field(default=None, max_length=2000)


class CreditAccountPublic(BaseModel):
    id: str
    store_id: str
    customer_name: str
    phone: str = Field(description="digits only")
    payer_id: str = Field(description="the customer's payer id in GET /v1/receivables and payments")
    credit_limit_fen: int
    payment_terms_days: int
    active: bool
    note: str | None = None
    balance_fen: int = Field(description="owed on credit and not yet paid (open receivables)")
    credit_available_fen: int = Field(description="credit limit less balance (negative: over the limit)")
    credit_stop: bool = Field(description="the balance has reached the limit: a new order on credit needs the "
                                          "service manager's allowance")
    created_at: datetime
    created_by: Actor
    updated_at: datetime
    version: int


CreditAccountList = Page[CreditAccountPublic]


class CreditAllowanceCreate(Input):
    reason: str = Field(min_length=1, max_length=500)
    payment_terms_days: int = Field(default=30, ge=0, le=365, strict=True,
                                    description="days after the settlement day the customer pays by")


class CreditAllowancePublic(BaseModel):
    """The service manager's allowance for this order to settle on credit (`on_credit`)."""

    payment_terms_days: int
    reason: str
    allowed_by: Actor
    allowed_at: datetime
