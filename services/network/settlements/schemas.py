from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.common.pagination import Page

PERIOD = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
SettlementStatus = Literal["issued", "confirmed", "paid"]
CREDENTIAL = 'the key or sign-in they used: "key:<key id>" or "token:<sign-in>"; null where it was not recorded'


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
    issued_by: str = Field(description="the person who issued it (for a machine's own key, the key's id)")
    issued_by_name: str | None = Field(default=None, description="their name when they issued it")
    issued_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    confirmed_at: datetime | None = None
    confirmed_by: str | None = Field(default=None, description="the store's person who confirmed it")
    confirmed_by_name: str | None = None
    confirmed_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    paid_at: datetime | None = None
    paid_by: str | None = Field(default=None, description="the person who recorded the payment")
    paid_by_name: str | None = None
    paid_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    reference: str | None = None
    version: int


SettlementList = Page[SettlementPublic]
