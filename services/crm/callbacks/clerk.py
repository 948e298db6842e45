"""The information clerk's day beyond the survey callback (job descriptions 篇19二(一)-(二)).

- The 7-day tracking call after handover, with its short script and result
  (data/call_scripts.json), made with every delivered order.
- A week after a maintenance invitation was sent, a call if nothing was booked
  (the `invitation_follow_up` daily job); a booking since cancels the call.
- On every call the car's next service (item, date, km) from the maintenance policy and
  the car's history, and its booking on the spot: CRM keeps the offer and hands back the
  body of reception's POST /v1/appointments. CRM calls no service and reception hears
  nothing from CRM (events flow reception -> CRM only), so the booking is made through
  reception's API; its `appointment.booked` for the VIN marks the offer booked.
- A return repair reported on a call goes to the service manager (a list, and
  `crm.return_repair.reported`); the car's next repair order links it as the comeback.
- Club members get the member script; their suggestions are kept and listed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.clock import Clock
from services.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.crm import ReturnRepairCameBack, ReturnRepairReported
from services.common.events.catalogue.reception import RepairOrderDelivered, RepairOrderOpened
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.stores import active_store, ensure_visible
from services.common.tables import KnownStore
from services.common.versioning import check_version
from services.crm.callbacks import planning, repository, windows
from services.crm.callbacks.clerk_schemas import (
    BookingOfferPublic,
    CallTaskPublic,
    CallWindowsPublic,
    NextService,
    ReturnRepairPublic,
    ScriptLine,
    SuggestionPublic,
    WindowIn,
)
from services.crm.callbacks.models import (
    BookingOffer,
    CallTask,
    MemberSuggestion,
    ReturnRepair,
    StoreCallWindows,
)
from services.crm.customers import repository as customers
from services.crm.customers.models import Customer
from services.crm.localtime import local_date, zone_of
from services.crm.reminders import service as reminders
from services.crm.who import columns

# An overdue milestone is still the next service; a year past it the schedule has moved on.
NEXT_SERVICE_LOOKBACK_DAYS = 366
TASK_KINDS = ("tracking", "invitation_follow_up")


def scripts() -> dict:
    return reference.load("call_scripts")


def extra_questions() -> dict[str, dict]:
    return {q["code"]: q for q in reference.load("survey_extra_questions")["questions"]}


def _lines(rows: list[dict]) -> list[ScriptLine]:
    return [ScriptLine(zh=r["zh"], en=r["en"]) for r in rows]


def member_script(customer: Customer | None) -> list[ScriptLine]:
    return _lines(scripts()["member_script"]) if customer is not None and customer.club_member else []


def results_of(kind: str) -> list[dict[str, str]]:
    section = "tracking_call" if kind == "tracking" else "invitation_follow_up"
    return list(scripts()[section]["results"])


def validate_extra_answers(answers: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    """Choices for data/survey_extra_questions.json; every wrong one is 422 naming `extra_answers.<code>`."""
    if answers is None:
        return None
    known = extra_questions()
    for code, picked in answers.items():
        field = f"extra_answers.{code}"
        question = known.get(code)
        if question is None:
            raise ValidationFailed(field, "not a question of data/survey_extra_questions.json")
        choices = {c["code"] for c in question["choices"]}
        if not picked:
            raise ValidationFailed(field, "at least one choice")
        if len(set(picked)) != len(picked):
            raise ValidationFailed(field, "a choice is given twice")
        if len(picked) > 1 and not question.get("multiple"):
            raise ValidationFailed(field, "one choice only")
        wrong = [p for p in picked if p not in choices]
        if wrong:
            raise ValidationFailed(field, f"unknown choice {wrong[0]}; one of {', '.join(sorted(choices))}")
    return {code: list(picked) for code, picked in answers.items()}


# --- call windows ----------------------------------------------------------------------

async def call_windows(session: AsyncSession, principal: Principal, store_id: str) -> CallWindowsPublic:
    ensure_visible(principal, store_id, "store")
    if await session.get(KnownStore, store_id) is None:
        raise NotFound("store not found")
    own = await repository.store_windows(session, store_id)
    if own is None:
        return CallWindowsPublic(store_id=store_id, windows=[w.as_dict() for w in windows.defaults()], source="default")
    return CallWindowsPublic(store_id=store_id, windows=[w.as_dict() for w in windows.parse(own.windows)],
                             source="store", updated_at=own.updated_at, updated_by=own.updated_by,
                             updated_by_name=own.updated_by_name, updated_by_credential=own.updated_by_credential)


async def set_call_windows(session: AsyncSession, clock: Clock, principal: Principal, store_id: str,
                           rows: list[WindowIn]) -> CallWindowsPublic:
    """The store's own windows; they apply to callbacks made from now on (those made keep their due time)."""
    store = await active_store(session, principal, store_id)
    parsed = windows.parse([r.model_dump(exclude_none=True) for r in rows])
    own = await repository.store_windows(session, store.id)
    if own is None:
        own = StoreCallWindows(store_id=store.id, updated_at=clock.now(), updated_by=principal.id)
    own.windows = [w.as_dict() for w in parsed]
    own.updated_at, own.updated_by = clock.now(), principal.id
    own.updated_by_name, own.updated_by_credential = principal.name or principal.id, principal.credential or None
    session.add(own)
    await session.flush()
    return await call_windows(session, principal, store.id)


