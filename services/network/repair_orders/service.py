"""Network's projection of closed repair orders, fed by reception's events."""
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.events.catalogue.reception import RepairOrderDelivered, RepairOrderSettled
from services.common.events.envelope import CloudEvent
from services.network.repair_orders import repository
from services.network.repair_orders.models import ClosedRepairOrder
from services.network.repair_orders.schemas import OrderLine


async def record(session: AsyncSession, event: RepairOrderSettled | RepairOrderDelivered, envelope: CloudEvent) -> None:
    delivered_at = getattr(event, "delivered_at", None)
    order = await repository.get_for_update(session, event.repair_order_id)
    if order is None:
        order = ClosedRepairOrder(
            id=event.repair_order_id, store_id=event.store_id, number=event.number, vin=event.vehicle.vin,
            plate=event.vehicle.plate, model=event.vehicle.model, sold_at=event.vehicle.sold_at,
            mileage_km=event.mileage_km, opened_at=event.opened_at, settled_at=event.settled_at,
            delivered_at=delivered_at, lines=[line.model_dump(mode="json") for line in event.lines],
            totals=event.totals.model_dump(mode="json"), updated_at=envelope.time,
        )
        session.add(order)
        return
    # Delivery is a fact however the two events arrive.
    order.delivered_at = order.delivered_at or delivered_at
    if envelope.time >= order.updated_at:
        order.number, order.vin = event.number, event.vehicle.vin
        order.plate, order.model = event.vehicle.plate, event.vehicle.model
        order.sold_at = event.vehicle.sold_at or order.sold_at
        order.mileage_km, order.opened_at, order.settled_at = event.mileage_km, event.opened_at, event.settled_at
        order.lines = [line.model_dump(mode="json") for line in event.lines]
        order.totals = event.totals.model_dump(mode="json")
        order.updated_at = envelope.time
    session.add(order)


def lines_of(order: ClosedRepairOrder) -> list[OrderLine]:
    return [OrderLine.model_validate(line) for line in order.lines]
