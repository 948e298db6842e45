"""Customers and vehicles as reception's events describe them.

A customer is one phone number in one store (the same person at two stores is two
customers: each store keeps its own relationship). A vehicle is one VIN across the
group, with a home store (the first to see it; its reminders go out from there). When
it turns up at its home store with another phone number it has changed hands, and the
previous ownership is closed, not overwritten. When it turns up at another store, that
store keeps its own visit and customer, but the vehicle's owner, home store and what
the home store knows of it do not move: that takes a transfer of ownership. Events may
arrive out of order (they are keyed by appointment or repair order, not by customer),
so every change is applied only when it is newer than what is kept."""
from __future__ import annotations

import re
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import NotFound
from services.common.events.catalogue import network as nw
from services.common.events.catalogue import reception as rx
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.stores import ensure_visible
from services.common.versioning import check_version
from services.crm.customers import repository
from services.crm.customers.models import Appointment, Customer, RepairOrder, Vehicle, VehicleOwner
from services.crm.customers.schemas import (
    ContactPreferences,
    CustomerPublic,
    CustomerUpdate,
    Operation,
    OwnedVehicle,
    Owner,
    PartUsed,
    VehicleHistory,
    Visit,
)
from services.crm.localtime import local_date, zone_of

_PHONE_NOISE = re.compile(r"[\s\-().]")
_CHINA_PREFIX = re.compile(r"^(?:\+86|0086)(1\d{10})$")


def normalize_phone(phone: str) -> str:
    """One spelling per number, so "138 0013 8000" and "+86-13800138000" are one customer."""
    compact = _PHONE_NOISE.sub("", phone or "")
    match = _CHINA_PREFIX.match(compact)
    return match[1] if match else compact


def default_preferences() -> dict:
    return ContactPreferences().model_dump()


# --- from events ---------------------------------------------------------------------

async def know_customer(session: AsyncSession, store_id: str, person: rx.Customer, at: datetime) -> Customer:
    phone = normalize_phone(person.phone)
    customer = await repository.customer_by_phone(session, store_id, phone)
    if customer is None:
        customer = Customer(
            id=new_id(), store_id=store_id, phone=phone, name=person.name, contact_preferences=default_preferences(),
            first_seen_at=at, name_seen_at=at, created_at=at, updated_at=at,
        )
        session.add(customer)
        return customer
    changed = False
    if at < customer.first_seen_at:
        customer.first_seen_at, changed = at, True
    if at >= customer.name_seen_at:
        if person.name and person.name != customer.name:
            customer.name = person.name
            customer.version += 1
            customer.updated_at = max(customer.updated_at, at)
        customer.name_seen_at, changed = at, True
    if changed:
        session.add(customer)
    return customer