# --- the next service --------------------------------------------------------------------

async def next_service(session: AsyncSession, vin: str | None, store_id: str, now: datetime) -> NextService | None:
    """The car's next first or periodic maintenance, worked out as the reminders are."""
    if not vin:
        return None
    vehicle = await customers.vehicle(session, vin)
    if vehicle is None:
        return None
    zone = await zone_of(session, store_id)
    today = local_date(now, zone)
    readings = [(local_date(at, zone), km) for at, km in await customers.mileage_readings(session, vin)]
    meter = reminders.odometer(readings, vehicle.sold_at)
    delivered = await customers.delivered_orders_of_vehicle(session, vin)
    milestone = reminders.next_milestone(reminders.schedule(vehicle, delivered, meter, zone), today,
                                         NEXT_SERVICE_LOOKBACK_DAYS)
    if milestone is None:
        return None
    operation = reference.labor_operations().get(milestone.op_code, {})
    item_zh = "首次保养" if milestone.kind == "first_maintenance" else "定期保养"
    offers = await repository.offers_for_vin(session, vin, open_only=False)
    latest = offers[-1] if offers else None
    return NextService(
        op_code=milestone.op_code, item_zh=item_zh, item_en=operation.get("description", milestone.kind),
        kind=milestone.kind, due_on=milestone.due_on, due_km=milestone.due_km,
        projected_km=meter.on(milestone.due_on), overdue=milestone.due_on < today, reason=milestone.reason,
        booking=({"offer_id": latest.id, "scheduled_at": latest.scheduled_at.isoformat(),
                  "appointment_id": latest.appointment_id} if latest is not None else None),
    )


# --- what a call is about --------------------------------------------------------------

@dataclass(frozen=True)
class OnCall:
    """The customer, car and order a call is about, whichever kind of call it is."""

    via: str
    store_id: str
    customer_id: str | None
    vin: str | None
    repair_order_id: str | None
    repair_order_number: str | None


async def on_callback(session: AsyncSession, principal: Principal, callback_id: str) -> OnCall:
    callback = await repository.get(session, callback_id)
    if callback is None:
        raise NotFound("callback not found")
    ensure_visible(principal, callback.store_id, "callback")
    return OnCall(f"callback:{callback.id}", callback.store_id, callback.customer_id, callback.vin,
                  callback.repair_order_id, callback.repair_order_number)


async def on_task(session: AsyncSession, principal: Principal, task_id: str) -> OnCall:
    task = await visible_task(session, principal, task_id)
    return OnCall(f"call:{task.id}", task.store_id, task.customer_id, task.vin, task.repair_order_id,
                  task.repair_order_number)


# --- tracking calls and invitation follow-ups -----------------------------------------------

def _tracking(repair_order_id: str) -> str:
    return f"tracking:{repair_order_id}"


async def tracking_call(session: AsyncSession, event: RepairOrderDelivered, customer: Customer, vin: str) -> CallTask:
    origin = _tracking(event.repair_order_id)
    existing = await repository.task_by_origin(session, origin)
    if existing is not None:
        return existing
    days = scripts()["tracking_call"]["days_after_delivery"]
    preferred = (customer.contact_preferences or {}).get("preferred_call_time")
    task = CallTask(
        id=new_id(), store_id=event.store_id, kind="tracking", origin_key=origin, customer_id=customer.id, vin=vin,
        repair_order_id=event.repair_order_id, repair_order_number=event.number, advisor_id=event.advisor.id,
        due_at=await planning.due_on_day(session, event.store_id, event.delivered_at, days, preferred),
        status="pending", created_at=event.delivered_at,
    )
    session.add(task)
    return task


