"""Events reception handles (besides the store registry every service keeps): the
workshop's word that work on an order started, and that the car is ready."""
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.consumer import EventHandlers, HandlerContext
from services.common.events.catalogue.workshop import RepairOrderReady, RepairOrderWorkStarted
from services.common.events.envelope import CloudEvent
from services.reception.repair_orders import service as repair_orders
from services.reception.settings import ReceptionSettings

handlers = EventHandlers()


@handlers.on("workshop.repair_order.work_started")
async def work_started(session: AsyncSession, event: RepairOrderWorkStarted, envelope: CloudEvent,
                       ctx: HandlerContext[ReceptionSettings]) -> None:
    await repair_orders.work_started(session, event.repair_order_id, event.store_id, event.started_at, envelope.id)


@handlers.on("workshop.repair_order.ready")
async def ready(session: AsyncSession, event: RepairOrderReady, envelope: CloudEvent,
                ctx: HandlerContext[ReceptionSettings]) -> None:
    await repair_orders.ready(session, event.repair_order_id, event.store_id, event.ready_at, envelope.id)