async def know_vehicle(session: AsyncSession, store_id: str, data: rx.Vehicle, owner: Customer,
                       at: datetime) -> Vehicle:
    vin = data.vin.strip().upper()
    vehicle = await repository.vehicle(session, vin)
    if vehicle is None:
        vehicle = Vehicle(vin=vin, plate=data.plate, model=data.model, sold_at=data.sold_at, home_store_id=store_id,
                          customer_id=owner.id, owner_phone=owner.phone, owner_since=at, first_seen_at=at,
                          updated_at=at)
        first_owner = VehicleOwner(id=new_id(), vin=vin, store_id=store_id, customer_id=owner.id, phone=owner.phone,
                                   since=at)
        session.add(vehicle)
        session.add(first_owner)
        return vehicle
    home = store_id == vehicle.home_store_id
    newer = at >= vehicle.updated_at
    for attr in ("plate", "model", "sold_at"):
        value = getattr(data, attr)
        # Another store's visit fills in what is not known, and corrects nothing.
        if value is not None and ((home and newer) or getattr(vehicle, attr) is None):
            setattr(vehicle, attr, value)
    if at < vehicle.first_seen_at:
        vehicle.first_seen_at = at
    open_rows = await repository.open_owners(session, vin)
    if not home:
        # Whoever brings the car to another store is that store's customer, not its owner;
        # the owner, under the owner's number, is known there as well.
        if owner.phone == vehicle.owner_phone and not any(r.customer_id == owner.id for r in open_rows):
            session.add(VehicleOwner(id=new_id(), vin=vin, store_id=store_id, customer_id=owner.id,
                                     phone=owner.phone, since=at))
        session.add(vehicle)
        return vehicle
    if owner.phone != vehicle.owner_phone:
        if at >= vehicle.owner_since:
            # Sold on: every ownership under the old number ends now.
            for row in open_rows:
                if row.phone != owner.phone:
                    row.until = at
                    session.add(row)
            vehicle.owner_phone, vehicle.owner_since = owner.phone, at
            if not any(r.customer_id == owner.id for r in open_rows):
                new_owner = VehicleOwner(id=new_id(), vin=vin, store_id=store_id, customer_id=owner.id,
                                         phone=owner.phone, since=at)
                session.add(new_owner)
        else:
            # A late event about an earlier owner: keep it as history, closed by the current owner.
            known = await repository.owners_of_vehicle(session, vin, None)
            if not any(r.customer_id == owner.id for r in known):
                session.add(VehicleOwner(id=new_id(), vin=vin, store_id=store_id, customer_id=owner.id,
                                         phone=owner.phone, since=at, until=vehicle.owner_since))
    elif not any(r.customer_id == owner.id for r in open_rows):
        new_owner = VehicleOwner(id=new_id(), vin=vin, store_id=store_id, customer_id=owner.id, phone=owner.phone,
                                 since=at)
        session.add(new_owner)
    if newer:
        vehicle.customer_id, vehicle.updated_at = owner.id, at
    session.add(vehicle)
    return vehicle


def record_visit(session: AsyncSession, customer: Customer, at: datetime) -> None:
    if customer.last_visit_at is None or at > customer.last_visit_at:
        customer.last_visit_at = at
        session.add(customer)


async def order_opened(session: AsyncSession, event: rx.RepairOrderOpened) -> tuple[Customer, Vehicle, RepairOrder]:
    customer = await know_customer(session, event.store_id, event.customer, event.opened_at)
    vehicle = await know_vehicle(session, event.store_id, event.vehicle, customer, event.opened_at)
    record_visit(session, customer, event.opened_at)
    order = await repository.repair_order(session, event.repair_order_id)
    if order is None:
        order = RepairOrder(id=event.repair_order_id, store_id=event.store_id, number=event.number, status="open")
    order.vin, order.customer_id = vehicle.vin, customer.id
    order.advisor_id, order.advisor_name = event.advisor.id, event.advisor.name
    order.opened_at = event.opened_at
    if order.mileage_km is None:
        order.mileage_km = event.mileage_km
    session.add(order)
    return customer, vehicle, order


def _history_lines(lines: list[rx.RepairOrderLine]) -> tuple[list[dict], list[dict], int]:
    operations, parts, amount = [], [], 0
    for line in lines:
        amount += line.amount_fen
        if line.kind == "part":
            parts.append(PartUsed(part_no=line.part_no, description=line.description, quantity=line.quantity,
                                  pay_type=line.pay_type).model_dump())
        else:
            operations.append(Operation(kind=line.kind, op_code=line.op_code, description=line.description,
                                        hours=line.quantity if line.kind == "labor" else None,
                                        pay_type=line.pay_type).model_dump())
    return operations, parts, amount


