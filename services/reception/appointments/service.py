"""Appointments: a store takes a fixed number of bookings per clock hour of its local
time. booked → checked_in (at check-in) | cancelled | no_show."""
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.reception import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentNoShow,
)
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.stores import acting_store_id, ensure_visible, get_store, store_zone
from services.common.tables import KnownStore
from services.reception.appointments import repository
from services.reception.appointments.models import Appointment
from services.reception.appointments.schemas import (
    AppointmentCreate,
    AppointmentList,
    AppointmentPublic,
    AppointmentStatus,
    Availability,
    Slot,
)
from services.reception.settings import ReceptionSettings
from services.reception.shared import repository as shared_repository
from services.reception.shared.service import (
    Who,
    history,
    listed_store,
    not_in_future,
    record_change,
    store_for_new_business,
)
from services.reception.vehicle_notices import service as vehicle_notices

AGGREGATE = "appointment"


def _slot_start(when: datetime, store: KnownStore) -> datetime:
    local = when.astimezone(store_zone(store))
    return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)


async def book(session: AsyncSession, clock: Clock, settings: ReceptionSettings, principal: Principal,
               data: AppointmentCreate) -> Appointment:
    store = await store_for_new_business(session, principal, data.store_id)
    now = clock.now()
    zone = store_zone(store)
    scheduled = data.scheduled_at.astimezone(UTC)
    if scheduled <= now:
        raise ValidationFailed("scheduled_at", "is in the past")
    if scheduled > now + timedelta(days=settings.appointment_max_days_ahead):
        raise ValidationFailed("scheduled_at", f"is more than {settings.appointment_max_days_ahead} days ahead")
    local = scheduled.astimezone(zone)
    if not settings.appointment_first_hour <= local.hour <= settings.appointment_last_hour:
        raise ValidationFailed(
            "scheduled_at",
            f"the store books {settings.appointment_first_hour:02d}:00 to {settings.appointment_last_hour + 1:02d}:00 "
            f"{store.timezone} time",
        )
    not_in_future("vehicle.sold_at", data.vehicle.sold_at, now.astimezone(zone).date())
    local_date = local.date().isoformat()
    same_day = await repository.booked_same_day(session, store.id, data.vehicle.vin, local_date)
    if same_day is not None:
        raise Conflict(f"vehicle {data.vehicle.vin} is already booked on {local_date}", appointment_id=same_day.id)
    slot = _slot_start(scheduled, store)
    # Taking the slot's counter row serialises bookings of one slot, so two customers
    # never both get its last place.
    await shared_repository.next_value(session, f"slot:{store.id}:{slot.isoformat()}")
    capacity = settings.capacity_for(store.code)
    if await repository.count_in_slot(session, store.id, slot) >= capacity:
        raise Conflict(f"the {local.strftime('%H:00')} slot is full", slot_start=slot.isoformat(), capacity=capacity)
    who = Who.of(principal)
    appointment = Appointment(
        id=new_id(), store_id=store.id, status="booked", customer=data.customer.model_dump(mode="json"),
        vehicle=data.vehicle.model_dump(mode="json"), vin=data.vehicle.vin, service_type=data.service_type,
        scheduled_at=scheduled, slot_start=slot, local_date=local_date, note=data.note, booked_by=who.as_dict(),
        booked_at=now,
    )
    session.add(appointment)
    record_change(session, aggregate=AGGREGATE, aggregate_id=appointment.id, store_id=store.id, action="book",
                  from_status=None, to_status="booked", by=who, at=now)
    await emit(session, AppointmentBooked(**_event_fields(appointment), booked_at=now, note=data.note,
                                          booked_by=principal.id),
               subject=appointment.id, store_id=store.id, time=now)
    return appointment


async def get_visible(session: AsyncSession, principal: Principal, appointment_id: str, *,
                      for_update: bool = False) -> Appointment:
    appointment = await repository.get(session, appointment_id, for_update=for_update)
    if appointment is None:
        raise NotFound("appointment not found")
    ensure_visible(principal, appointment.store_id, "appointment")
    return appointment


async def cancel(session: AsyncSession, clock: Clock, principal: Principal, appointment: Appointment,
                 reason: str | None) -> Appointment:
    if appointment.status != "booked":
        raise InvalidTransition(appointment.status, "cancel")
    now = clock.now()
    _move(session, appointment, "cancelled", "cancel", Who.of(principal), now, {"reason": reason} if reason else None)
    appointment.cancelled_at, appointment.cancel_reason = now, reason
    await emit(session, AppointmentCancelled(**_event_fields(appointment), cancelled_at=now, reason=reason,
                                             cancelled_by=principal.id),
               subject=appointment.id, store_id=appointment.store_id, time=now)
    return appointment


