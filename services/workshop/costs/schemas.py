from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from services.common.inputs import MAX_LINE_FEN, MAX_VERSION
from services.workshop.parts.schemas import CREDENTIAL

CostKind = Literal["labor", "part", "sublet"]


class SubletCost(BaseModel):
    cost_fen: int = Field(ge=0, le=MAX_LINE_FEN, description="what the store pays the vendor for the line, in fen")
    vendor: str | None = Field(default=None, min_length=1, max_length=200)
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION,
                                description="the version you read, if you want a stale one refused (412)")


class SubletLinePublic(BaseModel):
    id: str
    store_id: str
    repair_order_id: str
    line_id: str
    description: str
    pay_type: str
    cost_fen: int | None = None
    vendor: str | None = None
    created_at: datetime
    recorded_at: datetime | None = None
    recorded_by: str | None = None
    recorded_by_name: str | None = None
    recorded_by_credential: str | None = Field(default=None, description=CREDENTIAL)
    version: int


class CostLine(BaseModel):
    line_id: str | None = Field(description="the order line; None for parts issued over the counter to the order")
    kind: CostKind
    pay_type: str | None = None
    description: str
    part_no: str | None = None
    quantity: int | None = Field(default=None, description="parts: units issued and not returned")
    unit_cost_fen: int | None = Field(default=None, description="parts: average cost when issued")
    clocked_hours: Decimal | None = Field(default=None, description="labour: hours clocked, rework included")
    sublet_order_id: str | None = Field(default=None, description="sublet: the sublet order the line went out on")
    cost_source: Literal["invoice", "agreed_price", "recorded"] | None = Field(
        default=None, description="sublet: the vendor's invoice (matched or accepted), the price agreed on the "
                                  "sublet order before it, or the cost recorded on the line without one")
    cost_fen: int


class PayTypeCost(BaseModel):
    pay_type: str
    parts_cost_fen: int
    labor_cost_fen: int
    sublet_cost_fen: int
    total_cost_fen: int


class OrderCost(BaseModel):
    repair_order_id: str
    store_id: str
    number: str
    status: str
    lines: list[CostLine]
    parts_cost_fen: int
    labor_cost_fen: int
    sublet_cost_fen: int
    total_cost_fen: int
    clocked_hours: Decimal
    by_pay_type: list[PayTypeCost] = Field(description="warranty, internal and the other payers' work apart")
    missing: list[str] = Field(description="what the figures lack: a technician without a cost rate, a sublet "
                                           "without its cost; empty when complete")
    complete: bool
    costed_at: datetime | None = Field(default=None, description="when workshop.order.costed went out")
