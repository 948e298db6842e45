"""The rules a service manager answers for, apart from the database: when a high-value
order needs the manager's sign-off, and what the car is promised for when the advisor
names no time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

HIGH_VALUE_RULE = "high_value_sign_off"


def order_value_fen(totals: dict) -> int:
    """What the estimate is worth: every payer's lines and the VAT on customer pay. A
    warranty or insurance job is as much work, and as much risk, as one the customer pays."""
    return int(totals.get("subtotal_fen", 0)) + int(totals.get("tax_fen", 0))


@dataclass(frozen=True)
class SignOffNeed:
    """Why approval waits for the manager: the order's value, the store's threshold, and
    what was signed before (None: never signed)."""

    value_fen: int
    threshold_fen: int
    signed_off_fen: int | None

    @property
    def grown(self) -> bool:
        return self.signed_off_fen is not None


def sign_off_needed(value_fen: int, threshold_fen: int | None, signed_off_fen: int | None,
                    margin_percent: Decimal) -> SignOffNeed | None:
    """None when the customer's yes may go ahead. A sign-off covers the amount signed plus
    the margin; an order that grows past that is signed again, as if it were new."""
    if threshold_fen is None or value_fen < threshold_fen:
        return None
    if signed_off_fen is not None and value_fen <= signed_off_fen * (1 + margin_percent / 100):
        return None
    return SignOffNeed(value_fen=value_fen, threshold_fen=threshold_fen, signed_off_fen=signed_off_fen)


def default_promise(now: datetime, zone: ZoneInfo, labour_hours: Decimal, *, opens_hour: int, closes_hour: int,
                    latest: datetime) -> datetime:
    """The closing hour of the day on which the labour's flat hours, worked in the store's
    opening hours from now, are done: what an advisor says ("today by six", "tomorrow by six")
    when the customer asks no particular time. Every day counts: dealers open all week.
    The answer is UTC, as every stored time is."""
    remaining = timedelta(hours=float(max(labour_hours, Decimal(0))))
    local = now.astimezone(zone)
    day = local.date()
    while True:
        opens = datetime.combine(day, time(opens_hour), tzinfo=zone)
        closes = datetime.combine(day, time(0), tzinfo=zone) + timedelta(hours=closes_hour)
        start = max(local, opens)
        if start < closes and start + remaining <= closes:
            promise = closes
            break
        if start < closes:
            remaining -= closes - start
        day += timedelta(days=1)
        if closes >= latest:
            return latest
    return min(promise, latest).astimezone(UTC)
