"""How a counter sale is priced, apart from the database: the catalogue's price per unit,
the line's discount taken off and rounded once to the fen, VAT on the sale's sum as a
repair order charges it on customer pay (one rounding, half up)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from services.reception.shared.service import fen

# What a store's counter may take off the catalogue price when the store has set nothing
# (PUT /v1/stores/{id}/counter-sale-settings): a token discount, not a second price list.
DEFAULT_MAX_DISCOUNT_PERCENT = Decimal("10")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PricedLine:
    unit_price_fen: int
    quantity: int
    discount_percent: Decimal
    list_fen: int  # quantity × catalogue price
    amount_fen: int  # what the buyer is charged for the line, before VAT
    discount_fen: int  # list_fen − amount_fen: what the discount gave away, to the fen


def price_line(unit_price_fen: int, quantity: int, discount_percent: Decimal) -> PricedLine:
    list_fen = unit_price_fen * quantity
    amount = fen(Decimal(list_fen) * (HUNDRED - discount_percent) / HUNDRED)
    return PricedLine(unit_price_fen=unit_price_fen, quantity=quantity, discount_percent=discount_percent,
                      list_fen=list_fen, amount_fen=amount, discount_fen=list_fen - amount)


@dataclass(frozen=True)
class SaleTotals:
    list_fen: int
    discount_fen: int
    amount_fen: int  # every line, before VAT
    tax_fen: int
    total_fen: int  # what the buyer pays
    vat_rate: Decimal


def totals(lines: list[PricedLine], vat_rate: Decimal) -> SaleTotals:
    amount = sum(line.amount_fen for line in lines)
    tax = fen(Decimal(amount) * vat_rate)
    return SaleTotals(list_fen=sum(line.list_fen for line in lines),
                      discount_fen=sum(line.discount_fen for line in lines), amount_fen=amount, tax_fen=tax,
                      total_fen=amount + tax, vat_rate=vat_rate)
