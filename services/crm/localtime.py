"""Store-local time for the rules that need it: call windows, report periods, daily jobs.

Everything is stored in UTC; a store's zone (from network's store events, default
Asia/Shanghai) is applied only where a rule speaks of the store's day or clock."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.clock import add_months
from services.common.errors import ValidationFailed
from services.common.inputs import EARLIEST, LATEST
from services.common.stores import store_zone
from services.common.tables import KnownStore


async def zone_of(session: AsyncSession, store_id: str) -> ZoneInfo:
    return store_zone(await session.get(KnownStore, store_id))


@cache
def call_windows() -> tuple[tuple[time, time], ...]:
    windows = []
    for start, end in reference.survey()["call_windows_local"]:
        windows.append((time.fromisoformat(start), time.fromisoformat(end)))
    return tuple(sorted(windows))


def place_in_call_window(instant: datetime, zone: ZoneInfo) -> datetime:
    """`instant` when it falls inside one of the store's call windows; otherwise the
    opening of the next window. Windows include their start and exclude their end."""
    local = instant.astimezone(zone)
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset)
        for start, end in call_windows():
            opens = datetime.combine(day, start, tzinfo=zone)
            closes = datetime.combine(day, end, tzinfo=zone)
            if opens <= local < closes:
                return instant.astimezone(UTC)
            if local < opens:
                return opens.astimezone(UTC)
    raise ValueError("no call window configured")  # survey.json always has one


def in_call_window(instant: datetime, zone: ZoneInfo) -> bool:
    local = instant.astimezone(zone)
    return any(start <= local.time() < end for start, end in call_windows())


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def months_between(earlier: date, later: date) -> int:
    """Whole calendar months from `earlier` to `later` (0 when later is earlier)."""
    months = (later.year - earlier.year) * 12 + (later.month - earlier.month)
    if later.day < earlier.day and add_months(earlier, months) > later:
        months -= 1
    return max(months, 0)


@dataclass(frozen=True)
class Period:
    kind: str  # weekly | monthly
    label: str  # 2026-W05 | 2026-02
    first_day: date
    end_day: date  # exclusive

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as UTC instants, [start, end), in the store's own days."""
        return local_midnight(self.first_day, zone), local_midnight(self.end_day, zone)


# The platform's dates (services.common.inputs); far beyond them UTC conversions of the store's days overflow.
YEARS = range(EARLIEST.year, LATEST.year + 1)
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def iso_week(label: str, field: str = "week") -> Period:
    match = _WEEK.match(label or "")
    if not match or int(match[1]) not in YEARS:
        raise ValidationFailed(field, "expected an ISO week like 2026-W05")
    try:
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        return Period("weekly", label, monday, monday + timedelta(days=7))
    except (ValueError, OverflowError) as exc:
        raise ValidationFailed(field, f"no such ISO week: {exc}") from exc


def month(label: str, field: str = "month") -> Period:
    match = _MONTH.match(label or "")
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) not in YEARS:
        raise ValidationFailed(field, "expected a month like 2026-02")
    first = date(int(match[1]), int(match[2]), 1)
    return Period("monthly", label, first, add_months(first, 1))


def week_of(day: date) -> Period:
    year, week, _ = day.isocalendar()
    return iso_week(f"{year:04d}-W{week:02d}")


def month_of(day: date) -> Period:
    return month(f"{day.year:04d}-{day.month:02d}")
