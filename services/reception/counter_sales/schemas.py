import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from services.common.inputs import MAX_QUANTITY
from services.common.pagination import Page
from services.reception.repair_orders.schemas import Payment, PaymentPublic
from services.reception.shared.schemas import VIN_PATTERN, Actor, Customer, HistoryEntry, Input

CounterSaleStatus = Literal["open", "paid", "cancelled"]


class CounterSaleLineCreate(Input):
    accessory_code: str = Field(min_length=1, max_length=32,
                                description="精品 accessory code (data/accessories.json, GET /v1/accessories)")
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY, description="whole units")
    discount_percent: Decimal = Field(
        default=Decimal("0"), ge=0, le=100, decimal_places=2,
        description="taken off the catalogue price, at most the store's max_discount_percent "
                    "(GET /v1/stores/{id}/counter-sale-settings)",
    )

    @field_validator("discount_percent")
    @classmethod
    def _plain(cls, value: Decimal) -> Decimal:
        return Decimal(format(value, "f"))


class CounterSaleCreate(Input):
    store_id: str | None = Field(default=None, description="HQ callers name the store; store callers sell in their own")
    lines: list[CounterSaleLineCreate] = Field(min_length=1, max_length=50)
    customer: Customer | None = Field(default=None, description="the buyer, when they give a name and phone")
    vin: str | None = Field(default=None, description="the buyer's car, when the item is for it (17 characters)")
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("vin", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("vin")
    @classmethod
    def _valid_vin(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(VIN_PATTERN, value):
            raise ValueError("a VIN is 17 letters and digits, without I, O or Q")
        return value


class CounterSalePay(Input):
    payments: list[Payment] = Field(min_length=1, max_length=20,
                                    description="must add up to total_fen exactly")


class CounterSaleCancel(Input):
    reason: str | None = Field(default=None, max_length=2000)


class CounterSaleLinePublic(BaseModel):
    id: str
    position: int
    kind: Literal["accessory"] = "accessory"
    accessory_code: str
    description: str
    quantity: int
    unit_price_fen: int = Field(description="the catalogue's price per unit, before VAT")
    discount_percent: Decimal
    discount_fen: int
    amount_fen: int = Field(description="quantity × price less the discount, rounded once to the fen; before VAT")


class CounterSaleSummary(BaseModel):
    id: str
    store_id: str
    number: str = Field(description="the store's counter-sale number: CS-{store code}-{yyyymmdd}-{seq}")
    status: CounterSaleStatus
    sale_day: date = Field(description="the store's local day it was rung up on")
    customer: Customer | None = None
    vin: str | None = None
    note: str | None = None
    sold_by: Actor = Field(description="the advisor credited with the sale: whoever rang it up")
    opened_at: datetime
    list_fen: int = Field(description="every line at the catalogue's price")
    discount_fen: int
    amount_fen: int = Field(description="every line after its discount, before VAT")
    tax_fen: int
    total_fen: int = Field(description="what the buyer pays, VAT included")
    vat_rate: Decimal
    paid_at: datetime | None = None
    paid_by: Actor | None = Field(default=None, description="the cashier who took the payment")
    payments: list[PaymentPublic] = Field(default_factory=list)
    cancelled_at: datetime | None = None
    cancelled_by: Actor | None = None
    cancel_reason: str | None = None
    version: int


class CounterSalePublic(CounterSaleSummary):
    lines: list[CounterSaleLinePublic]
    history: list[HistoryEntry]


CounterSaleList = Page[CounterSaleSummary]


class CounterSaleSettingsUpdate(Input):
    max_discount_percent: Decimal = Field(ge=0, le=100, decimal_places=2,
                                          description="the most a line may take off the catalogue price")


class CounterSaleSettingsPublic(BaseModel):
    store_id: str
    max_discount_percent: Decimal
    source: Literal["default", "store"]
    updated_at: datetime | None = None
    updated_by: Actor | None = None
    version: int = 0