async def preload_tracking_calls(session: AsyncSession, events: list[RepairOrderDelivered],
                                 orders_on_file: set[str]) -> None:
    """A batch's preload: the tracking calls of its deliveries' orders (`services.crm.batch`)."""
    # Made with the delivered order, in its transaction: an order not on file has none.
    await repository.load_tasks_by_origin(
        session, {_tracking(e.repair_order_id) for e in events},
        none_of={_tracking(e.repair_order_id) for e in events if e.repair_order_id not in orders_on_file})


async def invitation_follow_ups(session: AsyncSession, store: KnownStore, now: datetime) -> dict[str, int]:
    """A call a week after each invitation sent in writing that nobody booked; a booking
    since cancels a call still to make."""
    days = scripts()["invitation_follow_up"]["days_after_letter"]
    made = cancelled = 0
    for reminder in await repository.invitations_sent_before(session, store.id, now - timedelta(days=days)):
        if reminder.channel == "phone":
            continue  # the invitation was itself a call
        origin = f"invitation:{reminder.id}"
        if await repository.task_by_origin(session, origin) is not None:
            continue
        session.add(CallTask(
            id=new_id(), store_id=store.id, kind="invitation_follow_up", origin_key=origin,
            customer_id=reminder.customer_id, vin=reminder.vin, reminder_id=reminder.id,
            due_at=await planning.due_time(session, store.id, now, 0), status="pending", created_at=now,
        ))
        made += 1
    await session.flush()
    pending = await repository.pending_invitation_tasks(session, store.id)
    invitations = await repository.reminders_by_id(session, {t.reminder_id for t in pending if t.reminder_id})
    for task in pending:
        invitation = invitations.get(task.reminder_id or "")
        if invitation is not None and invitation.status == "converted":
            task.status, task.done_at, task.done_by = "cancelled", now, "system"
            task.note = f"booked since the invitation ({invitation.converted_by})"
            task.version += 1
            session.add(task)
            cancelled += 1
    await session.flush()
    return {"made": made, "cancelled": cancelled}


async def visible_task(session: AsyncSession, principal: Principal, task_id: str, *, lock: bool = False) -> CallTask:
    task = await repository.task(session, task_id, lock=lock)
    if task is None:
        raise NotFound("call not found")
    ensure_visible(principal, task.store_id, "call")
    return task


async def record_result(session: AsyncSession, clock: Clock, principal: Principal, task_id: str, result: str,
                        note: str, expected: int | None = None) -> CallTask:
    task = await visible_task(session, principal, task_id, lock=True)
    check_version(task.version, expected)
    if task.status != "pending":
        raise InvalidTransition(task.status, "record a result")
    allowed = [r["code"] for r in results_of(task.kind)]
    if result not in allowed:
        raise ValidationFailed("result", f"one of {', '.join(allowed)}")
    now = clock.now()
    task.status, task.result, task.note = "done", result, note
    task.done_at, task.done_by, task.done_by_name = now, principal.id, principal.name or principal.id
    task.done_by_credential = principal.credential or None
    task.version += 1
    session.add(task)
    await session.flush()
    return task


async def list_tasks(session: AsyncSession, principal: Principal, *, store_id: str | None, kind: str | None,
                     status: str | None, due_before: datetime | None, customer_id: str | None, limit: int,
                     cursor: str | None):
    return await repository.tasks_page(session, store_id=principal.store_id or store_id, kind=kind, status=status,
                                       due_before=due_before, customer_id=customer_id, limit=limit, cursor=cursor)


