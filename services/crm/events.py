"""Events CRM handles (besides the store registry every service keeps): reception's
bookings and repair orders are what CRM knows of customers, vehicles and visits; network's
person events keep CRM's copy of the staff directory (who may own a complaint, who is an
advisor where), and its registrations of new cars at their sale put buyer and car on file
before any visit; a repair order's advisor has the car in their customer base; the
workshop's ready orders and backordered parts, and reception's moved promises and extra work
found, are what CRM tells customers of their car (services/crm/messages); network's
campaigns' affected VINs, in chunks, are whose owners it invites."""
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.consumer import EventHandlers, HandlerContext
from services.common.events.catalogue import network as nw
from services.common.events.catalogue import reception as rx
from services.common.events.catalogue import workshop as ws
from services.common.events.envelope import CloudEvent
from services.common.logging import get_logger
from services.common.staff import PERSON_EVENTS, PersonEvent
from services.crm.callbacks import clerk
from services.crm.callbacks import service as callbacks
from services.crm.churn import service as churn
from services.crm.complaints import service as complaints
from services.crm.customer_base import service as customer_base
from services.crm.customers import service as customers
from services.crm.messages import service as messages
from services.crm.reminders import service as reminders
from services.crm.settings import CrmSettings

handlers = EventHandlers()
log = get_logger(__name__)


@handlers.on("reception.appointment.booked")
async def appointment_booked(session: AsyncSession, event: rx.AppointmentBooked, envelope: CloudEvent,
                             ctx: HandlerContext[CrmSettings]) -> None:
    customer, vehicle = await customers.booking_changed(session, event, "booked", event.booked_at)
    await clerk.booked(session, vehicle.vin, event.appointment_id, event.booked_at)
    await reminders.convert(session, vehicle.vin, event.booked_at, f"appointment:{event.appointment_id}",
                            event.store_id)
    await messages.booked(session, event, customer, vehicle, ctx.settings, ctx.clock.now())


@handlers.on("reception.appointment.cancelled")
async def appointment_cancelled(session: AsyncSession, event: rx.AppointmentCancelled, envelope: CloudEvent,
                                ctx: HandlerContext[CrmSettings]) -> None:
    await customers.booking_changed(session, event, "cancelled", event.cancelled_at)


@handlers.on("reception.appointment.no_show")
async def appointment_no_show(session: AsyncSession, event: rx.AppointmentNoShow, envelope: CloudEvent,
                              ctx: HandlerContext[CrmSettings]) -> None:
    await customers.booking_changed(session, event, "no_show", event.marked_at)


@handlers.on("reception.appointment.checked_in")
async def appointment_checked_in(session: AsyncSession, event: rx.AppointmentCheckedIn, envelope: CloudEvent,
                                 ctx: HandlerContext[CrmSettings]) -> None:
    await customers.booking_changed(session, event, "checked_in", event.checked_in_at)


@handlers.on("reception.repair_order.opened")
async def repair_order_opened(session: AsyncSession, event: rx.RepairOrderOpened, envelope: CloudEvent,
                              ctx: HandlerContext[CrmSettings]) -> None:
    customer, vehicle, order = await customers.order_opened(session, event)
    await messages.order_known(session, order, customer, vehicle, ctx.clock.now())
    await customer_base.visit(session, order, ctx.clock.now(), delivered=False)
    visit = f"repair_order:{event.repair_order_id}"
    if event.appointment_id is None:
        # A walk-in answers a reminder as well as a booking does.
        await reminders.convert(session, vehicle.vin, event.opened_at, visit, event.store_id)
    await churn.came_back(session, customer, event.opened_at, visit)
    # A return repair reported on a call comes back as this order.
    await clerk.car_came_back(session, event)


