"""Each service advisor's customer base (客户基盘).

A car is in the base of the advisor who served its last visit at a store: the repair order
reception opened for it (its advisor; a later visit served by another advisor moves it).
A car visiting two stores of the group is in a base at each, as each store keeps its own
customers. When an advisor leaves, or is no longer an advisor in that store (network's
person events), their cars wait for the service manager, who gives the whole base to one
advisor or has it shared evenly among the store's other active advisors, and may move single
cars at any time; a car given away stays with its new advisor until a visit is served by
someone else. An ownership transfer keeps the car with its advisor; the new owner becomes
its customer.

Retention: a car is retained while its last visit falls in the last twelve months, counted in
whole calendar months on the store's own day (`retained_since`). Every change to an advisor's
base is announced as `crm.customer_base.changed` with the base as it stands, and once a day by
the `customer_base_snapshot` job, since retention falls as time passes without a visit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock, add_months
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.common.events.catalogue import reception as rx
from services.common.events.catalogue.crm import CustomerBaseChanged
from services.common.identity import HQ_ROLES, SYSTEM_ROLE, Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.stores import acting_store_id, get_store
from services.common.tables import KnownStore
from services.common.who import known_as
from services.crm.callbacks import clerk
from services.crm.complaints.models import StaffMember
from services.crm.customer_base import repository
from services.crm.customer_base.models import BaseCar, BaseReassignment
from services.crm.customer_base.schemas import (
    AdvisorBase,
    AdvisorStatus,
    AdvisorSummary,
    BaseCarPublic,
    BaseOwner,
    LastVisit,
    MoveCar,
    Reassign,
    ReassignmentPublic,
    Share,
    StoreBaseSummary,
)
from services.crm.customers.models import RepairOrder
from services.crm.localtime import local_date, local_midnight, months_between, zone_of
from services.crm.who import columns

RETENTION_MONTHS = 12
ADVISOR_ROLE = "service_advisor"
# Who may hand bases over, and who may read any advisor's (an advisor reads their own).
MANAGERS = frozenset({"store_manager", "service_manager", "hq_admin", SYSTEM_ROLE})
READERS = MANAGERS | {"crm_agent"} | HQ_ROLES


# --- the rules ---------------------------------------------------------------------------

def retained_since(today: date) -> date:
    """The first day a last visit may fall on for the car to be retained on `today`: under
    twelve whole calendar months before it, counted as churn counts months (a visit on
    29 February 2024 is twelve months old on 28 February 2025)."""
    day = add_months(today, -RETENTION_MONTHS) + timedelta(days=1)
    while months_between(day, today) >= RETENTION_MONTHS:
        day += timedelta(days=1)
    return day


def is_retained(last_visit_day: date, today: date) -> bool:
    return last_visit_day >= retained_since(today)


def rate(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def split_evenly(cars: list[BaseCar], advisors: list[str], held: dict[str, int]) -> dict[str, list[BaseCar]]:
    """Deal the cars out like cards, retained ones first and the latest visit first, to the
    advisors holding the fewest cars first: each gets as many as any other, give or take one,
    and about as many retained ones."""
    order = sorted(advisors, key=lambda a: (held.get(a, 0), a))
    shares: dict[str, list[BaseCar]] = {a: [] for a in order}
    for i, car in enumerate(cars):
        shares[order[i % len(order)]].append(car)
    return shares


def advisor_status(person: StaffMember | None, store_id: str) -> AdvisorStatus:
    if person is None:
        return "unknown"
    if person.status != "active":
        return "left"
    if is_advisor_in(person, store_id):
        return "active"
    return "not_an_advisor"


def is_advisor_in(person: StaffMember, store_id: str) -> bool:
    return person.status == "active" and any(
        a.get("store_id") == store_id and a.get("role") == ADVISOR_ROLE for a in person.assignments or [])


@dataclass(frozen=True)
class Day:
    """A store's day and where retention starts on it."""

    today: date
    retained_since: date
    retained_from: datetime  # retained_since's midnight in the store, as UTC


async def day_of(session: AsyncSession, store_id: str, now: datetime) -> Day:
    zone = await zone_of(session, store_id)
    today = local_date(now, zone)
    since = retained_since(today)
    return Day(today, since, local_midnight(since, zone))


# --- from reception's repair orders -------------------------------------------------------

