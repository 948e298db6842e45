"""Maintenance reminders (data/maintenance_policy.json).

A vehicle's schedule runs from its last maintenance visit (periodic: every 12 months or
10,000 km, whichever comes first), or, before any, from its sale date (first: 6 months
or 5,000 km, then periodic from there); with neither, from its last visit of any kind.
Kilometres become dates through the vehicle's own pace, measured from the odometer
readings of its repair orders (or from the sale date), or the policy's assumed pace.
The daily job reminds the next milestone 14 days ahead, once; a booking or a visit for
the VIN converts it; one left unanswered expires a while after its due day."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.clock import Clock
from services.common.errors import InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.crm import ReminderSent
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.stores import ensure_visible
from services.common.tables import KnownStore
from services.crm.customers import repository as customers
from services.crm.customers.models import RepairOrder, Vehicle
from services.crm.customers.service import default_preferences
from services.crm.localtime import add_months, local_date, zone_of
from services.crm.messages import service as messages
from services.crm.reminders import repository
from services.crm.reminders.models import Reminder
from services.crm.who import columns

DAYS_PER_MONTH = Decimal("30.4375")
MAX_MILESTONES = 200


@dataclass(frozen=True)
class Milestone:
    key: str
    kind: str
    op_code: str
    due_on: date
    due_km: int
    reason: str


@dataclass(frozen=True)
class Odometer:
    """Where the vehicle's mileage was last seen and how fast it grows."""

    seen_on: date | None
    km: int
    km_per_month: Decimal

    def date_for(self, target_km: int) -> date | None:
        if self.seen_on is None:
            return None
        days = (Decimal(target_km - self.km) / self.km_per_month * DAYS_PER_MONTH).to_integral_value(ROUND_HALF_UP)
        return self.seen_on + timedelta(days=int(days))

    def on(self, day: date) -> int:
        if self.seen_on is None:
            return 0
        months = Decimal((day - self.seen_on).days) / DAYS_PER_MONTH
        return max(self.km, int((self.km + self.km_per_month * months).to_integral_value(ROUND_HALF_UP)))


def odometer(readings: list[tuple[date, int]], sold_at: date | None) -> Odometer:
    assumed = Decimal(reference.maintenance_policy()["assumed_km_per_month_when_unknown"])
    if not readings:
        return Odometer(sold_at, 0, assumed)
    last_day, last_km = readings[-1]
    first_day, first_km = readings[0]
    pace = assumed
    months = Decimal((last_day - first_day).days) / DAYS_PER_MONTH
    if months >= 1 and last_km > first_km:
        pace = Decimal(last_km - first_km) / months
    elif sold_at is not None:
        months = Decimal((last_day - sold_at).days) / DAYS_PER_MONTH
        if months >= 1 and last_km > 0:
            pace = Decimal(last_km) / months
    return Odometer(last_day, last_km, pace)


def _is_maintenance(order: RepairOrder) -> bool:
    policy = reference.maintenance_policy()
    codes = {policy["first_maintenance"]["op_code"], policy["periodic_maintenance"]["op_code"]}
    return any(op.get("op_code") in codes for op in order.operations)


def _delivered_at(order: RepairOrder) -> datetime:
    delivered_at = order.delivered_at
    assert delivered_at is not None  # schedule is given delivered orders only
    return delivered_at


