"""Will an order be ready by the time promised? The rule the service manager argues
about, apart from the database.

Work left is the flat-rate hours of the order's unfinished jobs. Each technician works
their own queue: what they started comes first (oldest assignment first), then what was
assigned to them, in the order it was assigned. So a technician reaches this order's jobs
only after the jobs of other orders ahead of them in that queue. Technicians work side by
side; a job nobody has been given yet waits for no one in particular (it counts its own
hours only). The order needs the longest of those lanes, in working hours, and has the
working time between now and the promise: the store's working day, every day, in the
store's time zone. It is at risk when it needs more than it has, while the promise is
still ahead; after that it is late."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.workshop.base import HUNDREDTH

UNFINISHED = ("pending", "assigned", "in_progress", "paused", "rework")
STARTED = ("in_progress", "paused", "rework")
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class QueuedJob:
    id: str
    repair_order_id: str
    technician_id: str | None
    flat_rate_hours: Decimal
    status: str
    assigned_at: datetime | None


@dataclass(frozen=True)
class WorkingDay:
    start: time
    end: time
    zone: ZoneInfo


@dataclass(frozen=True)
class Outlook:
    promised_at: datetime
    work_left_hours: Decimal  # the order's own unfinished flat hours
    queued_before_hours: Decimal  # other orders' hours ahead of it on the busiest technician's lane
    hours_needed: Decimal  # the longest lane: the queue ahead plus the order's own jobs in it
    hours_left: Decimal  # working time from now to the promise
    at_risk: bool
    late: bool


def _queue_key(job: QueuedJob) -> tuple[int, datetime, str]:
    return (0 if job.status in STARTED else 1, job.assigned_at or _NEVER, job.id)


def working_hours(start: datetime, end: datetime, day: WorkingDay) -> Decimal:
    """Working time between two instants, summed over the store's working days."""
    if end <= start:
        return Decimal(0)
    seconds = 0.0
    local = start.astimezone(day.zone).date()
    last = end.astimezone(day.zone).date()
    while local <= last:
        opens = datetime.combine(local, day.start, day.zone)
        closes = datetime.combine(local, day.end, day.zone)
        seconds += max((min(closes, end) - max(opens, start)).total_seconds(), 0.0)
        local += timedelta(days=1)
    return (Decimal(int(seconds)) / 3600).quantize(HUNDREDTH)


def lanes(order_id: str, queue: list[QueuedJob]) -> tuple[Decimal, Decimal, Decimal]:
    """(the order's own work left, hours queued ahead of it, hours needed) on its busiest lane."""
    own: dict[str | None, list[QueuedJob]] = defaultdict(list)
    for job in queue:
        if job.repair_order_id == order_id and job.status in UNFINISHED:
            own[job.technician_id].append(job)
    work_left = sum((j.flat_rate_hours for jobs in own.values() for j in jobs), Decimal(0))
    needed, ahead_of_busiest = Decimal(0), Decimal(0)
    for technician_id, jobs in own.items():
        mine = sum((j.flat_rate_hours for j in jobs), Decimal(0))
        ahead = Decimal(0)
        if technician_id is not None:
            first = min(_queue_key(j) for j in jobs)
            ahead = sum((j.flat_rate_hours for j in queue
                         if j.technician_id == technician_id and j.repair_order_id != order_id
                         and j.status in UNFINISHED and _queue_key(j) < first), Decimal(0))
        if ahead + mine > needed:
            needed, ahead_of_busiest = ahead + mine, ahead
    return work_left, ahead_of_busiest, needed


def outlook(order_id: str, promised_at: datetime, now: datetime, queue: list[QueuedJob], day: WorkingDay) -> Outlook:
    """`queue`: the unfinished jobs of the order's store (its own and everyone else's)."""
    work_left, ahead, needed = lanes(order_id, queue)
    left = working_hours(now, promised_at, day)
    late = now >= promised_at
    return Outlook(promised_at=promised_at, work_left_hours=work_left.quantize(HUNDREDTH),
                   queued_before_hours=ahead.quantize(HUNDREDTH), hours_needed=needed.quantize(HUNDREDTH),
                   hours_left=left, at_risk=not late and needed > left, late=late)
