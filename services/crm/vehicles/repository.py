from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.crm.customers.models import Vehicle, VehicleOwner
from services.crm.reminders.models import Reminder
from services.crm.reminders.repository import OPEN_STATES


async def vehicle_for_update(session: AsyncSession, vin: str) -> Vehicle | None:
    return (await session.exec(select(Vehicle).where(Vehicle.vin == vin).with_for_update())).first()


async def open_owners(session: AsyncSession, vin: str) -> list[VehicleOwner]:
    stmt = select(VehicleOwner).where(VehicleOwner.vin == vin, col(VehicleOwner.until).is_(None))
    return list((await session.exec(stmt)).all())


async def open_reminders(session: AsyncSession, vin: str) -> list[Reminder]:
    stmt = select(Reminder).where(Reminder.vin == vin, col(Reminder.status).in_(OPEN_STATES)).with_for_update()
    return list((await session.exec(stmt)).all())