async def tasks_public(session: AsyncSession, tasks: list[CallTask], now: datetime) -> list[CallTaskPublic]:
    people = await customers.customers_by_id(session, {t.customer_id for t in tasks if t.customer_id})
    invitations = await repository.reminders_by_id(session, {t.reminder_id for t in tasks if t.reminder_id})
    out = []
    for t in tasks:
        person = people.get(t.customer_id or "")
        zone = await zone_of(session, t.store_id)
        if t.kind == "tracking":
            script = _lines(scripts()["tracking_call"]["script"])
        else:
            script = _lines(scripts()["invitation_follow_up"]["script"])
        invitation = invitations.get(t.reminder_id or "")
        out.append(CallTaskPublic(
            id=t.id, store_id=t.store_id, kind=t.kind, customer_id=t.customer_id,
            customer_name=person.name if person else None, phone=person.phone if person else None,
            club_member=bool(person and person.club_member), vin=t.vin, repair_order_id=t.repair_order_id,
            repair_order_number=t.repair_order_number, reminder_id=t.reminder_id, due_at=t.due_at,
            due_at_local=t.due_at.astimezone(zone).isoformat(), overdue=t.status == "pending" and now > t.due_at,
            status=t.status, result=t.result, note=t.note, done_at=t.done_at, done_by=t.done_by,
            done_by_name=t.done_by_name, done_by_credential=t.done_by_credential,
            script=script + member_script(person), results=results_of(t.kind),
            next_service=await next_service(session, t.vin or (invitation.vin if invitation else None), t.store_id,
                                            now),
            created_at=t.created_at, version=t.version,
        ))
    return out


# --- booking the next service on the call ---------------------------------------------------

async def offer_booking(session: AsyncSession, clock: Clock, principal: Principal, call: OnCall,
                        scheduled_at: datetime, note: str | None) -> BookingOfferPublic:
    now = clock.now()
    if scheduled_at <= now:
        raise ValidationFailed("scheduled_at", "is in the past")
    upcoming = await next_service(session, call.vin, call.store_id, now)
    if upcoming is None or call.vin is None:
        raise Conflict("CRM knows no next service for this car (no sale date and no visit)", rule="no_next_service")
    offer = BookingOffer(
        id=new_id(), store_id=call.store_id, customer_id=call.customer_id, vin=call.vin, via=call.via,
        op_code=upcoming.op_code,
        service_type="first_maintenance" if upcoming.kind == "first_maintenance" else "maintenance",
        scheduled_at=scheduled_at, offered_at=now, **columns("offered_by", principal),
    )
    session.add(offer)
    await session.flush()
    return await offer_public(session, offer, note)


async def offer_public(session: AsyncSession, offer: BookingOffer, note: str | None = None) -> BookingOfferPublic:
    person = await customers.customer(session, offer.customer_id) if offer.customer_id else None
    vehicle = await customers.vehicle(session, offer.vin)
    request = {
        "customer": {"name": person.name, "phone": person.phone} if person else None,
        "vehicle": {k: v for k, v in {
            "vin": offer.vin, "plate": vehicle.plate if vehicle else None, "model": vehicle.model if vehicle else None,
            "sold_at": vehicle.sold_at.isoformat() if vehicle and vehicle.sold_at else None}.items() if v is not None},
        "service_type": offer.service_type,
        "scheduled_at": offer.scheduled_at.isoformat(),
        "note": note or f"booked on the call ({offer.via}): {offer.op_code}",
    }
    return BookingOfferPublic(
        id=offer.id, store_id=offer.store_id, vin=offer.vin, customer_id=offer.customer_id, via=offer.via,
        op_code=offer.op_code, service_type=offer.service_type, scheduled_at=offer.scheduled_at,
        offered_at=offer.offered_at, offered_by=offer.offered_by, offered_by_name=offer.offered_by_name,
        offered_by_credential=offer.offered_by_credential, appointment_id=offer.appointment_id,
        booked_at=offer.booked_at, appointment_request=request,
    )


async def booked(session: AsyncSession, vin: str, appointment_id: str, at: datetime) -> int:
    """Reception booked the VIN: offers made before it are booked by that appointment."""
    taken = 0
    for offer in await repository.offers_for_vin(session, vin.strip().upper(), open_only=True):
        if offer.offered_at <= at:
            offer.appointment_id, offer.booked_at = appointment_id, at
            session.add(offer)
            taken += 1
    return taken


# --- return repairs ----------------------------------------------------------------------

def _return_fields(row: ReturnRepair) -> dict:
    return dict(return_repair_id=row.id, store_id=row.store_id, vin=row.vin, customer_id=row.customer_id,
                repair_order_id=row.repair_order_id)


