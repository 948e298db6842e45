"""Callbacks: the store calls every customer after pick-up (three days, one for club
members, inside its call windows), never through the advisor who served the order;
three unanswered attempts make the customer unreachable; the survey answers, checked
against data/survey.json, open a complaint per department the customer scored low."""
from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.clock import Clock
from services.common.errors import Conflict, DomainError, InvalidTransition, NotFound
from services.common.events.catalogue.crm import CallbackCompleted, CallbackUnreachable
from services.common.events.catalogue.reception import RepairOrderDelivered
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.stores import ensure_visible
from services.common.versioning import check_version
from services.common.who import Who, known_as
from services.crm.callbacks import clerk, planning, repository
from services.crm.callbacks.models import Callback, CallbackAttempt, Survey
from services.crm.callbacks.schemas import (
    AttemptPublic,
    CallbackCustomer,
    CallbackPublic,
    SurveyCreate,
    SurveyPublic,
)
from services.crm.complaints import repository as complaint_records
from services.crm.complaints import service as complaints
from services.crm.customers import repository as customers
from services.crm.customers.models import Customer
from services.crm.customers.service import default_preferences
from services.crm.localtime import zone_of


class InvalidSurvey(DomainError):
    """Every wrong answer at once, each naming its field (answers.<code>)."""

    status, type, title = 422, "validation", "Invalid input"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)


def _survey() -> dict:
    return reference.survey()


def questions() -> dict[str, dict]:
    return {q["code"]: q for q in _survey()["questions"]}


def _first(repair_order_id: str) -> str:
    return f"first:{repair_order_id}"


async def first_callback(session: AsyncSession, event: RepairOrderDelivered, customer: Customer, vin: str) -> Callback:
    rules = _survey()
    days = rules["due_days_after_delivery_club_member"] if customer.club_member else rules["due_days_after_delivery"]
    preferred = (customer.contact_preferences or {}).get("preferred_call_time")
    return await planning.open_callback(
        session, store_id=event.store_id, kind="first", origin_key=_first(event.repair_order_id),
        start=event.delivered_at, days=days, created_at=event.delivered_at, repair_order_id=event.repair_order_id,
        repair_order_number=event.number, customer_id=customer.id, vin=vin, advisor_id=event.advisor.id,
        due_at=await planning.due_on_day(session, event.store_id, event.delivered_at, days, preferred),
    )


async def preload_first_callbacks(session: AsyncSession, events: list[RepairOrderDelivered],
                                  orders_on_file: set[str]) -> None:
    """A batch's preload: the first callbacks of its deliveries' orders (`services.crm.batch`)."""
    # A first callback is written only with its delivered order (in the same transaction):
    # for an order there is no row of, there is no callback to look for.
    await repository.load_by_origin(
        session, {_first(e.repair_order_id) for e in events},
        none_of={_first(e.repair_order_id) for e in events if e.repair_order_id not in orders_on_file})


async def visible_callback(session: AsyncSession, principal: Principal, callback_id: str, *,
                           lock: bool = False) -> Callback:
    callback = await (repository.get_for_update if lock else repository.get)(session, callback_id)
    if callback is None:
        raise NotFound("callback not found")
    ensure_visible(principal, callback.store_id, "callback")
    return callback


def _may_call(principal: Principal, callback: Callback) -> None:
    # The order may name the advisor's person or, from before keys answered to their
    # person, the advisor's key: either is the same person calling.
    if callback.advisor_id and callback.advisor_id in known_as(principal):
        raise Conflict("the service advisor who served this order may not make its callback",
                       rule="advisor_may_not_call", advisor_id=callback.advisor_id)


def _must_be_pending(callback: Callback, action: str) -> None:
    if callback.status != "pending":
        raise InvalidTransition(callback.status, action)


def _event_fields(callback: Callback) -> dict:
    return dict(callback_id=callback.id, store_id=callback.store_id, repair_order_id=callback.repair_order_id,
                kind=callback.kind, due_at=callback.due_at)