async def visit(session: AsyncSession, order: RepairOrder, now: datetime, *, delivered: bool) -> None:
    """A repair order opened or delivered: the car is in the base of the advisor who served
    its latest visit. An event about an older visit, or the same one again, changes nothing;
    of one visit, the delivery's advisor is the one who served it."""
    if not order.vin or not order.customer_id or not order.advisor_id or order.opened_at is None:
        return
    car = await repository.car(session, order.store_id, order.vin)
    advisor, name = order.advisor_id, order.advisor_name
    if car is None:
        car = BaseCar(id=new_id(), store_id=order.store_id, vin=order.vin, advisor_id=advisor, advisor_name=name,
                      customer_id=order.customer_id, last_visit_at=order.opened_at, last_repair_order_id=order.id,
                      last_served_by=advisor, last_served_by_name=name, came_by="served", since=order.opened_at,
                      updated_at=now)
        session.add(car)
        await announce(session, order.store_id, advisor, name, now, gained=1)
        return
    if car.last_repair_order_id == order.id:
        if not delivered or car.came_by != "served" or car.advisor_id == advisor:
            return  # the same visit told again (or its opening, late); or a car the manager has given away since
        # Reception moved the order to another advisor before it was done.
        before, before_name = car.advisor_id, car.advisor_name
        car.advisor_id, car.advisor_name, car.since, car.updated_at = advisor, name, order.opened_at, now
        car.last_served_by, car.last_served_by_name = advisor, name
        session.add(car)
        await announce(session, order.store_id, before, before_name, now, lost=1)
        await announce(session, order.store_id, advisor, name, now, gained=1)
        return
    if order.opened_at <= car.last_visit_at:
        return  # an older visit arriving late
    day = await day_of(session, order.store_id, now)
    was_retained = car.last_visit_at >= day.retained_from
    before, before_name = car.advisor_id, car.advisor_name
    car.last_visit_at, car.last_repair_order_id = order.opened_at, order.id
    car.last_served_by, car.last_served_by_name = advisor, name
    car.customer_id, car.came_by, car.updated_at = order.customer_id, "served", now
    if before != advisor:
        car.advisor_id, car.advisor_name, car.since = advisor, name, order.opened_at
        session.add(car)
        await announce(session, order.store_id, before, before_name, now, lost=1)
        await announce(session, order.store_id, advisor, name, now, gained=1)
        return
    car.advisor_name = name or car.advisor_name
    session.add(car)
    if not was_retained and car.last_visit_at >= day.retained_from:
        # Back within the year: the same cars, one more of them retained.
        await announce(session, order.store_id, advisor, car.advisor_name, now)


async def preload(session: AsyncSession, events: list[rx.RepairOrderDelivered]) -> None:
    await repository.load_cars(session, {(e.store_id, e.vehicle.vin.strip().upper()) for e in events})


async def owner_changed(session: AsyncSession, store_id: str, vin: str, customer_id: str, now: datetime) -> None:
    """An ownership transfer: the car stays with its advisor, and its customer is the new owner."""
    car = await repository.car(session, store_id, vin)
    if car is not None and car.customer_id != customer_id:
        car.customer_id, car.updated_at = customer_id, now
        session.add(car)


async def announce(session: AsyncSession, store_id: str, advisor_id: str, advisor_name: str | None,
                   now: datetime, *, gained: int = 0, lost: int = 0) -> CustomerBaseChanged:
    """`crm.customer_base.changed` with the advisor's base as it stands after this transaction's changes."""
    day = await day_of(session, store_id, now)
    cars, retained = await repository.counts_as_written(session, store_id, advisor_id, day.retained_from)
    person = await repository.staff_member(session, advisor_id)
    event = CustomerBaseChanged(store_id=store_id, advisor_id=advisor_id,
                                advisor_name=(person.name if person and person.name else advisor_name),
                                vehicles=cars, retained=retained, gained=gained, lost=lost, counted_at=now)
    await emit(session, event, subject=advisor_id, store_id=store_id, time=now)
    return event


# --- the service manager's hand -------------------------------------------------------------

def _may_manage(principal: Principal) -> None:
    if principal.role not in MANAGERS:
        raise Forbidden(f"role {principal.role} may not reassign customer bases; the service manager does")


async def _advisor_of(session: AsyncSession, store_id: str, person_id: str, field: str) -> StaffMember:
    person = await repository.staff_member(session, person_id)
    if person is None or not is_advisor_in(person, store_id):
        raise ValidationFailed(field, "is not an active service advisor of this store")
    return person


