import base64
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.errors import ValidationFailed
from services.common.pagination import paginate
from services.crm import batch
from services.crm.customers.models import Appointment, Customer, RepairOrder, Vehicle, VehicleOwner

# A booking still counts as one for a day after its time, in case reception marks the
# no-show late; after that an unmarked old booking no longer protects a customer from churn.
BOOKING_GRACE = timedelta(days=1)


async def customer(session: AsyncSession, customer_id: str) -> Customer | None:
    return await session.get(Customer, customer_id)


async def customers_by_id(session: AsyncSession, ids: set[str]) -> dict[str, Customer]:
    if not ids:
        return {}
    return {c.id: c for c in (await session.exec(select(Customer).where(col(Customer.id).in_(ids)))).all()}


async def customer_by_phone(session: AsyncSession, store_id: str, phone: str) -> Customer | None:
    rows = await batch.answering(session, "customer", (store_id, phone))
    if rows is not None:
        return next(iter(rows.find(Customer, store_id=store_id, phone=phone)), None)
    stmt = select(Customer).where(Customer.store_id == store_id, Customer.phone == phone)
    return (await session.exec(stmt)).first()


async def customers_page(session: AsyncSession, *, store_id: str | None, phone: str | None, name: str | None,
                         club_member: bool | None, limit: int, cursor: str | None):
    """One page of customers; each filter given narrows it (`name`: contains)."""
    stmt = select(Customer)
    if store_id:
        stmt = stmt.where(Customer.store_id == store_id)
    if phone:
        stmt = stmt.where(Customer.phone == phone)
    if name:
        stmt = stmt.where(col(Customer.name).contains(name, autoescape=True))
    if club_member is not None:
        stmt = stmt.where(Customer.club_member == club_member)
    return await paginate(session, stmt, Customer.id, limit, cursor)


async def vehicle(session: AsyncSession, vin: str) -> Vehicle | None:
    rows = await batch.answering(session, "vehicle", vin)
    if rows is not None:
        return next(iter(rows.find(Vehicle, vin=vin)), None)
    return await session.get(Vehicle, vin)


async def open_owners(session: AsyncSession, vin: str) -> list[VehicleOwner]:
    rows = await batch.answering(session, "open_owners", vin)
    if rows is not None:
        return [o for o in rows.find(VehicleOwner, vin=vin) if o.until is None]
    stmt = select(VehicleOwner).where(VehicleOwner.vin == vin, col(VehicleOwner.until).is_(None))
    return list((await session.exec(stmt)).all())


async def owners_of_vehicle(session: AsyncSession, vin: str, store_id: str | None) -> list[VehicleOwner]:
    # Owners this transaction added are part of the answer: a batch's handlers may run
    # without autoflush.
    await session.flush()
    stmt = select(VehicleOwner).where(VehicleOwner.vin == vin)
    if store_id:
        stmt = stmt.where(VehicleOwner.store_id == store_id)
    return list((await session.exec(stmt.order_by(col(VehicleOwner.since), VehicleOwner.id))).all())


async def vehicles_of_customers(session: AsyncSession, customer_ids: list[str]) -> list[tuple[VehicleOwner, Vehicle]]:
    if not customer_ids:
        return []
    stmt = (
        select(VehicleOwner, Vehicle)
        .join(Vehicle, col(Vehicle.vin) == VehicleOwner.vin)
        .where(col(VehicleOwner.customer_id).in_(customer_ids))
        .order_by(col(VehicleOwner.since), VehicleOwner.id)
    )
    return list((await session.exec(stmt)).all())


async def repair_order(session: AsyncSession, repair_order_id: str) -> RepairOrder | None:
    rows = await batch.answering(session, "repair_order", repair_order_id)
    if rows is not None:
        return next(iter(rows.find(RepairOrder, id=repair_order_id)), None)
    return await session.get(RepairOrder, repair_order_id)


# --- a batch's preload (services.crm.batch) ------------------------------------------------

async def load_customers(session: AsyncSession, keys: set[tuple[str, str]]) -> list[Customer]:
    """The customers of these (store_id, phone) pairs, in one query; the batch's lookups of
    them are answered from the session from now on."""
    rows = batch.begin(session)
    keys = rows.not_asked("customer", keys)
    if not keys:
        return []
    stmt = select(Customer).where(col(Customer.phone).in_({p for _, p in keys}),
                                  col(Customer.store_id).in_({s for s, _ in keys}))
    found = list((await session.exec(stmt)).all())
    rows.ask("customer", keys)
    return found


async def load_vehicles(session: AsyncSession, vins: set[str]) -> None:
    """These vehicles and their open ownerships, in a query each."""
    rows = batch.begin(session)
    vins = rows.not_asked("vehicle", vins)
    if not vins:
        return
    known = [v.vin for v in (await session.exec(select(Vehicle).where(col(Vehicle.vin).in_(vins)))).all()]
    # Owners are written only together with their vehicle (know_vehicle): a vehicle never
    # seen has none, and a batch of new cars needs no query for them.
    if known:
        stmt = select(VehicleOwner).where(col(VehicleOwner.vin).in_(known), col(VehicleOwner.until).is_(None))
        (await session.exec(stmt)).all()
    rows.ask("vehicle", vins)
    rows.ask("open_owners", vins)


async def load_repair_orders(session: AsyncSession, ids: set[str]) -> set[str]:
    """These orders, in one query; returns the ids of those on file."""
    rows = batch.begin(session)
    ids = rows.not_asked("repair_order", ids)
    if not ids:
        return set()
    found = {o.id for o in (await session.exec(select(RepairOrder).where(col(RepairOrder.id).in_(ids)))).all()}
    rows.ask("repair_order", ids)
    return found


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
        stmt = stmt.where(sa.or_(col(RepairOrder.delivered_at) < when,
                                 sa.and_(col(RepairOrder.delivered_at) == when, col(RepairOrder.id) < ro_id)))
    stmt = stmt.order_by(col(RepairOrder.delivered_at).desc(), col(RepairOrder.id).desc()).limit(limit + 1)
    rows = list((await session.exec(stmt)).all())
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        assert last.delivered_at is not None  # a delivered order has its delivery time
        return rows, _encode(last.delivered_at, last.id)
    return rows, None


async def delivered_orders_of_vehicle(session: AsyncSession, vin: str) -> list[RepairOrder]:
    stmt = (
        select(RepairOrder)
        .where(RepairOrder.vin == vin, RepairOrder.status == "delivered")
        .order_by(col(RepairOrder.delivered_at))
    )
    return list((await session.exec(stmt)).all())


async def mileage_readings(session: AsyncSession, vin: str) -> list[tuple[datetime, int]]:
    """(when, km) of every order of the vehicle that recorded mileage, oldest first."""
    when = sa.func.coalesce(RepairOrder.opened_at, RepairOrder.delivered_at)
    stmt = (
        select(when, RepairOrder.mileage_km)
        .where(RepairOrder.vin == vin, col(RepairOrder.mileage_km).is_not(None), when.is_not(None))
        .order_by(when)
    )
    return [(when_, km) for when_, km in (await session.exec(stmt)).all() if km is not None]


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
        col(Appointment.customer_id).in_(customer_ids),
        Appointment.status == "booked",
        Appointment.scheduled_at >= now - BOOKING_GRACE,
    )
    return set((await session.exec(stmt)).all())
