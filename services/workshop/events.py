"""Events the workshop handles: reception's openings put an order on the board (waiting
for approval), approvals make jobs, reservations and sublet lines (and are checked for
comebacks) and carry the promised time, which reception may move later, cancellations release them, deliveries are kept
for comebacks and send the order's cost; network's person events keep the workshop's
copy of the staff directory (technicians), its course and certification events the
workshop's copy of who is certified for which operations (services/workshop/certifications),
and its policy versions the workshop's copy of the brand's flat hours (policy_copies).

Each handler runs in the consumer's transaction with the event's inbox record, and also
guards on its own keys (one job and one reservation per order line), so an approval sent
twice under different event ids still makes one of each."""
from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.consumer import EventHandlers, HandlerContext
from services.common.events.catalogue.network import (
    CertificationGranted,
    CertificationRevoked,
    CoursePublished,
    PolicyVersionChangesPart,
    PolicyVersionPublished,
)
from services.common.events.catalogue.reception import (
    RepairOrderApproved,
    RepairOrderCancelled,
    RepairOrderDelivered,
    RepairOrderOpened,
    RepairOrderPromiseMoved,
)
from services.common.events.envelope import CloudEvent
from services.common.staff import PERSON_EVENTS, PersonEvent
from services.workshop.certifications import service as certifications
from services.workshop.comebacks import service as comebacks
from services.workshop.costs import service as costs
from services.workshop.jobs import repository as job_rows
from services.workshop.jobs import service as jobs
from services.workshop.orders import service as orders
from services.workshop.parts import service as parts
from services.workshop.policy_copies import service as policy_copies
from services.workshop.settings import WorkshopSettings
from services.workshop.technicians import service as technicians

handlers = EventHandlers()


@handlers.on("reception.repair_order.opened")
async def repair_order_opened(session: AsyncSession, event: RepairOrderOpened, envelope: CloudEvent,
                              ctx: HandlerContext[WorkshopSettings]) -> None:
    await orders.record_opening(session, ctx.clock.now(), event)


@handlers.on("reception.repair_order.approved")
async def repair_order_approved(session: AsyncSession, event: RepairOrderApproved, envelope: CloudEvent,
                                ctx: HandlerContext[WorkshopSettings]) -> None:
    now = ctx.clock.now()
    order = await orders.record_approval(session, now, event)
    if order.status == "cancelled":
        return
    for line in event.lines:
        if line.kind != "labor":
            continue
        job = (await jobs.create_from_line(session, now, order, line)
               or await job_rows.by_line(session, order.id, line.line_id))
        await comebacks.detect(session, now, ctx.settings.comeback_window_days, order, line, job, event.approved_at)
    for line in event.lines:
        if line.kind == "sublet":
            await costs.record_sublet_line(session, now, order, line)
    # Stock rows are locked in part-number order, as everywhere else.
    for line in sorted((p for p in event.lines if p.kind == "part"), key=lambda p: (p.part_no or "", p.line_id)):
        await parts.reserve_for_line(session, now, store_id=order.store_id, repair_order_id=order.id, line=line)


@handlers.on("reception.repair_order.promise_moved")
async def repair_order_promise_moved(session: AsyncSession, event: RepairOrderPromiseMoved, envelope: CloudEvent,
                                     ctx: HandlerContext[WorkshopSettings]) -> None:
    await orders.move_promise(session, ctx.clock.now(), event.repair_order_id, event.promised_at)


@handlers.on("reception.repair_order.cancelled")
async def repair_order_cancelled(session: AsyncSession, event: RepairOrderCancelled, envelope: CloudEvent,
                                 ctx: HandlerContext[WorkshopSettings]) -> None:
    now = ctx.clock.now()
    # Lock order: stock and reservations, then jobs, then the order row (as issue and QC do).
    await parts.release_order(session, now, event.repair_order_id)
    await jobs.cancel_order_jobs(session, now, event.repair_order_id)
    await orders.mark_cancelled(session, now, event.repair_order_id)


@handlers.on("reception.repair_order.delivered")
async def repair_order_delivered(session: AsyncSession, event: RepairOrderDelivered, envelope: CloudEvent,
                                 ctx: HandlerContext[WorkshopSettings]) -> None:
    now = ctx.clock.now()
    await comebacks.record_delivery(session, event)
    await orders.mark_delivered(session, now, event.repair_order_id, event.delivered_at)
    await costs.announce(session, now, event.repair_order_id)


@handlers.on(*PERSON_EVENTS)
async def person_changed(session: AsyncSession, event: PersonEvent, envelope: CloudEvent,
                         ctx: HandlerContext[WorkshopSettings]) -> None:
    await technicians.keep_staff_member(session, event, envelope.time)


@handlers.on("network.course.published")
async def course_published(session: AsyncSession, event: CoursePublished, envelope: CloudEvent,
                           ctx: HandlerContext[WorkshopSettings]) -> None:
    await certifications.keep_course(session, event, envelope.time)


@handlers.on("network.certification.granted", "network.certification.revoked")
async def certification_changed(session: AsyncSession, event: CertificationGranted | CertificationRevoked,
                                envelope: CloudEvent, ctx: HandlerContext[WorkshopSettings]) -> None:
    await certifications.keep_certification(session, event, envelope.time)


@handlers.on("network.policy.version_published")
async def policy_version_published(session: AsyncSession, event: PolicyVersionPublished, envelope: CloudEvent,
                                   ctx: HandlerContext[WorkshopSettings]) -> None:
    await policy_copies.version_published(session, event)


@handlers.on("network.policy.version_changes")
async def policy_version_changes(session: AsyncSession, event: PolicyVersionChangesPart, envelope: CloudEvent,
                                 ctx: HandlerContext[WorkshopSettings]) -> None:
    await policy_copies.version_changes(session, event)