async def record_attempt(session: AsyncSession, clock: Clock, principal: Principal, callback_id: str, outcome: str,
                         note: str, expected: int | None = None) -> Callback:
    callback = await visible_callback(session, principal, callback_id, lock=True)
    check_version(callback.version, expected)
    _must_be_pending(callback, "record an attempt")
    _may_call(principal, callback)
    now = clock.now()
    session.add(CallbackAttempt(id=new_id(), callback_id=callback.id, store_id=callback.store_id, outcome=outcome,
                                note=note, made_by=principal.id, made_by_name=principal.name or None,
                                made_by_credential=principal.credential or None, made_at=now))
    callback.attempts += 1
    if outcome == "reached":
        callback.reached_at = callback.reached_at or now
    else:
        # A wrong number is an unanswered call too: the number on file did not reach the customer.
        callback.unanswered += 1
        if callback.unanswered >= _survey()["max_attempts"]:
            callback.status, callback.unreachable_at = "unreachable", now
            await emit(session,
                       CallbackUnreachable(**_event_fields(callback), attempts=callback.attempts, marked_at=now,
                                           marked_by=principal.id, marked_by_name=principal.name or principal.id,
                                           marked_by_credential=principal.credential or None),
                       subject=callback.id, store_id=callback.store_id, time=now)
    callback.version += 1
    session.add(callback)
    await session.flush()
    return callback


def validate_answers(kind: str, answers: dict[str, int]) -> None:
    rules = _survey()
    low, high = rules["scale"]
    known = questions()
    errors = []
    for code, score in answers.items():
        if code not in known:
            errors.append({"field": f"answers.{code}", "message": "not a question of the survey"})
        elif not low <= score <= high:
            errors.append({"field": f"answers.{code}", "message": f"must be {low}..{high}"})
    # A follow-up only asks whether the customer is now satisfied.
    required = [c for c, q in known.items() if not q.get("optional")] if kind == "first" else ["overall"]
    for code in required:
        if code not in answers:
            errors.append({"field": f"answers.{code}", "message": "required"})
    if errors:
        raise InvalidSurvey(errors)


def low_answers(answers: dict[str, int]) -> dict[str, dict[str, int]]:
    """{department: {code: score}} of the answers at or below the low marks; overall has its own mark."""
    rules = _survey()
    known = questions()
    low: dict[str, dict[str, int]] = {}
    for code, score in answers.items():
        mark = rules["overall_low_score"] if code == "overall" else rules["low_score"]
        if score <= mark:
            low.setdefault(known[code]["department"], {})[code] = score
    return low


async def record_survey(session: AsyncSession, clock: Clock, principal: Principal, callback_id: str,
                        data: SurveyCreate, expected: int | None = None) -> Callback:
    callback = await visible_callback(session, principal, callback_id, lock=True)
    check_version(callback.version, expected)
    _must_be_pending(callback, "record a survey")
    _may_call(principal, callback)
    validate_answers(callback.kind, data.answers)
    extra = clerk.validate_extra_answers(data.extra_answers) if callback.kind == "first" else None
    now = clock.now()
    if callback.reached_at is None:
        # Answers mean the customer was reached, whether or not the agent logged the call first.
        session.add(CallbackAttempt(id=new_id(), callback_id=callback.id, store_id=callback.store_id, outcome="reached",
                                    note="survey recorded", made_by=principal.id,
                                    made_by_name=principal.name or None,
                                    made_by_credential=principal.credential or None, made_at=now))
        callback.attempts += 1
        callback.reached_at = now
    low = low_answers(data.answers) if callback.kind == "first" else {}
    survey = Survey(id=new_id(), callback_id=callback.id, store_id=callback.store_id, kind=callback.kind,
                    customer_id=callback.customer_id, repair_order_id=callback.repair_order_id,
                    complaint_id=callback.complaint_id, answers=dict(data.answers), overall=data.answers.get("overall"),
                    verbatim=data.verbatim, low_answers=low, extra_answers=extra, agent=principal.id,
                    agent_name=principal.name or None,
                    agent_credential=principal.credential or None, recorded_at=now)
    session.add(survey)
    callback.status, callback.completed_at, callback.completed_by = "completed", now, principal.id
    callback.completed_by_name, callback.completed_by_credential = principal.name or None, principal.credential or None
    callback.on_time = now <= callback.due_at
    callback.version += 1
    session.add(callback)
    await session.flush()
    await emit(session, CallbackCompleted(**_event_fields(callback), completed_at=now, agent=principal.id,
                                          agent_name=principal.name or principal.id,
                                          agent_credential=principal.credential or None,
                                          on_time=callback.on_time, answers=dict(data.answers), overall=survey.overall,
                                          attempts=callback.attempts),
               subject=callback.id, store_id=callback.store_id, time=now)
    if callback.kind == "first":
        await complaints.open_from_survey(session, callback, survey, now)
    elif callback.complaint_id:
        await complaints.follow_up_answered(session, callback.complaint_id, survey, now)
    return callback


