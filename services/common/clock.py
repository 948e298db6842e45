"""The clock is injected everywhere business time matters, so tests can move time."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from dateutil.relativedelta import relativedelta


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; for tests and drills."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now = self._now + (delta or timedelta(**kwargs))
        return self._now


def utc(dt: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is taken to be UTC already (values from
    reference files and tests written without a zone)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later (earlier when negative); where that month
    is shorter, its last day: 31 Jan + 1 month is 28 or 29 Feb. Warranty cover, reminder
    intervals and report periods all count months this way."""
    return day + relativedelta(months=months)


class FileClock:
    """Time read from a file, for demos that replay months of activity in minutes.

    The file holds one RFC 3339 instant: the simulated time at the moment the file was
    written; from there the clock runs at normal speed. Without the file this is the
    system clock. Only the local runner sets it (PLATFORM_CLOCK=file:<path>)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._seen: tuple[float, float] | None = None  # (file mtime, offset seconds)

    def now(self) -> datetime:
        import os

        wall = datetime.now(UTC)
        try:
            mtime = os.stat(self.path).st_mtime
        except FileNotFoundError:
            self._seen = None
            return wall
        if self._seen is None or self._seen[0] != mtime:
            try:
                with open(self.path) as f:
                    simulated = datetime.fromisoformat(f.read().strip())
            except (OSError, ValueError):
                return wall
            written = datetime.fromtimestamp(mtime, UTC)
            self._seen = (mtime, (simulated - written).total_seconds())
        return wall + timedelta(seconds=self._seen[1])


def clock_from_setting(value: str) -> Clock:
    """`system` (default) or `file:<path>` (see FileClock)."""
    if value.startswith("file:"):
        return FileClock(value[len("file:"):])
    return SystemClock()
