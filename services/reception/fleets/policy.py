"""A fleet contract's rules, apart from the database: what a line costs the fleet, when an
order waits for the fleet's manager, when the fleet's credit is stopped, and which days a
monthly statement covers."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.reception.shared.service import fen

APPROVAL_RULE = "fleet_approval"
CREDIT_STOP_RULE = "fleet_credit_stop"
# How long a fleet contact's approval link works: long enough for a manager away for the weekend.
LINK_VALID = timedelta(days=7)
HUNDRED = Decimal(100)


def discount_percent(kind: str, pay_type: str, labour_percent: Decimal, parts_percent: Decimal) -> Decimal | None:
    """The contract's discount on a line, or None: it covers what the fleet itself pays
    for labour and parts. Brand, insurer and store-paid lines, fees, sublets and
    accessories are at the price of any other order."""
    if pay_type != "customer":
        return None
    if kind == "labor":
        return labour_percent
    if kind == "part":
        return parts_percent
    return None


def contract_amount(quantity: Decimal, unit_price_fen: int, percent: Decimal) -> int:
    """The line at contract price, rounded to the fen once (not per unit, not per step)."""
    return fen(quantity * unit_price_fen * (HUNDRED - percent) / HUNDRED)


def approval_needed(due_fen: int, limit_fen: int, approved_fen: int | None) -> bool:
    """Above the limit the fleet's manager approves; an approval covers the amount approved,
    and an order that grows past it is approved again."""
    if due_fen <= limit_fen:
        return False
    return approved_fen is None or due_fen > approved_fen


@dataclass(frozen=True)
class CreditStop:
    balance_fen: int
    amount_fen: int
    credit_limit_fen: int

    @property
    def would_owe_fen(self) -> int:
        return self.balance_fen + self.amount_fen


def credit_stop(balance_fen: int, amount_fen: int, credit_limit_fen: int) -> CreditStop | None:
    """None while the fleet's balance with this order stays within its credit limit."""
    if balance_fen + amount_fen <= credit_limit_fen:
        return None
    return CreditStop(balance_fen=balance_fen, amount_fen=amount_fen, credit_limit_fen=credit_limit_fen)


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    starts_at: datetime
    ends_at: datetime  # exclusive

    def due_on(self, payment_terms_days: int) -> date:
        return self.last_day + timedelta(days=payment_terms_days)


def month_period(year: int, month: int, zone: ZoneInfo) -> Period:
    """A calendar month in the store's time zone: an order settled at 23:30 on the 31st
    in Shanghai belongs to that month, whatever the UTC date."""
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    starts = datetime.combine(first, time(0), tzinfo=zone)
    ends = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    return Period(first_day=first, last_day=last, starts_at=starts, ends_at=ends)
