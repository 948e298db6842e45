from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.workshop.board.promise import UNFINISHED
from services.workshop.jobs.models import Job
from services.workshop.orders.models import WorkshopOrder
from services.workshop.parts.models import Reservation

OPEN = ("awaiting_approval", "approved", "in_progress", "ready")


async def open_orders(session: AsyncSession, store_id: str) -> list[WorkshopOrder]:
    stmt = select(WorkshopOrder).where(WorkshopOrder.store_id == store_id, col(WorkshopOrder.status).in_(OPEN))
    return list((await session.exec(stmt.order_by(WorkshopOrder.id))).all())


async def jobs_of_orders(session: AsyncSession, order_ids: list[str]) -> list[Job]:
    if not order_ids:
        return []
    stmt = select(Job).where(col(Job.repair_order_id).in_(order_ids), Job.status != "cancelled")
    return list((await session.exec(stmt)).all())


async def unfinished_jobs(session: AsyncSession, store_ids: set[str]) -> list[Job]:
    """Every job still to be worked in these stores: the technicians' queues."""
    if not store_ids:
        return []
    stmt = select(Job).where(col(Job.store_id).in_(store_ids), col(Job.status).in_(UNFINISHED))
    return list((await session.exec(stmt)).all())


async def parts_short(session: AsyncSession, order_ids: list[str]) -> dict[str, int]:
    """Units each order still waits for on backordered reservations."""
    if not order_ids:
        return {}
    stmt = (
        select(Reservation.repair_order_id, sa.func.sum(Reservation.quantity - Reservation.allocated))
        .where(col(Reservation.repair_order_id).in_(order_ids), Reservation.status == "backordered")
        .group_by(Reservation.repair_order_id)
    )
    return {order_id: int(units) for order_id, units in (await session.exec(stmt)).all()}


async def delivered_since(session: AsyncSession, store_id: str, since: datetime) -> list[WorkshopOrder]:
    stmt = select(WorkshopOrder).where(WorkshopOrder.store_id == store_id, WorkshopOrder.status == "delivered",
                                       col(WorkshopOrder.delivered_at) >= since)
    return list((await session.exec(stmt)).all())