@handlers.on("reception.repair_order.delivered")
async def repair_order_delivered(session: AsyncSession, event: rx.RepairOrderDelivered, envelope: CloudEvent,
                                 ctx: HandlerContext[CrmSettings]) -> None:
    # Every read below looks up rows that existed before this event, never ones it adds, so
    # its writes go in one flush at the end (the consumer's) instead of one before each
    # read: the unit of work was most of what a delivery cost to apply.
    with session.no_autoflush:
        customer, vehicle, order = await customers.order_delivered(session, event)
        callback = await callbacks.first_callback(session, event, customer, vehicle.vin)
        await messages.delivered(session, event, customer, vehicle,
                                 callback.due_at if callback.status == "pending" else None, ctx.clock.now())
        await clerk.tracking_call(session, event, customer, vehicle.vin)
        await churn.delivered(session, customer, event)
        await customer_base.visit(session, order, ctx.clock.now(), delivered=True)


@handlers.prefetch("reception.repair_order.delivered")
async def preload_deliveries(session: AsyncSession, events: list[rx.RepairOrderDelivered]) -> None:
    # What the deliveries of a batch look up, one query per table (services.crm.batch).
    known, orders_on_file = await customers.preload_for_orders(session, events)
    await churn.preload_open_episodes(session, known)
    await callbacks.preload_first_callbacks(session, events, orders_on_file)
    await messages.preload_for_deliveries(session, events, {c.id for c in known})
    await clerk.preload_tracking_calls(session, events, orders_on_file)
    await customer_base.preload(session, events)


@handlers.on("reception.repair_order.cancelled")
async def repair_order_cancelled(session: AsyncSession, event: rx.RepairOrderCancelled, envelope: CloudEvent,
                                 ctx: HandlerContext[CrmSettings]) -> None:
    await customers.order_cancelled(session, event)


@handlers.on("reception.repair_order.promise_moved")
async def promise_moved(session: AsyncSession, event: rx.RepairOrderPromiseMoved, envelope: CloudEvent,
                        ctx: HandlerContext[CrmSettings]) -> None:
    await messages.promise_moved(session, event, ctx.clock.now())


@handlers.on("reception.repair_order.extra_work_proposed")
async def extra_work_proposed(session: AsyncSession, event: rx.RepairOrderExtraWorkProposed, envelope: CloudEvent,
                              ctx: HandlerContext[CrmSettings]) -> None:
    await messages.extra_work_proposed(session, event, ctx.settings, ctx.clock.now())


@handlers.on("workshop.repair_order.ready")
async def repair_order_ready(session: AsyncSession, event: ws.RepairOrderReady, envelope: CloudEvent,
                             ctx: HandlerContext[CrmSettings]) -> None:
    await messages.car_ready(session, event, ctx.clock.now())


@handlers.on("workshop.reservation.backordered")
async def part_backordered(session: AsyncSession, event: ws.ReservationBackordered, envelope: CloudEvent,
                           ctx: HandlerContext[CrmSettings]) -> None:
    await messages.parts_delayed(session, event, ctx.settings, ctx.clock.now())


@handlers.on("network.vehicle.registered")
async def vehicle_registered(session: AsyncSession, event: nw.VehicleRegistered, envelope: CloudEvent,
                             ctx: HandlerContext[CrmSettings]) -> None:
    # Known from the sale on: the reminders job finds the car at its home store before any visit.
    await customers.vehicle_registered(session, event, event.registered_at)


@handlers.on("network.vehicle.registration_corrected")
async def registration_corrected(session: AsyncSession, event: nw.VehicleRegistrationCorrected, envelope: CloudEvent,
                                 ctx: HandlerContext[CrmSettings]) -> None:
    await customers.vehicle_registered(session, event, event.corrected_at)


@handlers.on("network.campaign.vins_affected")
async def campaign_vins_affected(session: AsyncSession, event: nw.CampaignVinsAffected, envelope: CloudEvent,
                                 ctx: HandlerContext[CrmSettings]) -> None:
    invited, unknown = await messages.campaign_invitations(session, event, ctx.clock.now())
    # Counted, not kept: a car CRM does not know has no owner CRM could invite.
    log.info("campaign invitations", campaign_id=event.campaign_id, code=event.code, chunk=event.chunk,
             chunks=event.chunks, vins=len(event.vins), invited=invited, unknown_vins=unknown)


@handlers.on(*PERSON_EVENTS)
async def person_changed(session: AsyncSession, event: PersonEvent, envelope: CloudEvent,
                         ctx: HandlerContext[CrmSettings]) -> None:
    await complaints.keep_staff_member(session, event, envelope.time)
