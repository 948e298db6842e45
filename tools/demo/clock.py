"""The simulated clock: the instant the demo writes for the platform, and the half-hour
grid the day is lived on."""
from __future__ import annotations

import math
import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

GRID = timedelta(minutes=30)
HOUR = timedelta(hours=1)
TICK_HOURS = GRID.total_seconds() / 3600


class _Setting(NamedTuple):
    when: datetime  # the simulated instant written
    mark: float  # time.monotonic() when it was written


class SimClock:
    """Writes the simulated instant to the platform's clock file. The services' clocks
    run on from there at normal speed, so the demo keeps time the same way and never
    moves the clock backwards."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._set: _Setting | None = None

    def now(self) -> datetime:
        if self._set is None:
            return datetime.now(UTC)
        return self._set.when + timedelta(seconds=time.monotonic() - self._set.mark)

    def set(self, when: datetime) -> datetime:
        if self._set is not None:
            when = max(when, self.now() + timedelta(milliseconds=1))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(when.astimezone(UTC).isoformat())
        os.replace(tmp, self.path)  # readers never see half a timestamp
        self._set = _Setting(when, time.monotonic())
        return when

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self.path.with_name(self.path.name + ".tmp").unlink(missing_ok=True)
        self._set = None


def ceil_grid(t: datetime, step: timedelta = GRID) -> datetime:
    size = int(step.total_seconds())
    return datetime.fromtimestamp(math.ceil(t.timestamp() / size) * size, UTC)


def floor_hour(t: datetime) -> datetime:
    return datetime.fromtimestamp(math.floor(t.timestamp() / 3600) * 3600, UTC)


def local_time(zone: ZoneInfo, day: date, hour: int, minute: int = 0) -> datetime:
    """That wall-clock time of `day` in `zone`, as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)