async def no_show(session: AsyncSession, clock: Clock, principal: Principal, appointment: Appointment) -> Appointment:
    if appointment.status != "booked":
        raise InvalidTransition(appointment.status, "mark as no-show")
    now = clock.now()
    if now < appointment.scheduled_at:
        raise Conflict("the appointment time has not come yet", current_state=appointment.status)
    _move(session, appointment, "no_show", "no_show", Who.of(principal), now)
    appointment.no_show_at = now
    await emit(session, AppointmentNoShow(**_event_fields(appointment), marked_at=now, marked_by=principal.id),
               subject=appointment.id, store_id=appointment.store_id, time=now)
    return appointment


async def check_in(session: AsyncSession, appointment: Appointment, repair_order_id: str, who: Who,
                   at: datetime) -> None:
    """The customer came: called by check-in, in the same transaction as the new order."""
    if appointment.status != "booked":
        raise InvalidTransition(appointment.status, "check in")
    _move(session, appointment, "checked_in", "check_in", who, at, {"repair_order_id": repair_order_id})
    appointment.checked_in_at, appointment.repair_order_id = at, repair_order_id
    await emit(session, AppointmentCheckedIn(**_event_fields(appointment), repair_order_id=repair_order_id,
                                             checked_in_at=at),
               subject=appointment.id, store_id=appointment.store_id, time=at)


async def availability(session: AsyncSession, clock: Clock, settings: ReceptionSettings, principal: Principal,
                       store_id: str | None, day: date) -> Availability:
    """Free places per hour of a local day in the caller's store (HQ names the store)."""
    store = await get_store(session, acting_store_id(principal, store_id))
    zone = store_zone(store)
    capacity = settings.capacity_for(store.code)
    starts = [
        datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)
        for hour in range(settings.appointment_first_hour, settings.appointment_last_hour + 1)
    ]
    counts = await repository.counts_by_slot(session, store.id, starts[0], starts[-1])
    now = clock.now()
    slots = []
    for start in starts:
        end = start + timedelta(hours=1)
        booked = counts.get(start, 0)
        free = max(capacity - booked, 0)
        slots.append(Slot(start=start, end=end, local_time=start.astimezone(zone).strftime("%H:%M"),
                          capacity=capacity, booked=booked, free=free, bookable=free > 0 and end > now))
    return Availability(store_id=store.id, date=day, timezone=store.timezone, capacity_per_hour=capacity, slots=slots)


async def public(session: AsyncSession, appointment: Appointment, clock: Clock | None = None) -> AppointmentPublic:
    """The appointment; with `clock`, also what the advisor must know of the car today."""
    notices = await vehicle_notices.notices(session, clock, appointment.vin) if clock is not None else None
    return AppointmentPublic(**_columns(appointment), history=await history(session, AGGREGATE, appointment.id),
                             vehicle_notices=notices)


async def list_appointments(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                            store_id: str | None = None, day: date | None = None,
                            status: AppointmentStatus | None = None, vin: str | None = None) -> AppointmentList:
    rows, next_cursor = await repository.page(
        session, store_id=listed_store(principal, store_id), limit=limit, cursor=cursor,
        local_date=day.isoformat() if day else None, status=status, vin=vin.upper() if vin else None,
    )
    return AppointmentList(items=[summary(r) for r in rows], next_cursor=next_cursor)


def summary(appointment: Appointment) -> AppointmentPublic:
    return AppointmentPublic(**_columns(appointment))


def _columns(appointment: Appointment) -> dict:
    return {name: getattr(appointment, name) for name in AppointmentPublic.model_fields
            if name not in ("history", "vehicle_notices")}


def _move(session: AsyncSession, appointment: Appointment, to: str, action: str, who: Who, at: datetime,
          detail: dict | None = None) -> None:
    record_change(session, aggregate=AGGREGATE, aggregate_id=appointment.id, store_id=appointment.store_id,
                  action=action, from_status=appointment.status, to_status=to, by=who, at=at, detail=detail)
    appointment.status = to
    appointment.version += 1
    session.add(appointment)


def _event_fields(appointment: Appointment) -> dict:
    return dict(appointment_id=appointment.id, store_id=appointment.store_id, customer=appointment.customer,
                vehicle=appointment.vehicle, service_type=appointment.service_type,
                scheduled_at=appointment.scheduled_at)