def schedule(vehicle: Vehicle, delivered: list[RepairOrder], meter: Odometer, zone: ZoneInfo) -> Iterator[Milestone]:
    """The vehicle's milestones in order; endless, the caller stops."""
    policy = reference.maintenance_policy()
    first, periodic = policy["first_maintenance"], policy["periodic_maintenance"]

    def sooner(months_date: date, km: int) -> date:
        by_km = meter.date_for(km)
        return min(months_date, by_km) if by_km else months_date

    maintained = [o for o in delivered if _is_maintenance(o)]
    if maintained or (vehicle.sold_at is None and delivered):
        base = max(maintained or delivered, key=_delivered_at)
        base_day = local_date(_delivered_at(base), zone)
        base_km = base.mileage_km if base.mileage_km is not None else meter.on(base_day)
        what = "maintenance" if maintained else "visit"
        for n in range(1, MAX_MILESTONES):
            months, km = periodic["months"] * n, base_km + periodic["km"] * n
            yield Milestone(f"periodic:{base.id}:{n}", "periodic_maintenance", periodic["op_code"],
                            sooner(add_months(base_day, months), km), km,
                            f"{months} months or {km - base_km} km after the {what} of {base_day} at {base_km} km")
        return
    if vehicle.sold_at is None:
        return
    sold = vehicle.sold_at
    yield Milestone("first", "first_maintenance", first["op_code"],
                    sooner(add_months(sold, first["months"]), first["km"]), first["km"],
                    f"first maintenance: {first['months']} months or {first['km']} km after the sale on {sold}")
    for n in range(1, MAX_MILESTONES):
        months, km = first["months"] + periodic["months"] * n, first["km"] + periodic["km"] * n
        yield Milestone(f"periodic:sale:{n}", "periodic_maintenance", periodic["op_code"],
                        sooner(add_months(sold, months), km), km,
                        f"{months} months or {km} km after the sale on {sold}")


def next_milestone(milestones: Iterator[Milestone], today: date, expire_after_days: int) -> Milestone | None:
    """The first milestone not already past the point where a reminder would have expired."""
    oldest_useful = today - timedelta(days=expire_after_days)
    for milestone in milestones:
        if milestone.due_on >= oldest_useful:
            return milestone
    return None


async def daily_run(session: AsyncSession, store: KnownStore, now: datetime, expire_after_days: int) -> dict[str, int]:
    zone = await zone_of(session, store.id)
    today = local_date(now, zone)
    lead = timedelta(days=reference.maintenance_policy()["reminder_lead_days"])
    expired = 0
    for reminder in await repository.to_expire(session, store.id, today - timedelta(days=expire_after_days)):
        reminder.status, reminder.expired_at = "expired", now
        reminder.version += 1
        session.add(reminder)
        expired += 1

    vehicles = await repository.vehicles_of_store(session, store.id)
    orders: dict[str, list[RepairOrder]] = {}
    for order in await repository.orders_of_store_vehicles(session, store.id):
        assert order.vin is not None  # found by the store's vehicles' VINs
        orders.setdefault(order.vin, []).append(order)
    reminded: dict[str, list[Reminder]] = {}
    for reminder in await repository.reminders_of_store_vehicles(session, store.id):
        reminded.setdefault(reminder.vin, []).append(reminder)
    booked = await repository.booked_vins(session, store.id, now)
    owners = await customers.customers_by_id(session, {v.customer_id for v in vehicles})

    made = 0
    for vehicle in vehicles:
        own = reminded.get(vehicle.vin, [])
        if vehicle.vin in booked or any(r.status in repository.OPEN_STATES for r in own):
            continue
        owner = owners.get(vehicle.customer_id)
        if owner is None or (owner.contact_preferences or default_preferences()).get("marketing_opt_out"):
            continue
        history = orders.get(vehicle.vin, [])
        readings = sorted(
            (local_date(seen_at, zone), o.mileage_km)
            for o in history if o.mileage_km is not None and (seen_at := o.opened_at or o.delivered_at)
        )
        delivered = [o for o in history if o.status == "delivered" and o.delivered_at]
        meter = odometer(readings, vehicle.sold_at)
        milestone = next_milestone(schedule(vehicle, delivered, meter, zone), today, expire_after_days)
        if milestone is None or milestone.due_on - lead > today:
            continue
        if any(r.milestone == milestone.key for r in own):
            continue
        reminder = Reminder(
            id=new_id(), store_id=store.id, vin=vehicle.vin, customer_id=owner.id, kind=milestone.kind,
            milestone=milestone.key, op_code=milestone.op_code, due_on=milestone.due_on, due_km=milestone.due_km,
            projected_km=meter.on(milestone.due_on),
            km_per_month=int(meter.km_per_month.to_integral_value(ROUND_HALF_UP)),
            reason=milestone.reason, status="pending", created_at=now,
        )
        session.add(reminder)
        # The letter goes out through customer messages; the reminder is marked sent when it does (letter_sent).
        await messages.maintenance_letter(session, reminder, owner, vehicle, now)
        made += 1
    await session.flush()
    return {"made": made, "expired": expired}