async def order_delivered(session: AsyncSession,
                          event: rx.RepairOrderDelivered) -> tuple[Customer, Vehicle, RepairOrder]:
    customer = await know_customer(session, event.store_id, event.customer, event.delivered_at)
    vehicle = await know_vehicle(session, event.store_id, event.vehicle, customer, event.delivered_at)
    record_visit(session, customer, event.delivered_at)
    order = await repository.repair_order(session, event.repair_order_id)
    if order is None:
        order = RepairOrder(id=event.repair_order_id, store_id=event.store_id, number=event.number, status="delivered")
    operations, parts, amount = _history_lines(event.lines)
    order.status, order.number = "delivered", event.number
    order.vin, order.customer_id = vehicle.vin, customer.id
    order.advisor_id, order.advisor_name = event.advisor.id, event.advisor.name
    order.mileage_km, order.opened_at, order.delivered_at = event.mileage_km, event.opened_at, event.delivered_at
    order.operations, order.parts, order.amount_fen = operations, parts, amount
    order.customer_due_fen = event.totals.customer_due_fen
    order.totals = event.totals.model_dump()
    session.add(order)
    return customer, vehicle, order


async def order_cancelled(session: AsyncSession, event: rx.RepairOrderCancelled) -> None:
    order = await repository.repair_order(session, event.repair_order_id)
    if order is None:
        order = RepairOrder(id=event.repair_order_id, store_id=event.store_id, number=event.number, status="cancelled")
    if order.status == "delivered":
        return
    order.status, order.cancelled_at = "cancelled", event.cancelled_at
    session.add(order)


_FINAL_BOOKING_STATES = {"cancelled", "no_show", "checked_in"}


async def booking_changed(session: AsyncSession, event: rx.AppointmentBooked | rx.AppointmentCancelled
                          | rx.AppointmentNoShow | rx.AppointmentCheckedIn, status: str,
                          at: datetime) -> tuple[Customer, Vehicle]:
    customer = await know_customer(session, event.store_id, event.customer, at)
    vehicle = await know_vehicle(session, event.store_id, event.vehicle, customer, at)
    booking = await repository.appointment(session, event.appointment_id)
    if booking is None:
        booking = Appointment(id=event.appointment_id, store_id=event.store_id, customer_id=customer.id,
                              vin=vehicle.vin, service_type=event.service_type, status=status,
                              scheduled_at=event.scheduled_at, updated_at=at)
    elif booking.status in _FINAL_BOOKING_STATES:
        return customer, vehicle  # an end state is never undone by a late "booked"
    booking.status, booking.scheduled_at, booking.updated_at = status, event.scheduled_at, at
    if status == "booked":
        booking.booked_at = at
    session.add(booking)
    return customer, vehicle


async def vehicle_registered(session: AsyncSession, event: nw.VehicleRegistered | nw.VehicleRegistrationCorrected,
                             at: datetime) -> tuple[Customer, Vehicle]:
    """A new car registered at its sale (network's new-car intake): the buyer is the selling
    store's customer and the car's owner from then, and the selling store its home store, so
    the first-maintenance reminder goes out before any visit. A correction is applied the same
    way: a corrected delivery date moves the schedule, a corrected buyer's number makes that
    number the owner (the mistyped one keeps no car)."""
    buyer = await know_customer(session, event.store_id, rx.Customer(name=event.buyer.name, phone=event.buyer.phone),
                                at)
    car = rx.Vehicle(vin=event.vin, model=event.model, sold_at=event.delivery_date)
    return buyer, await know_vehicle(session, event.store_id, car, buyer, at)


async def preload_for_orders(session: AsyncSession,
                             events: list[rx.RepairOrderDelivered]) -> tuple[list[Customer], set[str]]:
    """The customers, vehicles (with their open owners) and orders a batch of deliveries will
    look up, in one query per table (`services.crm.batch`). Returns the customers and the
    ids of the orders on file."""
    customers = await repository.load_customers(
        session, {(e.store_id, normalize_phone(e.customer.phone)) for e in events})
    await repository.load_vehicles(session, {e.vehicle.vin.strip().upper() for e in events})
    return customers, await repository.load_repair_orders(session, {e.repair_order_id for e in events})


# --- for callers -------------------------------------------------------------------------

async def visible_customer(session: AsyncSession, principal: Principal, customer_id: str) -> Customer:
    customer = await repository.customer(session, customer_id)
    if customer is None:
        raise NotFound("customer not found")
    ensure_visible(principal, customer.store_id, "customer")
    return customer