async def cancel(session: AsyncSession, clock: Clock, principal: Principal, callback_id: str, reason: str,
                 expected: int | None = None) -> Callback:
    callback = await visible_callback(session, principal, callback_id, lock=True)
    check_version(callback.version, expected)
    _must_be_pending(callback, "cancel")
    _may_call(principal, callback)  # nor may the advisor make an unwelcome survey go away
    now = clock.now()
    callback.status, callback.cancelled_at, callback.cancel_reason = "cancelled", now, reason
    callback.version += 1
    session.add(callback)
    await session.flush()
    return callback


async def list_callbacks(session: AsyncSession, principal: Principal, *, store_id: str | None, status: str | None,
                         kind: str | None, due_before: datetime | None, repair_order_id: str | None,
                         customer_id: str | None, complaint_id: str | None, limit: int, cursor: str | None):
    # A store's caller sees its own callbacks, whatever store it names; HQ the one it names, or all.
    return await repository.page(session, store_id=principal.store_id or store_id, status=status, kind=kind,
                                 due_before=due_before, repair_order_id=repair_order_id, customer_id=customer_id,
                                 complaint_id=complaint_id, limit=limit, cursor=cursor)


async def to_public(session: AsyncSession, callbacks: list[Callback], now: datetime) -> list[CallbackPublic]:
    ids = [c.id for c in callbacks]
    attempts: dict[str, list[AttemptPublic]] = {i: [] for i in ids}
    for a in await repository.attempts_of(session, ids):
        attempts[a.callback_id].append(AttemptPublic(
            id=a.id, outcome=a.outcome, note=a.note, made_by=a.made_by,
            made_by_person=Who.stored(a.made_by, a.made_by_name, a.made_by_credential), made_at=a.made_at))
    surveys = {s.callback_id: s for s in await repository.surveys_of(session, ids)}
    opened: dict[str, list[str]] = {}
    for complaint in sorted(await complaint_records.opened_from_callbacks(session, ids), key=lambda c: c.id):
        assert complaint.callback_id is not None  # found by their callbacks' ids
        opened.setdefault(complaint.callback_id, []).append(complaint.id)
    people = await customers.customers_by_id(session, {c.customer_id for c in callbacks if c.customer_id})
    zones = {}
    for store_id in {c.store_id for c in callbacks}:
        zones[store_id] = await zone_of(session, store_id)
    out = []
    for c in callbacks:
        person = people.get(c.customer_id or "")
        survey = surveys.get(c.id)
        answered = SurveyPublic(
            answers=survey.answers, overall=survey.overall, verbatim=survey.verbatim, low_answers=survey.low_answers,
            extra_answers=survey.extra_answers,
            complaints_opened=opened.get(c.id, []), agent=survey.agent,
            agent_person=Who.stored(survey.agent, survey.agent_name, survey.agent_credential),
            recorded_at=survey.recorded_at,
        ) if survey else None
        out.append(CallbackPublic(
            id=c.id, store_id=c.store_id, kind=c.kind, repair_order_id=c.repair_order_id,
            repair_order_number=c.repair_order_number, complaint_id=c.complaint_id, customer_id=c.customer_id,
            customer=CallbackCustomer(
                id=person.id, name=person.name, phone=person.phone, club_member=person.club_member,
                preferred_call_time=(person.contact_preferences or default_preferences()).get("preferred_call_time"),
            ) if person else None,
            vin=c.vin, advisor_id=c.advisor_id, due_at=c.due_at,
            due_at_local=c.due_at.astimezone(zones[c.store_id]).isoformat(),
            overdue=c.status == "pending" and now > c.due_at, status=c.status, attempts=attempts[c.id],
            unanswered_attempts=c.unanswered, survey=answered,
            completed_at=c.completed_at, completed_by=c.completed_by, on_time=c.on_time,
            completed_by_person=(Who.stored(c.completed_by, c.completed_by_name, c.completed_by_credential)
                                 if c.completed_by else None),
            unreachable_at=c.unreachable_at,
            cancelled_at=c.cancelled_at, cancel_reason=c.cancel_reason, created_at=c.created_at, version=c.version,
            script=clerk.member_script(person),
            extra_questions=list(clerk.extra_questions().values()) if c.kind == "first" else [],
            next_service=await clerk.next_service(session, c.vin, c.store_id, now) if c.status == "pending" else None,
        ))
    return out

