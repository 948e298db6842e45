from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.common.pagination import Page

PERIOD = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
SettlementStatus = Literal["issued", "confirmed", "paid"]


class SettlementCreate(BaseModel):
    store_id: str = Field(min_length=1, max_length=64)
    period: str = Field(pattern=PERIOD, description="the month, YYYY-MM, in the store's time zone")


class SettlementPay(BaseModel):
    reference: str = Field(min_length=1, max_length=200, description="the bank transfer or voucher reference")


class SettledClaim(BaseModel):
    id: str
    repair_order_id: str
    repair_order_number: str
    amount_approved_fen: int


class SettlementPublic(BaseModel):
    id: str
    store_id: str
    period: str
    status: SettlementStatus
    claims: list[SettledClaim]
    total_fen: int
    issued_at: datetime
    issued_by: str
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    paid_at: datetime | None = None
    paid_by: str | None = None
    reference: str | None = None
    version: int


SettlementList = Page[SettlementPublic]
