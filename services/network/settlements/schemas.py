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
    kind: str = Field(default="warranty", description="the claim's kind (data/claim_kinds.json)")
    repair_order_id: str | None = Field(default=None, description="null for a pdi claim")
    repair_order_number: str | None = None
    amount_approved_fen: int


class SettlementDebit(BaseModel):
    """Money taken back from one claim: a negative line of the statement, with why."""

    id: str = Field(description="the chargeback")
    claim_id: str
    reason_code: str = Field(description="data/chargeback_reason_codes.json")
    reason_zh: str
    reason_en: str
    amount_fen: int = Field(description="negative: what the line takes off the statement")
    note: str
    part_return_id: str | None = Field(default=None, description="the old part not returned as asked, if that is why")
    charged_at: datetime
    charged_by: str
    charged_by_name: str | None = None
    charged_by_credential: str | None = Field(default=None, description=CREDENTIAL)


class SettlementPublic(BaseModel):
    id: str
    store_id: str
    period: str
    status: SettlementStatus
    claims: list[SettledClaim]
    debits: list[SettlementDebit] = Field(description="chargebacks this statement takes back, as negative lines")
    claims_fen: int = Field(description="the claims' approved amounts")
    debits_fen: int = Field(description="what the debits take back (a positive figure)")
    total_fen: int = Field(description="claims_fen − debits_fen; below zero the store owes the brand")
    owed_by_store: bool = Field(description="total_fen < 0: the store pays the brand; the payment is recorded "
                                            "with the reference of the store's transfer or of HQ's offset")
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