async def reassign(session: AsyncSession, clock: Clock, principal: Principal, store_id: str,
                   data: Reassign) -> BaseReassignment:
    store = await get_store(session, acting_store_id(principal, store_id))
    _may_manage(principal)
    if data.split_evenly and data.to_person_id:
        raise ValidationFailed("split_evenly", "either name to_person_id or split evenly, not both")
    if not data.split_evenly and not data.to_person_id:
        raise ValidationFailed("to_person_id", "name the advisor who takes the base, or ask to split it evenly")
    if data.to_person_id == data.from_person_id:
        raise ValidationFailed("to_person_id", "is the advisor the base is taken from")
    now = clock.now()
    names: dict[str, str | None] = {}
    if data.to_person_id:
        names[data.to_person_id] = (await _advisor_of(session, store.id, data.to_person_id, "to_person_id")).name
        targets = [data.to_person_id]
    else:
        others = [p for p in await repository.active_staff(session)
                  if is_advisor_in(p, store.id) and p.person_id != data.from_person_id]
        if not others:
            raise Conflict("the store has no other active service advisor to share the base among",
                           rule="no_active_advisor")
        names.update({p.person_id: p.name for p in others})
        targets = sorted(names)
    cars = await repository.cars_of_advisor(session, store.id, data.from_person_id, lock=True)
    if not cars:
        raise ValidationFailed("from_person_id", "has no cars in this store's customer base")
    day = await day_of(session, store.id, now)
    cars.sort(key=lambda c: (c.last_visit_at < day.retained_from, -c.last_visit_at.timestamp(), c.vin))
    held = {a: n for a, (n, _) in (await repository.counts(session, store.id, day.retained_from)).items()}
    shares = split_evenly(cars, targets, held)
    return await _hand_over(session, principal, store.id, data.from_person_id, shares, names, now,
                            kind="whole_base", to_person_id=data.to_person_id)


async def move(session: AsyncSession, clock: Clock, principal: Principal, store_id: str,
               data: MoveCar) -> BaseReassignment:
    store = await get_store(session, acting_store_id(principal, store_id))
    _may_manage(principal)
    vin = data.vin.strip().upper()
    car = await repository.car(session, store.id, vin, lock=True)
    if car is None:
        raise NotFound("that car is in no customer base of this store")
    person = await _advisor_of(session, store.id, data.to_person_id, "to_person_id")
    if car.advisor_id == person.person_id:
        raise Conflict("the car is already in that advisor's base", rule="already_in_base")
    return await _hand_over(session, principal, store.id, car.advisor_id, {person.person_id: [car]},
                            {person.person_id: person.name}, clock.now(), kind="one_car",
                            to_person_id=person.person_id, vin=vin, from_name=car.advisor_name)


async def _hand_over(session: AsyncSession, principal: Principal, store_id: str, from_person_id: str,
                     shares: dict[str, list[BaseCar]], names: dict[str, str | None], now: datetime, *, kind: str,
                     to_person_id: str | None, vin: str | None = None,
                     from_name: str | None = None) -> BaseReassignment:
    came_by = "moved" if kind == "one_car" else "reassigned"
    moved = 0
    for advisor, cars in shares.items():
        for car in cars:
            from_name = from_name or car.advisor_name
            car.advisor_id, car.advisor_name, car.came_by, car.since, car.updated_at = (
                advisor, names.get(advisor), came_by, now, now)
            session.add(car)
            moved += 1
    record = BaseReassignment(
        id=new_id(), store_id=store_id, kind=kind, from_person_id=from_person_id, to_person_id=to_person_id, vin=vin,
        shares=[{"advisor_id": a, "advisor_name": names.get(a), "vehicles": len(c)} for a, c in shares.items()],
        vehicles=moved, reassigned_at=now, **columns("reassigned_by", principal))
    session.add(record)
    await announce(session, store_id, from_person_id, from_name, now, lost=moved)
    for advisor, cars in shares.items():
        if cars:
            await announce(session, store_id, advisor, names.get(advisor), now, gained=len(cars))
    return record


def reassignment_public(record: BaseReassignment) -> ReassignmentPublic:
    return ReassignmentPublic(
        id=record.id, store_id=record.store_id, kind=record.kind,
        from_person_id=record.from_person_id, to_person_id=record.to_person_id,
        split_evenly=record.kind == "whole_base" and record.to_person_id is None, vin=record.vin,
        vehicles=record.vehicles, shares=[Share.model_validate(s) for s in record.shares],
        reassigned_at=record.reassigned_at, reassigned_by=record.reassigned_by,
        reassigned_by_name=record.reassigned_by_name, reassigned_by_credential=record.reassigned_by_credential)


# --- reading it ------------------------------------------------------------------------------

