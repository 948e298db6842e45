from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.crm.customers.models import Appointment, RepairOrder, Vehicle
from services.crm.customers.repository import BOOKING_GRACE
from services.crm.reminders.models import Reminder

OPEN_STATES = ("pending", "sent")


async def get(session: AsyncSession, reminder_id: str) -> Reminder | None:
    return await session.get(Reminder, reminder_id)


async def get_for_update(session: AsyncSession, reminder_id: str) -> Reminder | None:
    return (await session.exec(select(Reminder).where(Reminder.id == reminder_id).with_for_update())).first()


async def page(session: AsyncSession, *, store_id: str | None, status: str | None, kind: str | None,
               due_before: date | None, vin: str | None, customer_id: str | None, limit: int, cursor: str | None):
    """One page of reminders; each filter given narrows it (`due_before`: due on an earlier day)."""
    stmt = select(Reminder)
    if store_id:
        stmt = stmt.where(Reminder.store_id == store_id)
    if status:
        stmt = stmt.where(Reminder.status == status)
    if kind:
        stmt = stmt.where(Reminder.kind == kind)
    if due_before:
        stmt = stmt.where(Reminder.due_on < due_before)
    if vin:
        stmt = stmt.where(Reminder.vin == vin)
    if customer_id:
        stmt = stmt.where(Reminder.customer_id == customer_id)
    return await paginate(session, stmt, Reminder.id, limit, cursor)


async def open_for_vin(session: AsyncSession, vin: str) -> list[Reminder]:
    stmt = select(Reminder).where(Reminder.vin == vin, col(Reminder.status).in_(OPEN_STATES))
    return list((await session.exec(stmt)).all())


async def vehicles_of_store(session: AsyncSession, store_id: str) -> list[Vehicle]:
    stmt = select(Vehicle).where(Vehicle.home_store_id == store_id).order_by(Vehicle.vin)
    return list((await session.exec(stmt)).all())


async def orders_of_store_vehicles(session: AsyncSession, store_id: str) -> list[RepairOrder]:
    vins = select(Vehicle.vin).where(Vehicle.home_store_id == store_id)
    stmt = select(RepairOrder).where(col(RepairOrder.vin).in_(vins), RepairOrder.status != "cancelled")
    return list((await session.exec(stmt)).all())


async def reminders_of_store_vehicles(session: AsyncSession, store_id: str) -> list[Reminder]:
    vins = select(Vehicle.vin).where(Vehicle.home_store_id == store_id)
    return list((await session.exec(select(Reminder).where(col(Reminder.vin).in_(vins)))).all())


async def booked_vins(session: AsyncSession, store_id: str, now: datetime) -> set[str]:
    vins = select(Vehicle.vin).where(Vehicle.home_store_id == store_id)
    stmt = select(Appointment.vin).where(col(Appointment.vin).in_(vins), Appointment.status == "booked",
                                         Appointment.scheduled_at >= now - BOOKING_GRACE)
    return set((await session.exec(stmt)).all())


async def to_expire(session: AsyncSession, store_id: str, due_before: date) -> list[Reminder]:
    stmt = select(Reminder).where(Reminder.store_id == store_id, col(Reminder.status).in_(OPEN_STATES),
                                  Reminder.due_on < due_before)
    return list((await session.exec(stmt)).all())
