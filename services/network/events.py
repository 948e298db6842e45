"""Events network handles (besides the store registry every service keeps): reception's
closed repair orders for warranty claims, and every event that feeds an HQ KPI."""
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.consumer import EventHandlers, HandlerContext
from services.common.events.catalogue.reception import RepairOrderDelivered, RepairOrderSettled
from services.common.events.envelope import CloudEvent, Event
from services.network.kpis.projection import KPI_EVENT_TYPES, project
from services.network.repair_orders import service as repair_orders
from services.network.settings import NetworkSettings

handlers = EventHandlers()
CLOSED_ORDER_TYPES = ("reception.repair_order.settled", "reception.repair_order.delivered")


@handlers.on(*CLOSED_ORDER_TYPES)
async def closed_repair_order(session: AsyncSession, event: RepairOrderSettled | RepairOrderDelivered,
                              envelope: CloudEvent, ctx: HandlerContext[NetworkSettings]) -> None:
    await repair_orders.record(session, event, envelope)
    await project(session, event, envelope)


@handlers.on(*(t for t in KPI_EVENT_TYPES if t not in CLOSED_ORDER_TYPES))
async def kpi_event(session: AsyncSession, event: Event, envelope: CloudEvent,
                    ctx: HandlerContext[NetworkSettings]) -> None:
    await project(session, event, envelope)
