"""Comebacks: a vehicle back for the same labour operation soon after delivery means the
first repair did not hold. Delivered orders are kept (VIN, operations, who did each), and
every approved labour operation is compared with them."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.errors import NotFound
from services.common.events.catalogue.reception import RepairOrderDelivered, RepairOrderLine
from services.common.events.catalogue.workshop import ComebackDetected
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.workshop.comebacks import repository
from services.workshop.comebacks.models import Comeback, DeliveredOperation
from services.workshop.comebacks.schemas import ComebackList, ComebackPublic
from services.workshop.jobs import repository as jobs
from services.workshop.jobs.models import Job
from services.workshop.orders.models import WorkshopOrder
from services.workshop.technicians import repository as technicians


async def record_delivery(session: AsyncSession, event: RepairOrderDelivered) -> list[DeliveredOperation]:
    kept = []
    for line in event.lines:
        if line.kind != "labor" or not line.op_code:
            continue
        if await repository.delivered_operation(session, event.repair_order_id, line.line_id) is not None:
            continue
        job = await jobs.by_line(session, event.repair_order_id, line.line_id)
        operation = DeliveredOperation(
            repair_order_id=event.repair_order_id, line_id=line.line_id, store_id=event.store_id,
            repair_order_number=event.number, vin=event.vehicle.vin, op_code=line.op_code,
            delivered_at=event.delivered_at, job_id=job.id if job else None,
            technician_id=job.technician_id if job else None,
        )
        session.add(operation)
        kept.append(operation)
    return kept


async def detect(session: AsyncSession, now: datetime, window_days: int, order: WorkshopOrder, line: RepairOrderLine,
                 job: Job | None, approved_at: datetime) -> Comeback | None:
    """The same operation on the same VIN, approved within the window after a delivery."""
    if line.kind != "labor" or not line.op_code:
        return None
    if await repository.by_line(session, order.id, line.line_id) is not None:
        return None
    previous = await repository.latest_delivery(
        session, vin=order.vin, op_code=line.op_code, since=approved_at - timedelta(days=window_days),
        until=approved_at, exclude_order=order.id)
    if previous is None:
        return None
    comeback = Comeback(
        id=new_id(), store_id=order.store_id, vin=order.vin, op_code=line.op_code, repair_order_id=order.id,
        line_id=line.line_id, job_id=job.id if job else None, original_repair_order_id=previous.repair_order_id,
        original_repair_order_number=previous.repair_order_number, original_store_id=previous.store_id,
        original_job_id=previous.job_id, original_technician_id=previous.technician_id,
        original_delivered_at=previous.delivered_at, approved_at=approved_at,
        days_since_delivery=(approved_at - previous.delivered_at).days, detected_at=now,
    )
    session.add(comeback)
    # The person the first repair's technician record works under, so the comeback is theirs.
    original = await technicians.get(session, previous.technician_id) if previous.technician_id else None
    person = dict(original_technician_person_id=original.principal_id, original_technician_name=original.name) \
        if original is not None and original.principal_id else {}
    await emit(session, ComebackDetected(
        comeback_id=comeback.id, store_id=comeback.store_id, vin=comeback.vin, op_code=comeback.op_code,
        repair_order_id=comeback.repair_order_id, original_repair_order_id=comeback.original_repair_order_id,
        original_technician_id=comeback.original_technician_id, original_delivered_at=comeback.original_delivered_at,
        detected_at=now, original_store_id=comeback.original_store_id, job_id=comeback.job_id,
        original_job_id=comeback.original_job_id, days_since_delivery=comeback.days_since_delivery, **person,
    ), subject=comeback.id, store_id=comeback.store_id, time=now)
    return comeback


async def list_comebacks(session: AsyncSession, principal: Principal, *, store_id: str | None, limit: int,
                         cursor: str | None, vin: str | None, technician_id: str | None,
                         repair_order_id: str | None) -> ComebackList:
    # A store's caller sees its own, whatever store it names; HQ the one it names, or all.
    rows, next_cursor = await repository.page(
        session, store_id=principal.store_id or store_id, limit=limit, cursor=cursor, vin=vin,
        technician_id=technician_id, repair_order_id=repair_order_id)
    return ComebackList(items=[ComebackPublic.model_validate(r, from_attributes=True) for r in rows],
                        next_cursor=next_cursor)


async def get_visible(session: AsyncSession, principal: Principal, comeback_id: str) -> Comeback:
    comeback = await repository.get(session, comeback_id)
    if comeback is None or not principal.can_see_store(comeback.store_id):
        raise NotFound("comeback not found")
    return comeback
