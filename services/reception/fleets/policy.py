"""A fleet contract's rules, apart from the database: what a line costs the fleet, when an
order waits for the fleet's manager, when the fleet's credit is stopped, which days a
monthly statement covers, and how many days a fleet's cars were off the road."""
from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
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


# A year and a day: enough for a year's report from any day, small enough to answer at once.
MAX_UPTIME_DAYS = 366


def days_off_road(stays: Iterable[tuple[date, date]], first: date, last: date) -> set[date]:
    """The store-local days in [first, last] a car was at the store: each stay from its check-in
    day to its handover day, both counted (a car in and out on one day lost that day); days of
    overlapping orders count once."""
    days: set[date] = set()
    for checked_in, handed_over in stays:
        day = max(checked_in, first)
        while day <= min(handed_over, last):
            days.add(day)
            day += timedelta(days=1)
    return days


def availability_percent(vehicle_days: int, days_off: int) -> Decimal | None:
    """The share of the vehicle-days the cars were on the road, to 0.01 %, half up; none without cars."""
    if vehicle_days <= 0:
        return None
    return (Decimal(100) * (vehicle_days - days_off) / vehicle_days).quantize(Decimal("0.01"), ROUND_HALF_UP)