async def convert(session: AsyncSession, vin: str, at: datetime, by: str, store_id: str) -> int:
    """The customer came back (booked, or walked in) after being reminded."""
    converted = 0
    for reminder in await repository.open_for_vin(session, vin.strip().upper()):
        if reminder.created_at > at:
            continue
        reminder.status, reminder.converted_at = "converted", at
        reminder.converted_by, reminder.converted_store_id = by, store_id
        reminder.version += 1
        session.add(reminder)
        converted += 1
    return converted


LETTER_SENDER = "customer-messages"


async def letter_sent(session: AsyncSession, reminder_id: str, channel: str, at: datetime) -> None:
    """The reminder's letter reached the provider (services/crm/messages): the reminder is
    sent, as when staff record it by hand. A follow-up call a week later goes by this."""
    reminder = await repository.get_for_update(session, reminder_id)
    if reminder is None or reminder.status != "pending":
        return
    reminder.status, reminder.sent_at, reminder.channel, reminder.sent_by = "sent", at, channel, LETTER_SENDER
    reminder.version += 1
    session.add(reminder)
    await session.flush()
    await emit(session, ReminderSent(reminder_id=reminder.id, store_id=reminder.store_id, vin=reminder.vin,
                                     kind=reminder.kind, channel=channel, sent_at=at, sent_by=LETTER_SENDER),
               subject=reminder.id, store_id=reminder.store_id, time=at)


async def visible_reminder(session: AsyncSession, principal: Principal, reminder_id: str, *,
                           lock: bool = False) -> Reminder:
    reminder = await (repository.get_for_update if lock else repository.get)(session, reminder_id)
    if reminder is None:
        raise NotFound("reminder not found")
    ensure_visible(principal, reminder.store_id, "reminder")
    return reminder


async def mark_sent(session: AsyncSession, clock: Clock, principal: Principal, reminder_id: str,
                    channel: str) -> Reminder:
    reminder = await visible_reminder(session, principal, reminder_id, lock=True)
    if reminder.status != "pending":
        raise InvalidTransition(reminder.status, "send")
    owner = (await customers.customers_by_id(session, {reminder.customer_id})).get(reminder.customer_id)
    prefs = (owner.contact_preferences if owner else None) or default_preferences()
    if prefs.get("marketing_opt_out"):
        raise ValidationFailed("channel", "the customer opted out of reminders")
    if channel not in prefs.get("channels", []):
        accepted = ", ".join(prefs.get("channels", [])) or "none"
        raise ValidationFailed("channel", f"the customer accepts only: {accepted}")
    now = clock.now()
    reminder.status, reminder.sent_at, reminder.channel, reminder.sent_by = "sent", now, channel, principal.id
    reminder.sent_by_name, reminder.sent_by_credential = principal.name or principal.id, principal.credential or None
    reminder.version += 1
    session.add(reminder)
    await session.flush()
    await emit(session, ReminderSent(reminder_id=reminder.id, store_id=reminder.store_id, vin=reminder.vin,
                                     kind=reminder.kind, channel=channel, sent_at=now,
                                     **columns("sent_by", principal)),
               subject=reminder.id, store_id=reminder.store_id, time=now)
    return reminder


async def list_reminders(session: AsyncSession, principal: Principal, *, store_id: str | None, status: str | None,
                         kind: str | None, due_before: date | None, vin: str | None, customer_id: str | None,
                         limit: int, cursor: str | None):
    # A store's caller sees its own reminders, whatever store it names; HQ the one it names, or all.
    return await repository.page(session, store_id=principal.store_id or store_id, status=status, kind=kind,
                                 due_before=due_before, vin=vin.strip().upper() if vin else None,
                                 customer_id=customer_id, limit=limit, cursor=cursor)
