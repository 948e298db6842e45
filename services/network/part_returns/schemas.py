from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.common.pagination import Page
from services.common.who import Who

PartReturnStatus = Literal["due", "shipped", "received", "charged_back", "cancelled"]
InspectionResult = Literal["ok", "wrong_part", "damaged", "missing"]
CREDENTIAL = 'the key or sign-in they used: "key:<key id>" or "token:<sign-in>"'


class PartReturnShip(BaseModel):
    waybill: str = Field(min_length=1, max_length=100, description="the carrier's waybill number")
    carrier: str = Field(min_length=1, max_length=100, description="who carries it, e.g. 顺丰 SF Express")
    note: str = Field(default="", max_length=2000)


class PartReturnReceive(BaseModel):
    result: InspectionResult = Field(description="what the warehouse found: ok, or why the part does not count")
    note: str = Field(default="", max_length=2000)


class PartReturnPublic(BaseModel):
    id: str
    store_id: str
    claim_id: str
    line_id: str
    repair_order_number: str
    part_no: str
    description: str
    quantity: str
    status: PartReturnStatus
    ship_by: datetime | None = Field(description="null while the claim awaits its decision")
    overdue: bool = Field(description="due and past its ship-by date: the next settlement charges it back (PNR)")
    marked_at: datetime
    marked_by: str
    marked_by_name: str | None = None
    marked_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    marker: Who
    shipped_at: datetime | None = None
    shipped_by: str | None = None
    shipped_by_name: str | None = None
    shipped_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    waybill: str | None = None
    carrier: str | None = None
    received_at: datetime | None = None
    received_by: str | None = None
    received_by_name: str | None = None
    received_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    result: InspectionResult | None = None
    inspection_note: str | None = None
    chargeback_id: str | None = Field(default=None, description="the debit this return gave, if any")
    version: int


PartReturnList = Page[PartReturnPublic]
