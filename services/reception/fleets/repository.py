from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.reception.fleets.models import Fleet, FleetOrder, FleetVehicle
from services.reception.repair_orders.models import RepairOrder


async def get(session: AsyncSession, fleet_id: str, *, for_update: bool = False) -> Fleet | None:
    stmt = select(Fleet).where(Fleet.id == fleet_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None):
    stmt = select(Fleet)
    if store_id:
        stmt = stmt.where(Fleet.store_id == store_id)
    return await paginate(session, stmt, Fleet.id, limit, cursor)


async def vehicles(session: AsyncSession, fleet_id: str) -> list[FleetVehicle]:
    stmt = select(FleetVehicle).where(FleetVehicle.fleet_id == fleet_id).order_by(
        col(FleetVehicle.added_at), col(FleetVehicle.vin))
    return list((await session.exec(stmt)).all())


async def vehicle_in_store(session: AsyncSession, store_id: str, vin: str) -> FleetVehicle | None:
    stmt = select(FleetVehicle).where(FleetVehicle.store_id == store_id, FleetVehicle.vin == vin)
    return (await session.exec(stmt)).first()


async def delete_vehicle(session: AsyncSession, vehicle: FleetVehicle) -> None:
    await session.delete(vehicle)


async def order(session: AsyncSession, repair_order_id: str) -> FleetOrder | None:
    return (await session.exec(select(FleetOrder).where(FleetOrder.repair_order_id == repair_order_id))).first()


async def order_by_link(session: AsyncSession, token_hash: str) -> FleetOrder | None:
    return (await session.exec(select(FleetOrder).where(FleetOrder.link_token_hash == token_hash))).first()


async def settled_between(session: AsyncSession, fleet_id: str, starts_at: datetime,
                          ends_at: datetime) -> list[tuple[FleetOrder, RepairOrder]]:
    """The fleet's orders settled in [starts_at, ends_at), in the order they were settled."""
    stmt = (
        select(FleetOrder, RepairOrder)
        .join(RepairOrder, col(RepairOrder.id) == col(FleetOrder.repair_order_id))
        .where(FleetOrder.fleet_id == fleet_id, col(FleetOrder.settled_at) >= starts_at,
               col(FleetOrder.settled_at) < ends_at)
        .order_by(col(FleetOrder.settled_at), col(RepairOrder.number))
    )
    return [(f, r) for f, r in (await session.exec(stmt)).all()]


async def repair_order(session: AsyncSession, repair_order_id: str, *, for_update: bool = False) -> RepairOrder | None:
    stmt = select(RepairOrder).where(RepairOrder.id == repair_order_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def orders_at_store_between(session: AsyncSession, fleet_id: str, starts_at: datetime,
                                  ends_at: datetime) -> list[RepairOrder]:
    """The fleet's orders whose car was at the store some time in [starts_at, ends_at): checked
    in before its end and not handed over (or cancelled) before its start."""
    left = sa.func.coalesce(col(RepairOrder.delivered_at), col(RepairOrder.cancelled_at))
    stmt = (
        select(RepairOrder)
        .join(FleetOrder, col(FleetOrder.repair_order_id) == col(RepairOrder.id))
        .where(FleetOrder.fleet_id == fleet_id, col(RepairOrder.opened_at) < ends_at,
               sa.or_(left.is_(None), left >= starts_at))
        .order_by(col(RepairOrder.opened_at), col(RepairOrder.number))
    )
    return list((await session.exec(stmt)).all())