async def store_summary(session: AsyncSession, principal: Principal, store_id: str, now: datetime
                        ) -> StoreBaseSummary:
    """Every advisor of the store with a base, or an active advisor there without one yet."""
    store = await get_store(session, acting_store_id(principal, store_id))
    if principal.role not in READERS:
        raise Forbidden(f"role {principal.role} may not read the store's customer bases")
    day = await day_of(session, store.id, now)
    counted = await repository.counts(session, store.id, day.retained_from)
    names = await repository.advisor_names(session, store.id)
    staff = {p.person_id: p for p in await repository.active_staff(session)}
    for person_id in counted.keys() - staff.keys():
        person = await repository.staff_member(session, person_id)
        if person is not None:
            staff[person_id] = person
    advisors = set(counted) | {p.person_id for p in staff.values() if is_advisor_in(p, store.id)}
    rows = []
    for advisor in advisors:
        person = staff.get(advisor)
        cars, kept = counted.get(advisor, (0, 0))
        status = advisor_status(person, store.id)
        rows.append(AdvisorSummary(
            advisor_id=advisor, advisor_name=(person.name if person and person.name else names.get(advisor)),
            status=status, awaiting_reassignment=cars > 0 and status in ("left", "not_an_advisor"),
            vehicles=cars, retained=kept, retention_rate=rate(kept, cars)))
    rows.sort(key=lambda r: (not r.awaiting_reassignment, -r.vehicles, r.advisor_name or "", r.advisor_id))
    total = sum(r.vehicles for r in rows)
    kept_total = sum(r.retained for r in rows)
    return StoreBaseSummary(store_id=store.id, counted_at=now, today=day.today, retained_since=day.retained_since,
                            vehicles=total, retained=kept_total, retention_rate=rate(kept_total, total),
                            advisors=rows)


async def advisor_base(session: AsyncSession, principal: Principal, person_id: str, store_id: str | None,
                       now: datetime, *, retained: bool | None, limit: int, cursor: str | None) -> AdvisorBase:
    # The role first, so that an advisor asking for someone else's base hears the same for
    # any id, known or not.
    if principal.role not in READERS and not (principal.role == ADVISOR_ROLE and person_id in known_as(principal)):
        raise Forbidden("an advisor reads their own customer base only")
    person = await repository.staff_member(session, person_id)
    if not principal.store_id and not store_id:
        # HQ need not name the store of an advisor who is known at one store only.
        known_at = set(person.store_ids if person else []) | await repository.stores_of_advisor(session, person_id)
        store_id = next(iter(known_at)) if len(known_at) == 1 else None
    store = await get_store(session, acting_store_id(principal, store_id))
    works_here = person is not None and store.id in (person.store_ids or [])
    if not works_here and store.id not in await repository.stores_of_advisor(session, person_id):
        raise NotFound("advisor not found")
    day = await day_of(session, store.id, now)
    cars, kept = (await repository.counts(session, store.id, day.retained_from, person_id)).get(person_id, (0, 0))
    rows, next_cursor = await repository.page(session, store.id, person_id, retained_from=day.retained_from,
                                              retained=retained, limit=limit, cursor=cursor)
    zone = await zone_of(session, store.id)
    items = []
    for car, vehicle, customer in rows:
        items.append(BaseCarPublic(
            vin=car.vin, plate=vehicle.plate if vehicle else None, model=vehicle.model if vehicle else None,
            owner=BaseOwner(customer_id=car.customer_id, name=customer.name if customer else None,
                            phone=customer.phone if customer else None),
            last_visit=LastVisit(at=car.last_visit_at, day=local_date(car.last_visit_at, zone),
                                 repair_order_id=car.last_repair_order_id, served_by=car.last_served_by,
                                 served_by_name=car.last_served_by_name),
            retained=car.last_visit_at >= day.retained_from,
            next_service=await clerk.next_service(session, car.vin, store.id, now),
            came_by=car.came_by,
            in_base_since=car.since))
    names = await repository.advisor_names(session, store.id)
    return AdvisorBase(
        advisor_id=person_id, advisor_name=(person.name if person and person.name else names.get(person_id)),
        store_id=store.id, status=advisor_status(person, store.id), today=day.today,
        retained_since=day.retained_since, vehicles=cars, retained=kept, retention_rate=rate(kept, cars),
        items=items, next_cursor=next_cursor)


# --- the daily snapshot ------------------------------------------------------------------------

async def daily_snapshot(session: AsyncSession, store: KnownStore, now: datetime) -> dict[str, int]:
    """Every advisor's base at the store, announced once a day: retention falls as the days
    pass without a visit, which changes nothing in the base itself."""
    day = await day_of(session, store.id, now)
    counted = await repository.counts(session, store.id, day.retained_from)
    names = await repository.advisor_names(session, store.id)
    for advisor in sorted(counted):
        await announce(session, store.id, advisor, names.get(advisor), now)
    return {"advisors": len(counted), "vehicles": sum(n for n, _ in counted.values()),
            "retained": sum(k for _, k in counted.values())}
