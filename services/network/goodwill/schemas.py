from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.common.inputs import MAX_REQUEST_FEN, Day
from services.common.pagination import Page
from services.common.who import Who

AuthorisationStatus = Literal["requested", "granted", "refused"]
VIN_PATTERN = r"^[A-HJ-NPR-Z0-9]{17}$"


class AuthorisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vin: str = Field(pattern=VIN_PATTERN, description="17 characters, upper case, no I, O or Q")
    amount_limit_fen: int = Field(ge=1, le=MAX_REQUEST_FEN, description="the most the store asks the brand to pay")
    valid_until: Day = Field(description="the last day the repair may begin under it")
    reason: str = Field(min_length=1, max_length=4000, description="why the brand should pay (the customer's case)")
    store_id: str | None = Field(default=None, max_length=64, description="a store's caller: its own (default)")

    @field_validator("vin", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


class AuthorisationDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["grant", "refuse"]
    amount_limit_fen: int | None = Field(default=None, ge=1, le=MAX_REQUEST_FEN,
                                         description="granted limit; default the amount asked, never more")
    brand_share_percent: int | None = Field(default=None, ge=1, le=100,
                                            description="the brand's share of the priced work; default "
                                                        "data/claim_kinds.json's")
    valid_until: Day | None = Field(default=None, description="default the day asked, never later")
    note: str = Field(default="", max_length=4000)


class AuthorisationPublic(BaseModel):
    id: str
    store_id: str
    vin: str
    status: AuthorisationStatus
    reason: str
    amount_requested_fen: int
    valid_until_requested: date
    amount_limit_fen: int | None = Field(default=None, description="granted: the most a goodwill claim may claim")
    brand_share_percent: int | None = None
    valid_until: date | None = Field(default=None, description="granted: the last day the repair may begin")
    requested_at: datetime
    requested_by: str
    requester: Who
    decided_at: datetime | None = None
    decided_by: str | None = None
    decider: Who | None = None
    decision_note: str | None = None
    version: int


AuthorisationList = Page[AuthorisationPublic]