async def report_return_repair(session: AsyncSession, clock: Clock, principal: Principal, call: OnCall,
                               description: str) -> ReturnRepair:
    if call.vin is None:
        raise Conflict("this call names no car", rule="no_vehicle")
    now = clock.now()
    row = ReturnRepair(id=new_id(), store_id=call.store_id, customer_id=call.customer_id, vin=call.vin,
                       repair_order_id=call.repair_order_id, repair_order_number=call.repair_order_number,
                       reported_via=call.via, description=description, status="reported", reported_at=now,
                       **columns("reported_by", principal))
    session.add(row)
    await session.flush()
    await emit(session, ReturnRepairReported(**_return_fields(row), description=description, reported_via=call.via,
                                             reported_at=now, **columns("reported_by", principal)),
               subject=row.id, store_id=row.store_id, time=now)
    return row


async def car_came_back(session: AsyncSession, event: RepairOrderOpened) -> int:
    """A new repair order for the VIN is the comeback of every return repair reported before it."""
    linked = 0
    for row in await repository.reported_return_repairs(session, event.vehicle.vin.strip().upper()):
        if row.repair_order_id == event.repair_order_id or row.reported_at > event.opened_at:
            continue
        row.status, row.comeback_repair_order_id, row.came_back_at = "came_back", event.repair_order_id, event.opened_at
        session.add(row)
        await emit(session, ReturnRepairCameBack(**_return_fields(row), comeback_repair_order_id=event.repair_order_id,
                                                 came_back_at=event.opened_at),
                   subject=row.id, store_id=row.store_id, time=event.opened_at)
        linked += 1
    return linked


async def list_return_repairs(session: AsyncSession, principal: Principal, *, store_id: str | None,
                              status: str | None, vin: str | None, limit: int, cursor: str | None):
    return await repository.return_repairs_page(session, store_id=principal.store_id or store_id, status=status,
                                                vin=vin.strip().upper() if vin else None, limit=limit, cursor=cursor)


async def return_repairs_public(session: AsyncSession, rows: list[ReturnRepair]) -> list[ReturnRepairPublic]:
    people = await customers.customers_by_id(session, {r.customer_id for r in rows if r.customer_id})
    out = []
    for r in rows:
        person = people.get(r.customer_id or "")
        out.append(ReturnRepairPublic(
            id=r.id, store_id=r.store_id, customer_id=r.customer_id, customer_name=person.name if person else None,
            phone=person.phone if person else None, vin=r.vin, repair_order_id=r.repair_order_id,
            repair_order_number=r.repair_order_number, reported_via=r.reported_via, description=r.description,
            status=r.status, reported_at=r.reported_at, reported_by=r.reported_by,
            reported_by_name=r.reported_by_name, reported_by_credential=r.reported_by_credential,
            comeback_repair_order_id=r.comeback_repair_order_id, came_back_at=r.came_back_at))
    return out


# --- club members' suggestions ---------------------------------------------------------------

async def record_suggestion(session: AsyncSession, clock: Clock, principal: Principal, call: OnCall,
                            text: str) -> MemberSuggestion:
    person = await customers.customer(session, call.customer_id) if call.customer_id else None
    if person is None or not person.club_member:
        raise Conflict("suggestions are kept for club members; this customer is not one", rule="not_a_club_member")
    row = MemberSuggestion(id=new_id(), store_id=call.store_id, customer_id=person.id, via=call.via, text=text,
                           recorded_at=clock.now(), **columns("recorded_by", principal))
    session.add(row)
    await session.flush()
    return row


async def list_suggestions(session: AsyncSession, principal: Principal, *, store_id: str | None,
                           customer_id: str | None, since: datetime | None, until: datetime | None, limit: int,
                           cursor: str | None):
    return await repository.suggestions_page(session, store_id=principal.store_id or store_id,
                                             customer_id=customer_id, since=since, until=until, limit=limit,
                                             cursor=cursor)


async def suggestions_public(session: AsyncSession, rows: list[MemberSuggestion]) -> list[SuggestionPublic]:
    people = await customers.customers_by_id(session, {r.customer_id for r in rows})
    return [SuggestionPublic(id=r.id, store_id=r.store_id, customer_id=r.customer_id,
                             customer_name=people[r.customer_id].name if r.customer_id in people else None,
                             via=r.via, text=r.text, recorded_at=r.recorded_at, recorded_by=r.recorded_by,
                             recorded_by_name=r.recorded_by_name, recorded_by_credential=r.recorded_by_credential)
            for r in rows]
