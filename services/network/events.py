"""Events network handles (besides the store registry every service keeps): reception's
closed repair orders for claims and campaign completion (which drafts the campaign's claim),
every event that feeds an HQ KPI, the events outlets subscribe to by webhook (queued for
their endpoints, services/network/webhooks), and, in a consumer group of their own (`accounts`), its own
staff directory's changes, which it pushes to the group's identity provider: while the
provider is away only they wait."""
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.consumer import EventHandlers, HandlerContext
from services.common.events.catalogue.network import PersonAssignmentsChanged, PersonLeft, PersonRegistered
from services.common.events.catalogue.reception import RepairOrderDelivered, RepairOrderSettled
from services.common.events.envelope import CloudEvent, Event
from services.network.campaigns import service as campaigns
from services.network.kpis.projection import KPI_EVENT_TYPES, project
from services.network.people import service as people
from services.network.repair_orders import service as repair_orders
from services.network.settings import NetworkSettings
from services.network.stores.models import Store
from services.network.three_guarantees import service as three_guarantees
from services.network.webhooks import service as webhooks
from services.network.webhooks.policy import EVENT_TYPES as WEBHOOK_EVENT_TYPES

handlers = EventHandlers()
account_handlers = EventHandlers()
CLOSED_ORDER_TYPES = ("reception.repair_order.settled", "reception.repair_order.delivered")
PERSON_EVENT_TYPES = ("network.person.registered", "network.person.assignments_changed", "network.person.left")


@handlers.on(*CLOSED_ORDER_TYPES)
async def closed_repair_order(session: AsyncSession, event: RepairOrderSettled | RepairOrderDelivered,
                              envelope: CloudEvent, ctx: HandlerContext[NetworkSettings]) -> None:
    await repair_orders.record(session, event, envelope)
    await campaigns.complete_from_order(session, event, await session.get(Store, event.store_id), ctx.clock.now())
    await project(session, event, envelope)
    await three_guarantees.record(session, event, envelope, ctx.clock)
    await webhooks.offer(session, envelope, ctx.clock.now())


@handlers.on(*(t for t in KPI_EVENT_TYPES if t not in CLOSED_ORDER_TYPES))
async def kpi_event(session: AsyncSession, event: Event, envelope: CloudEvent,
                    ctx: HandlerContext[NetworkSettings]) -> None:
    await project(session, event, envelope)
    await webhooks.offer(session, envelope, ctx.clock.now())


# Last of the handlers: event types an outlet may subscribe to that nothing above handles.
@handlers.on(*(t for t in WEBHOOK_EVENT_TYPES if t not in handlers.handlers))
async def webhook_event(session: AsyncSession, event: Event, envelope: CloudEvent,
                        ctx: HandlerContext[NetworkSettings]) -> None:
    await webhooks.offer(session, envelope, ctx.clock.now())


@account_handlers.on(*PERSON_EVENT_TYPES)
async def person_changed(session: AsyncSession, event: PersonRegistered | PersonAssignmentsChanged | PersonLeft,
                         envelope: CloudEvent, ctx: HandlerContext[NetworkSettings]) -> None:
    await people.push_account(session, ctx.settings.provider_admin, event.person_id)
