"""A repair order's progress in the workshop. Reception moves the order to `in_progress`
and `ready` from two events, so each goes out exactly once per order: the decision is
taken with the order's row locked, and the flag it sets is committed with the event."""
from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, TypeAdapter, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock, utc
from services.common.errors import NotFound, ValidationFailed
from services.common.events.catalogue.reception import RepairOrderApproved, RepairOrderOpened
from services.common.events.catalogue.workshop import RepairOrderReady, RepairOrderWorkStarted
from services.common.events.envelope import Event
from services.common.identity import Principal
from services.common.logging import get_logger
from services.common.outbox import emit
from services.workshop.base import HUNDREDTH, seconds_to_hours
from services.workshop.board import service as board
from services.workshop.board.schemas import PromiseOutlook
from services.workshop.jobs import repository as jobs
from services.workshop.jobs.schemas import job_public
from services.workshop.orders import repository
from services.workshop.orders.models import WorkshopOrder
from services.workshop.orders.schemas import WorkshopOrderDetail, WorkshopOrderList, WorkshopOrderPublic
from services.workshop.parts import repository as parts
from services.workshop.parts.schemas import reservation_public
from services.workshop.settings import WorkshopSettings

log = get_logger(__name__)


_MOMENT = TypeAdapter(AwareDatetime)


def promised_at_of(event: Event) -> datetime | None:
    """The promised time an event of reception's carries, if any: a field of its own once
    the catalogue declares it, an unknown field (kept as text) before that."""
    value = getattr(event, "promised_at", None)
    if value is None:
        return None
    try:
        return utc(_MOMENT.validate_python(value))
    except ValidationError:
        log.warning("promised_at that is not an aware time ignored", value=str(value)[:64])
        return None


async def record_opening(session: AsyncSession, now: datetime, event: RepairOrderOpened) -> WorkshopOrder | None:
    """An order opened at reception waits for the customer's approval; the board shows it."""
    if await repository.get(session, event.repair_order_id) is not None:
        return None
    order = WorkshopOrder(id=event.repair_order_id, store_id=event.store_id, number=event.number,
                          vin=event.vehicle.vin, plate=event.vehicle.plate, model=event.vehicle.model,
                          status="awaiting_approval", opened_at=event.opened_at, updated_at=now)
    session.add(order)
    await session.flush()
    return order


async def record_approval(session: AsyncSession, now: datetime, event: RepairOrderApproved) -> WorkshopOrder:
    # Not locked: the approval goes on to lock stock rows, which come before the order row
    # in everyone's lock order. The columns written here are written by nobody else.
    order = await repository.get(session, event.repair_order_id)
    if order is None:
        order = WorkshopOrder(id=event.repair_order_id, store_id=event.store_id, number=event.number,
                              vin=event.vehicle.vin, plate=event.vehicle.plate, model=event.vehicle.model,
                              status="approved", opened_at=event.opened_at, approved_at=event.approved_at,
                              updated_at=now)
    elif order.status == "awaiting_approval":
        order.status, order.approved_at, order.updated_at = "approved", event.approved_at, now
    # A supplement's approval may move the promise; an approval that says nothing keeps it.
    promised_at = promised_at_of(event)
    if promised_at is not None and order.status != "cancelled":
        order.promised_at, order.updated_at = promised_at, now
    session.add(order)
    await session.flush()
    return order


async def move_promise(session: AsyncSession, now: datetime, order_id: str, promised_at: datetime) -> None:
    """Reception promised the car for another time."""
    order = await repository.get_for_update(session, order_id)
    if order is None or order.status in ("cancelled", "delivered"):
        return
    order.promised_at, order.updated_at = utc(promised_at), now
    session.add(order)


async def get_visible(session: AsyncSession, principal: Principal, order_id: str) -> WorkshopOrder:
    order = await repository.get(session, order_id)
    if order is None or not principal.can_see_store(order.store_id):
        raise NotFound("repair order not found")
    return order


async def of_store(session: AsyncSession, store_id: str, order_id: str,
                   field: str = "repair_order_id") -> WorkshopOrder:
    """The order a request names, which must be one of the store it acts in: another store's
    (or one the workshop never saw approved) is a 422 naming the field, not a link across stores."""
    order = await repository.get(session, order_id)
    if order is None or order.store_id != store_id or order.status == "awaiting_approval":
        raise ValidationFailed(field, "no approved repair order of this store has that id")
    return order