async def to_public(session: AsyncSession, customers: list[Customer]) -> list[CustomerPublic]:
    owned: dict[str, list[OwnedVehicle]] = {c.id: [] for c in customers}
    for owner, vehicle in await repository.vehicles_of_customers(session, list(owned)):
        owned[owner.customer_id].append(OwnedVehicle(
            vin=vehicle.vin, plate=vehicle.plate, model=vehicle.model, sold_at=vehicle.sold_at,
            since=owner.since, until=owner.until, current=owner.until is None))
    return [
        CustomerPublic(
            id=c.id, store_id=c.store_id, name=c.name, phone=c.phone, club_member=c.club_member,
            club_since=c.club_since,
            contact_preferences=ContactPreferences.model_validate(c.contact_preferences or default_preferences()),
            first_seen_at=c.first_seen_at, last_visit_at=c.last_visit_at, vehicles=owned[c.id], version=c.version,
            created_at=c.created_at, updated_at=c.updated_at,
        )
        for c in customers
    ]


async def list_customers(session: AsyncSession, principal: Principal, *, store_id: str | None, phone: str | None,
                         name: str | None, club_member: bool | None, limit: int, cursor: str | None):
    # A store's caller sees its own customers, whatever store it names; HQ the one it names, or all.
    rows, next_cursor = await repository.customers_page(
        session, store_id=principal.store_id or store_id, phone=normalize_phone(phone) if phone else None, name=name,
        club_member=club_member, limit=limit, cursor=cursor)
    return await to_public(session, list(rows)), next_cursor


async def update_customer(session: AsyncSession, clock: Clock, principal: Principal, customer_id: str,
                          data: CustomerUpdate, expected: int | None) -> Customer:
    customer = await visible_customer(session, principal, customer_id)
    check_version(customer.version, expected)
    now = clock.now()
    if data.club_member is not None:
        if data.club_member and not customer.club_member:
            customer.club_since = data.club_since or local_date(now, await zone_of(session, customer.store_id))
        elif data.club_member and data.club_since:
            customer.club_since = data.club_since
        elif not data.club_member:
            customer.club_since = None
        customer.club_member = data.club_member
    elif data.club_since is not None and customer.club_member:
        customer.club_since = data.club_since
    if data.contact_preferences is not None:
        customer.contact_preferences = data.contact_preferences.model_dump()
    customer.version += 1
    customer.updated_at = now
    session.add(customer)
    await session.flush()
    return customer


async def vehicle_history(session: AsyncSession, principal: Principal, vin: str, limit: int,
                          cursor: str | None) -> VehicleHistory:
    vin = vin.strip().upper()
    vehicle = await repository.vehicle(session, vin)
    store_id = principal.store_id
    owners = await repository.owners_of_vehicle(session, vin, store_id) if vehicle else []
    # A store sees a vehicle one of its customers owns, or one it has serviced.
    serviced = bool(store_id and vehicle and not owners
                    and (await repository.service_history(session, vin, store_id, 1, None))[0])
    if vehicle is None or (store_id and not owners and not serviced):
        raise NotFound("vehicle not found")
    orders, next_cursor = await repository.service_history(session, vin, store_id, limit, cursor)
    return VehicleHistory(
        vin=vehicle.vin, plate=vehicle.plate, model=vehicle.model, sold_at=vehicle.sold_at,
        owners=[Owner(customer_id=o.customer_id, store_id=o.store_id, since=o.since, until=o.until) for o in owners],
        items=[
            Visit(repair_order_id=o.id, number=o.number, store_id=o.store_id, date=o.delivered_at,
                  opened_at=o.opened_at,
                  mileage_km=o.mileage_km, operations=o.operations, parts=o.parts, amount_fen=o.amount_fen,
                  customer_due_fen=o.customer_due_fen, advisor={"id": o.advisor_id, "name": o.advisor_name})
            for o in orders
        ],
        next_cursor=next_cursor,
    )
