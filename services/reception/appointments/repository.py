from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.reception.appointments.models import Appointment

# A cancelled booking frees its place; a no-show used it.
HOLDS_A_PLACE = ("booked", "checked_in", "no_show")


async def get(session: AsyncSession, appointment_id: str, *, for_update: bool = False) -> Appointment | None:
    stmt = select(Appointment).where(Appointment.id == appointment_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def count_in_slot(session: AsyncSession, store_id: str, slot_start: datetime) -> int:
    stmt = select(sa.func.count()).select_from(Appointment).where(
        Appointment.store_id == store_id, Appointment.slot_start == slot_start,
        col(Appointment.status).in_(HOLDS_A_PLACE),
    )
    return (await session.exec(stmt)).one()


async def counts_by_slot(session: AsyncSession, store_id: str, first: datetime, last: datetime) -> dict[datetime, int]:
    stmt = (
        select(Appointment.slot_start, sa.func.count())
        .where(Appointment.store_id == store_id, Appointment.slot_start >= first, Appointment.slot_start <= last,
               col(Appointment.status).in_(HOLDS_A_PLACE))
        .group_by(col(Appointment.slot_start))
    )
    return {slot: n for slot, n in (await session.exec(stmt)).all()}


async def booked_same_day(session: AsyncSession, store_id: str, vin: str, local_date: str) -> Appointment | None:
    stmt = select(Appointment).where(
        Appointment.store_id == store_id, Appointment.vin == vin, Appointment.local_date == local_date,
        Appointment.status == "booked",
    )
    return (await session.exec(stmt)).first()


async def page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
               local_date: str | None = None, status: str | None = None, vin: str | None = None):
    """One page of appointments, newest first; `store_id` narrows to one store's."""
    stmt = select(Appointment)
    if store_id:
        stmt = stmt.where(Appointment.store_id == store_id)
    if local_date:
        stmt = stmt.where(Appointment.local_date == local_date)
    if status:
        stmt = stmt.where(Appointment.status == status)
    if vin:
        stmt = stmt.where(Appointment.vin == vin)
    return await paginate(session, stmt, Appointment.id, limit, cursor)
