"""The work-in-progress board of one store, from the workshop's own copies: its repair
orders (from reception's events), their jobs and their reservations.

An order is open from its opening at reception (waiting for the customer's approval)
until it is delivered or cancelled; `ready` orders are open too (the car is still here).
Its age runs from its opening (or, for orders the workshop first saw approved, from the
approval). Ageing buckets: under 1 day, 1 to 3 days, 3 to 7 days, 7 days and over; a
bucket holds its lower bound."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.identity import Principal
from services.common.stores import acting_store_id, get_store, store_zone
from services.common.tables import KnownStore
from services.workshop.base import HUNDREDTH
from services.workshop.board import promise, repository
from services.workshop.board.schemas import (
    BUCKET_LABELS,
    STATE_LABELS,
    AgeBucket,
    BoardOrder,
    BucketCount,
    PromiseOutlook,
    StateCount,
    WorkInProgressBoard,
)
from services.workshop.jobs.models import Job
from services.workshop.orders.models import WorkshopOrder
from services.workshop.settings import WorkshopSettings

# Orders whose work can still be late: not yet ready, not gone.
UNREADY = ("awaiting_approval", "approved", "in_progress")
BUCKETS: tuple[tuple[AgeBucket, timedelta], ...] = (
    ("under_1_day", timedelta(days=1)), ("1_to_3_days", timedelta(days=3)), ("3_to_7_days", timedelta(days=7)),
)


def age_bucket(age: timedelta) -> AgeBucket:
    return next((bucket for bucket, below in BUCKETS if age < below), "over_7_days")


def in_shop_since(order: WorkshopOrder) -> datetime:
    since = order.opened_at or order.approved_at
    assert since is not None  # an order is kept from its opening or from its approval
    return since


def _hours(delta: timedelta) -> Decimal:
    return (Decimal(int(delta.total_seconds())) / 3600).quantize(HUNDREDTH)


def _queued(job: Job) -> promise.QueuedJob:
    return promise.QueuedJob(id=job.id, repair_order_id=job.repair_order_id, technician_id=job.technician_id,
                             flat_rate_hours=job.flat_rate_hours, status=job.status, assigned_at=job.assigned_at)


async def outlooks(session: AsyncSession, settings: WorkshopSettings, now: datetime,
                   orders: list[WorkshopOrder]) -> dict[str, PromiseOutlook]:
    """The promise outlook of each unready order that has a promised time, by order id."""
    watched = [o for o in orders if o.promised_at is not None and o.status in UNREADY]
    if not watched:
        return {}
    queues: dict[str, list[promise.QueuedJob]] = defaultdict(list)
    for job in await repository.unfinished_jobs(session, {o.store_id for o in watched}):
        queues[job.store_id].append(_queued(job))
    days = {}
    for store_id in queues.keys() | {o.store_id for o in watched}:
        zone = store_zone(await session.get(KnownStore, store_id))
        days[store_id] = promise.WorkingDay(settings.working_day_start, settings.working_day_end, zone)
    found = {}
    for order in watched:
        assert order.promised_at is not None
        seen = promise.outlook(order.id, order.promised_at, now, queues[order.store_id], days[order.store_id])
        found[order.id] = PromiseOutlook(**vars(seen))
    return found


def _average(deltas: list[timedelta]) -> Decimal | None:
    if not deltas:
        return None
    return _hours(sum(deltas, timedelta()) / len(deltas))


async def board(session: AsyncSession, settings: WorkshopSettings, principal: Principal, now: datetime,
                store_id: str | None) -> WorkInProgressBoard:
    store = await get_store(session, acting_store_id(principal, store_id))
    orders = await repository.open_orders(session, store.id)
    ids = [o.id for o in orders]
    jobs: dict[str, list[Job]] = defaultdict(list)
    for job in await repository.jobs_of_orders(session, ids):
        jobs[job.repair_order_id].append(job)
    short = await repository.parts_short(session, ids)
    seen = await outlooks(session, settings, now, orders)

    rows = []
    for order in orders:
        since = in_shop_since(order)
        age = max(now - since, timedelta())
        order_jobs = jobs[order.id]
        rows.append(BoardOrder(
            id=order.id, number=order.number, vin=order.vin, plate=order.plate, model=order.model,
            status=order.status, in_shop_since=since, age_hours=_hours(age), age_bucket=age_bucket(age),
            jobs=len(order_jobs), jobs_done=sum(j.status in ("completed", "qc_passed") for j in order_jobs),
            waiting_approval=order.status == "awaiting_approval", waiting_parts=short.get(order.id, 0) > 0,
            parts_short=short.get(order.id, 0), in_qc=sum(j.status == "completed" for j in order_jobs),
            promise=seen.get(order.id),
        ))
    rows.sort(key=lambda r: (r.in_shop_since, r.id))

    delivered = await repository.delivered_since(session, store.id, now - timedelta(days=settings.time_in_shop_days))
    stays = [o.delivered_at - in_shop_since(o) for o in delivered if o.delivered_at is not None]
    return WorkInProgressBoard(
        store_id=store.id, as_of=now, open_orders=len(rows),
        by_state=[StateCount(state=s, label=label, count=sum(r.status == s for r in rows))
                  for s, label in STATE_LABELS.items()],
        ageing=[BucketCount(bucket=b, label=label, count=sum(r.age_bucket == b for r in rows))
                for b, label in BUCKET_LABELS.items()],
        waiting_approval=sum(r.waiting_approval for r in rows), waiting_parts=sum(r.waiting_parts for r in rows),
        in_qc=sum(r.in_qc > 0 for r in rows),
        at_risk=sum(bool(r.promise and r.promise.at_risk) for r in rows),
        late=sum(bool(r.promise and r.promise.late) for r in rows),
        average_age_hours=_average([max(now - r.in_shop_since, timedelta()) for r in rows]),
        average_time_in_shop_hours=_average(stays), delivered_counted=len(stays),
        time_in_shop_days=settings.time_in_shop_days, orders=rows,
    )
