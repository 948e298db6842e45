import base64
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.errors import ValidationFailed
from services.common.pagination import paginate
from services.crm.customers.models import Appointment, Customer, RepairOrder, Vehicle, VehicleOwner
from services.crm.lookups import lookups

# A booking still counts as one for a day after its time, in case reception marks the
# no-show late; after that an unmarked old booking no longer protects a customer from churn.
BOOKING_GRACE = timedelta(days=1)


async def customer(session: AsyncSession, customer_id: str) -> Customer | None:
    return await session.get(Customer, customer_id)


async def customers_by_id(session: AsyncSession, ids: set[str]) -> dict[str, Customer]:
    if not ids:
        return {}
    return {c.id: c for c in (await session.exec(select(Customer).where(Customer.id.in_(ids)))).all()}


async def customer_by_phone(session: AsyncSession, store_id: str, phone: str) -> Customer | None:
    cache = lookups(session)
    if cache is not None and (store_id, phone) in cache.customers:
        return cache.customers[(store_id, phone)]
    stmt = select(Customer).where(Customer.store_id == store_id, Customer.phone == phone)
    return (await session.exec(stmt)).first()


async def customers_page(session: AsyncSession, *, where: list, limit: int, cursor: str | None):
    stmt = select(Customer)
    for clause in where:
        stmt = stmt.where(clause)
    return await paginate(session, stmt, Customer.id, limit, cursor)


async def vehicle(session: AsyncSession, vin: str) -> Vehicle | None:
    cache = lookups(session)
    if cache is not None and vin in cache.vehicles:
        return cache.vehicles[vin]
    return await session.get(Vehicle, vin)


async def open_owners(session: AsyncSession, vin: str) -> list[VehicleOwner]:
    cache = lookups(session)
    if cache is not None and vin in cache.open_owners:
        return list(cache.open_owners[vin])
    stmt = select(VehicleOwner).where(VehicleOwner.vin == vin, VehicleOwner.until.is_(None))
    return list((await session.exec(stmt)).all())


async def owners_of_vehicle(session: AsyncSession, vin: str, store_id: str | None) -> list[VehicleOwner]:
    stmt = select(VehicleOwner).where(VehicleOwner.vin == vin)
    if store_id:
        stmt = stmt.where(VehicleOwner.store_id == store_id)
    return list((await session.exec(stmt.order_by(VehicleOwner.since, VehicleOwner.id))).all())


async def vehicles_of_customers(session: AsyncSession, customer_ids: list[str]) -> list[tuple[VehicleOwner, Vehicle]]:
    if not customer_ids:
        return []
    stmt = (
        select(VehicleOwner, Vehicle)
        .join(Vehicle, Vehicle.vin == VehicleOwner.vin)
        .where(VehicleOwner.customer_id.in_(customer_ids))
        .order_by(VehicleOwner.since, VehicleOwner.id)
    )
    return list((await session.exec(stmt)).all())


async def repair_order(session: AsyncSession, repair_order_id: str) -> RepairOrder | None:
    cache = lookups(session)
    if cache is not None and repair_order_id in cache.repair_orders:
        return cache.repair_orders[repair_order_id]
    return await session.get(RepairOrder, repair_order_id)


def _encode(delivered_at: datetime, ro_id: str) -> str:
    return base64.urlsafe_b64encode(f"{delivered_at.isoformat()}|{ro_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, ro_id = raw.split("|", 1)
        return datetime.fromisoformat(when), ro_id
    except Exception as exc:
        raise ValidationFailed("cursor", "not a cursor this API issued") from exc


async def service_history(session: AsyncSession, vin: str, store_id: str | None, limit: int,
                          cursor: str | None) -> tuple[list[RepairOrder], str | None]:
    """Delivered orders of a VIN, newest delivery first."""
    stmt = select(RepairOrder).where(RepairOrder.vin == vin, RepairOrder.status == "delivered")
    if store_id:
        stmt = stmt.where(RepairOrder.store_id == store_id)
    if cursor:
        when, ro_id = _decode(cursor)
        stmt = stmt.where(sa.or_(RepairOrder.delivered_at < when,
                                 sa.and_(RepairOrder.delivered_at == when, RepairOrder.id < ro_id)))
    stmt = stmt.order_by(RepairOrder.delivered_at.desc(), RepairOrder.id.desc()).limit(limit + 1)
    rows = list((await session.exec(stmt)).all())
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, _encode(rows[-1].delivered_at, rows[-1].id)
    return rows, None


async def delivered_orders_of_vehicle(session: AsyncSession, vin: str) -> list[RepairOrder]:
    stmt = (
        select(RepairOrder)
        .where(RepairOrder.vin == vin, RepairOrder.status == "delivered")
        .order_by(RepairOrder.delivered_at)
    )
    return list((await session.exec(stmt)).all())


async def mileage_readings(session: AsyncSession, vin: str) -> list[tuple[datetime, int]]:
    """(when, km) of every order of the vehicle that recorded mileage, oldest first."""
    when = sa.func.coalesce(RepairOrder.opened_at, RepairOrder.delivered_at)
    stmt = (
        select(when, RepairOrder.mileage_km)
        .where(RepairOrder.vin == vin, RepairOrder.mileage_km.is_not(None), when.is_not(None))
        .order_by(when)
    )
    return [(row[0], row[1]) for row in (await session.exec(stmt)).all()]


async def appointment(session: AsyncSession, appointment_id: str) -> Appointment | None:
    return await session.get(Appointment, appointment_id)


def upcoming_booking_exists(customer_id_column, now: datetime):
    """A correlated EXISTS: the customer holds a booking that is still to come."""
    return (
        select(Appointment.id)
        .where(
            Appointment.customer_id == customer_id_column,
            Appointment.status == "booked",
            Appointment.scheduled_at >= now - BOOKING_GRACE,
        )
        .exists()
    )


async def booked_customers(session: AsyncSession, customer_ids: set[str], now: datetime) -> set[str]:
    """Those of `customer_ids` who hold a booking still to come."""
    if not customer_ids:
        return set()
    stmt = select(Appointment.customer_id).where(
        Appointment.customer_id.in_(customer_ids),
        Appointment.status == "booked",
        Appointment.scheduled_at >= now - BOOKING_GRACE,
    )
    return set((await session.exec(stmt)).all())