async def list_orders(session: AsyncSession, settings: WorkshopSettings, now: datetime, principal: Principal, *,
                      store_id: str | None, limit: int, cursor: str | None, status: str | None,
                      vin: str | None) -> WorkshopOrderList:
    # A store's caller sees its own, whatever store it names; HQ the one it names, or all.
    rows, next_cursor = await repository.page(session, store_id=principal.store_id or store_id, limit=limit,
                                              cursor=cursor, status=status, vin=vin)
    seen = await board.outlooks(session, settings, now, rows)
    return WorkshopOrderList(items=[_public(r, seen.get(r.id)) for r in rows], next_cursor=next_cursor)


def _public(order: WorkshopOrder, promise: PromiseOutlook | None) -> WorkshopOrderPublic:
    return WorkshopOrderPublic.model_validate({**order.model_dump(), "promise": promise})


async def detail(session: AsyncSession, settings: WorkshopSettings, now: datetime,
                 order: WorkshopOrder) -> WorkshopOrderDetail:
    """The workshop's side of a repair order: its jobs, its reservations, and its progress."""
    seen = await board.outlooks(session, settings, now, [order])
    return WorkshopOrderDetail(
        **_public(order, seen.get(order.id)).model_dump(),
        jobs=[job_public(j) for j in await jobs.of_order(session, order.id)],
        reservations=[reservation_public(r) for r in await parts.reservations_of_order(session, order.id)],
    )


async def _announce_work_started(session: AsyncSession, order: WorkshopOrder, when: datetime) -> None:
    order.work_started_at = when
    if order.status == "approved":
        order.status = "in_progress"
    order.updated_at = when
    session.add(order)
    await emit(session, RepairOrderWorkStarted(repair_order_id=order.id, store_id=order.store_id, started_at=when),
               subject=order.id, store_id=order.store_id, time=when)


async def mark_work_started(session: AsyncSession, clock: Clock, order_id: str) -> None:
    order = await repository.get_for_update(session, order_id)
    if order is None or order.work_started_at is not None or order.status == "cancelled":
        return
    await _announce_work_started(session, order, clock.now())


async def check_ready(session: AsyncSession, clock: Clock, order_id: str) -> bool:
    """Ready when every job passed quality check and every reservation is issued."""
    order = await repository.get_for_update(session, order_id)
    if order is None or order.ready_at is not None or order.status in ("cancelled", "delivered"):
        return False
    order_jobs = [j for j in await jobs.of_order(session, order_id) if j.status != "cancelled"]
    reservations = [r for r in await parts.reservations_of_order(session, order_id) if r.status != "released"]
    if not order_jobs and not reservations:
        return False
    if any(j.status != "qc_passed" for j in order_jobs) or any(r.status != "issued" for r in reservations):
        return False
    now = clock.now()
    if order.work_started_at is None:
        # An order of parts only: reception still sees it start before it is ready.
        await _announce_work_started(session, order, now)
    order.ready_at = now
    order.status = "ready"
    order.updated_at = now
    session.add(order)
    flat = sum((j.flat_rate_hours for j in order_jobs), start=HUNDREDTH * 0)
    clocked = seconds_to_hours(sum(j.clocked_seconds for j in order_jobs))
    await emit(session, RepairOrderReady(repair_order_id=order.id, store_id=order.store_id, ready_at=now,
                                         jobs=len(order_jobs), clocked_hours=str(clocked), flat_rate_hours=str(flat)),
               subject=order.id, store_id=order.store_id, time=now)
    return True


async def mark_cancelled(session: AsyncSession, now: datetime, order_id: str) -> None:
    order = await repository.get_for_update(session, order_id)
    if order is None or order.status == "cancelled":
        return
    order.status = "cancelled"
    order.cancelled_at = now
    order.updated_at = now
    session.add(order)


async def mark_delivered(session: AsyncSession, now: datetime, order_id: str, delivered_at: datetime) -> None:
    order = await repository.get_for_update(session, order_id)
    if order is None or order.status == "delivered":
        return
    order.status = "delivered"
    order.delivered_at = delivered_at
    order.updated_at = now
    session.add(order)
