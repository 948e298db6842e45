"""Actors (HQ and the stores), each with an agenda of things to do at simulated times.

A store's half hour has two stages. In the first, the desk works through bookings,
check-ins and deliveries one at a time in a fixed order (they touch what the whole store
shares: order numbers, the appointment book, stock); each technician finishes a job before
starting the next; everything else (quotes, handovers, calls, claims) goes on side by
side. Then the foreman plans the bays, without a call, in a fixed order; in the second
stage the customers' approvals and the job assignments go out. So the same seed always
tells the same story, however the answers interleave."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from tools.demo.clock import GRID, ceil_grid

if TYPE_CHECKING:
    from tools.demo.runner import Demo

Action = Callable[[], Awaitable[Any]]

# Lanes: what runs one at a time, and what side by side.
DESK = "desk"
FREE = "free"


def bay(technician_id: str) -> str:
    """A technician's own lane: one job at a time."""
    return f"bay:{technician_id}"


class BayStep(IntEnum):
    """Within a bay's half hour, the job that ends goes before the one that begins."""

    FINISH = 0
    START = 1


@dataclass(frozen=True)
class Planned:
    lane: str
    step: int
    key: str  # a repair order's key, or a name: never an id the platform made
    what: str
    seq: int  # the order of planning, the last tie-breaker
    action: Action


class Actor:
    name = "actor"

    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self.agenda: dict[datetime, list[Planned]] = defaultdict(list)
        self.running = False  # this actor has begun the current tick
        self._seq = 0

    def at(self, when: datetime, what: str, action: Action, lane: str = FREE, key: str = "", step: int = 0) -> None:
        """Do `action` at the half hour of `when` (or the next one). Within a lane, actions
        run in the order of `key` (a repair order's key, or a name), never in the order
        they happened to be planned, which may depend on timing."""
        tick = ceil_grid(when)
        current = self.demo.current_tick
        if current is not None:
            tick = max(tick, current)
            if tick == current and self.running:
                tick = current + GRID
        self._seq += 1
        self.agenda[tick].append(Planned(lane, step, key, what, self._seq, action))

    def next_time(self) -> datetime | None:
        return min(self.agenda) if self.agenda else None

    async def run_due(self, tick: datetime) -> None:
        """One thing at a time, in the order of the keys."""
        self.running = True
        for planned in sorted(self.agenda.pop(tick, []), key=lambda p: (p.key, p.step, p.what, p.seq)):
            await self.demo.attempt(f"{self.name}: {planned.what}", planned.action)
