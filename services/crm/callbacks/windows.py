"""Call windows: when the information clerk may phone a customer, in the store's own time.

Defaults come from data/call_windows.json; a store may keep its own (the locality's
habits, 篇19二(一)). A survey callback falls due inside the last window of its day (day 3
after delivery, or day 7 for the tracking call), never later: the job descriptions say
"within 3 days". A customer who prefers the morning or the afternoon is due in the last
window of that part of the day."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.errors import ValidationFailed
from services.crm.callbacks.models import StoreCallWindows

PARTS = ("morning", "afternoon")
# A window includes its start and excludes its end, so its last moment is a minute before
# the end: the deadline is still inside the window the call is planned in.
LAST_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Window:
    start: time
    end: time
    part: str

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M"), "part": self.part}


def parse(rows: list[dict], field: str = "windows") -> tuple[Window, ...]:
    """Windows from their stored or sent form; overlapping, empty or unnamed ones are 422 naming the window."""
    if not rows:
        raise ValidationFailed(field, "at least one call window")
    out = []
    for index, row in enumerate(rows):
        where = f"{field}.{index}"
        try:
            start, end = time.fromisoformat(row["start"]), time.fromisoformat(row["end"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationFailed(where, "start and end as HH:MM") from exc
        if start >= end:
            raise ValidationFailed(where, "must end after it starts, on the same day")
        part = row.get("part") or ("morning" if start < time(12) else "afternoon")
        if part not in PARTS:
            raise ValidationFailed(f"{where}.part", f"one of {', '.join(PARTS)}")
        out.append(Window(start, end, part))
    out.sort(key=lambda w: w.start)
    for before, after in zip(out, out[1:], strict=False):
        if after.start < before.end:
            raise ValidationFailed(field, f"windows {before.as_dict()} and {after.as_dict()} overlap")
    return tuple(out)


def defaults() -> tuple[Window, ...]:
    return parse(reference.load("call_windows")["windows"])


async def of_store(session: AsyncSession, store_id: str) -> tuple[Window, ...]:
    own = await session.get(StoreCallWindows, store_id)
    return parse(own.windows) if own is not None else defaults()


def last_moment_of_day(day: date, zone: ZoneInfo, windows: tuple[Window, ...], preferred: str | None) -> datetime:
    """The last moment of the day's last window (of the preferred part of the day, when the
    store has a window there), as UTC."""
    chosen = [w for w in windows if w.part == preferred] or list(windows)
    last = chosen[-1]
    return (datetime.combine(day, last.end, tzinfo=zone) - LAST_MINUTE).astimezone(UTC)


def due_on_day(start: datetime, days: int, zone: ZoneInfo, windows: tuple[Window, ...],
               preferred: str | None) -> datetime:
    """Due inside the last call window of the `days`-th store day after `start`."""
    return last_moment_of_day(start.astimezone(zone).date() + timedelta(days=days), zone, windows, preferred)


def place(instant: datetime, zone: ZoneInfo, windows: tuple[Window, ...]) -> datetime:
    """`instant` when it falls inside a window; otherwise the opening of the next one."""
    local = instant.astimezone(zone)
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset)
        for window in windows:
            opens = datetime.combine(day, window.start, tzinfo=zone)
            closes = datetime.combine(day, window.end, tzinfo=zone)
            if opens <= local < closes:
                return instant.astimezone(UTC)
            if local < opens:
                return opens.astimezone(UTC)
    raise ValueError("no call window")  # parse() never gives none


def window_of(instant: datetime, zone: ZoneInfo, windows: tuple[Window, ...]) -> Window | None:
    local = instant.astimezone(zone).time()
    return next((w for w in windows if w.start <= local < w.end), None)
