"""Ownership transfer (过户). The old owner's customer record keeps what was theirs: the
orders they brought the car in for, their callbacks and surveys, and their span of
ownership, closed now. The new owner becomes the car's customer at its home store, and
what CRM says about the car from now on is said to them: the car's open maintenance
reminders are readdressed to them, and the reminders job and the callbacks of visits to
come find them as the car's owner. Warranty is the VIN's (network) and does not move."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import NotFound, ValidationFailed
from services.common.events.catalogue import reception as rx
from services.common.events.catalogue.crm import VehicleTransferred
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.crm.customer_base import service as customer_base
from services.crm.customers.models import VehicleOwner
from services.crm.customers.service import know_customer, normalize_phone
from services.crm.localtime import local_date, zone_of
from services.crm.vehicles import repository
from services.crm.vehicles.models import VehicleTransfer
from services.crm.vehicles.schemas import TransferCreate, TransferPublic
from services.crm.who import columns


async def transfer(session: AsyncSession, clock: Clock, principal: Principal, vin: str,
                   data: TransferCreate) -> VehicleTransfer:
    vin = vin.strip().upper()
    # Locked: two transfers of one car are decided one after the other.
    vehicle = await repository.vehicle_for_update(session, vin)
    # The home store (or HQ) records it; to any other store the car is not theirs to hand over.
    if vehicle is None or not principal.can_see_store(vehicle.home_store_id):
        raise NotFound("vehicle not found")
    phone = normalize_phone(data.new_owner.phone)
    if phone == vehicle.owner_phone:
        raise ValidationFailed("new_owner.phone", "is the number of the car's present owner")
    now = clock.now()
    today = local_date(now, await zone_of(session, vehicle.home_store_id))
    if data.transfer_date > today + timedelta(days=1):
        raise ValidationFailed("transferred_on", "is in the future")
    if data.transfer_date < local_date(vehicle.owner_since, await zone_of(session, vehicle.home_store_id)):
        raise ValidationFailed("transferred_on", "is before the present owner had the car")
    old_customer_id = vehicle.customer_id
    new_owner = await know_customer(session, vehicle.home_store_id,
                                    rx.Customer(name=data.new_owner.name.strip(), phone=phone), now)
    await session.flush()  # the new customer's id is on file before rows refer to it
    for row in await repository.open_owners(session, vin):
        if row.customer_id != new_owner.id:
            row.until = now
            session.add(row)
    session.add(VehicleOwner(id=new_id(), vin=vin, store_id=vehicle.home_store_id, customer_id=new_owner.id,
                             phone=new_owner.phone, since=now))
    vehicle.customer_id, vehicle.owner_phone, vehicle.owner_since = new_owner.id, new_owner.phone, now
    vehicle.updated_at = max(vehicle.updated_at, now)
    session.add(vehicle)
    await customer_base.owner_changed(session, vehicle.home_store_id, vin, new_owner.id, now)
    moved = 0
    for reminder in await repository.open_reminders(session, vin):
        if reminder.customer_id != new_owner.id:
            reminder.customer_id = new_owner.id
            reminder.version += 1
            session.add(reminder)
            moved += 1
    record = VehicleTransfer(
        id=new_id(), vin=vin, store_id=vehicle.home_store_id, from_customer_id=old_customer_id,
        to_customer_id=new_owner.id, papers_reference=data.papers_reference.strip(),
        transfer_date=data.transfer_date, reason=data.reason, reminders_moved=moved, transferred_at=now,
        **columns("transferred_by", principal),
    )
    session.add(record)
    await session.flush()
    await emit(session, VehicleTransferred(
        transfer_id=record.id, vin=vin, store_id=record.store_id, from_customer_id=old_customer_id,
        to_customer_id=new_owner.id, papers_reference=record.papers_reference, transfer_date=record.transfer_date,
        reminders_moved=moved, transferred_at=now, **columns("transferred_by", principal),
    ), subject=vin, store_id=record.store_id, time=now)
    return record


def public(record: VehicleTransfer) -> TransferPublic:
    return TransferPublic.model_validate(record, from_attributes=True)
