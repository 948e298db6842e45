"""Complaints: every one has a deadline (48 hours for high and critical, five days
otherwise) and, once assigned, an owner. A critical complaint goes to HQ at once, any
other when it passes its deadline unresolved, each reason once. Resolving one books a
follow-up call two days later; only a satisfied customer (overall 4 or 5) closes it,
anything less reopens it with a fresh deadline."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.clock import Clock
from services.common.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.crm import ComplaintClosed, ComplaintEscalated, ComplaintOpened
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.staff import PersonEvent, refusal, take_person_event
from services.common.stores import active_store, ensure_visible
from services.common.versioning import check_version
from services.common.who import known_as
from services.crm.callbacks import planning
from services.crm.callbacks.models import Callback, Survey
from services.crm.complaints import repository
from services.crm.complaints.models import Complaint, ComplaintEscalation, ComplaintStep, StaffMember
from services.crm.complaints.schemas import ComplaintCreate, ComplaintPublic, EscalationPublic, StepPublic
from services.crm.customers import repository as customers

DEADLINE = {"critical": timedelta(hours=48), "high": timedelta(hours=48), "medium": timedelta(days=5),
            "low": timedelta(days=5)}
FOLLOW_UP_AFTER_DAYS = 2
SATISFIED_FROM = 4
SYSTEM = "system"


def departments() -> list[str]:
    return sorted({q["department"] for q in reference.survey()["questions"]})


def _fields(complaint: Complaint) -> dict:
    return dict(complaint_id=complaint.id, store_id=complaint.store_id, department=complaint.department,
                severity=complaint.severity, repair_order_id=complaint.repair_order_id,
                customer_id=complaint.customer_id)


def _step(session: AsyncSession, complaint: Complaint, action: str, at: datetime, by: str, note: str = "", *,
          by_name: str | None = None, by_credential: str | None = None) -> None:
    session.add(ComplaintStep(id=new_id(), complaint_id=complaint.id, store_id=complaint.store_id, action=action,
                              status=complaint.status, due_at=complaint.due_at, at=at, by=by, by_name=by_name,
                              by_credential=by_credential, note=note))


def _who(principal: Principal) -> dict[str, str | None]:
    """A step's who-fields for a caller: the person, their name and the key or sign-in used."""
    return {"by_name": principal.name or principal.id, "by_credential": principal.credential or None}


def _agent(survey: Survey) -> dict[str, str | None]:
    """A step's who-fields for what a survey's answers did: the agent who recorded them."""
    return {"by_name": survey.agent_name or survey.agent, "by_credential": survey.agent_credential}


async def _open(session: AsyncSession, *, store_id: str, source: str, department: str, severity: str,
                description: str, at: datetime, by: str, by_name: str | None, by_credential: str | None,
                verbatim: str | None = None, customer_id: str | None = None, repair_order_id: str | None = None,
                callback_id: str | None = None, origin_key: str | None = None) -> Complaint:
    complaint = Complaint(
        id=new_id(), store_id=store_id, source=source, origin_key=origin_key, callback_id=callback_id,
        customer_id=customer_id, repair_order_id=repair_order_id, department=department, severity=severity,
        description=description, verbatim=verbatim, status="open", due_at=at + DEADLINE[severity], opened_at=at,
        opened_by=by, opened_by_name=by_name, opened_by_credential=by_credential, updated_at=at,
    )
    session.add(complaint)
    await session.flush()
    _step(session, complaint, "opened", at, by, by_name=by_name, by_credential=by_credential)
    await emit(session, ComplaintOpened(**_fields(complaint), source=source, due_at=complaint.due_at, opened_at=at,
                                        opened_by=by, opened_by_name=by_name, opened_by_credential=by_credential),
               subject=complaint.id, store_id=store_id, time=at)
    if severity == "critical":
        await escalate(session, complaint, "critical", at)
    return complaint


async def escalate(session: AsyncSession, complaint: Complaint, reason: str, at: datetime) -> bool:
    """Tell HQ, once per complaint and reason; False when it was told already."""
    if await repository.escalation(session, complaint.id, reason) is not None:
        return False
    session.add(ComplaintEscalation(id=new_id(), complaint_id=complaint.id, store_id=complaint.store_id, reason=reason,
                                    escalated_at=at))
    complaint.escalated = True
    session.add(complaint)
    _step(session, complaint, "escalated", at, SYSTEM, reason)
    await emit(session,
               ComplaintEscalated(**_fields(complaint), reason=reason, due_at=complaint.due_at, escalated_at=at),
               subject=complaint.id, store_id=complaint.store_id, time=at)
    return True


def _severity_for(lowest: int) -> str:
    return {1: "high", 2: "medium"}.get(lowest, "low")


async def open_from_survey(session: AsyncSession, callback: Callback, survey: Survey, at: datetime) -> list[Complaint]:
    opened = []
    for department, scores in sorted(survey.low_answers.items()):
        origin = f"survey:{callback.id}:{department}"
        if await repository.by_origin(session, origin) is not None:
            continue
        order = callback.repair_order_number or callback.repair_order_id or "-"
        answered = ", ".join(f"{code} {score}/5" for code, score in sorted(scores.items()))
        opened.append(await _open(
            session, store_id=callback.store_id, source="survey", department=department,
            severity=_severity_for(min(scores.values())),
            description=f"Low survey answers after repair order {order}: {answered}", at=at, by=survey.agent,
            by_name=survey.agent_name or survey.agent, by_credential=survey.agent_credential,
            verbatim=survey.verbatim, customer_id=callback.customer_id, repair_order_id=callback.repair_order_id,
            callback_id=callback.id, origin_key=origin,
        ))
    return opened


async def follow_up_answered(session: AsyncSession, complaint_id: str, survey: Survey,
                             at: datetime) -> Complaint | None:
    complaint = await repository.get_for_update(session, complaint_id)
    if complaint is None or complaint.status != "resolved":
        return complaint
    overall = survey.overall or 0
    if overall >= SATISFIED_FROM:
        complaint.status, complaint.closed_at = "closed", at
        _step(session, complaint, "closed", at, survey.agent, f"follow-up overall {overall}", **_agent(survey))
        await emit(session, ComplaintClosed(**_fields(complaint), resolution=complaint.resolution or "",
                                            opened_at=complaint.opened_at, closed_at=at, closed_by=survey.agent,
                                            closed_by_name=survey.agent_name or survey.agent,
                                            closed_by_credential=survey.agent_credential),
                   subject=complaint.id, store_id=complaint.store_id, time=at)
    else:
        complaint.status = "assigned" if complaint.owner else "open"
        complaint.due_at = at + DEADLINE[complaint.severity]
        complaint.reopened += 1
        _step(session, complaint, "reopened", at, survey.agent, f"follow-up overall {overall}", **_agent(survey))
    complaint.version += 1
    complaint.updated_at = at
    session.add(complaint)
    return complaint


async def create(session: AsyncSession, clock: Clock, principal: Principal, data: ComplaintCreate) -> Complaint:
    store = await active_store(session, principal, data.store_id)
    if data.department not in departments():
        raise ValidationFailed("department", f"one of {', '.join(departments())}")
    customer_id = data.customer_id
    if customer_id is not None:
        customer = await customers.customer(session, customer_id)
        if customer is None or customer.store_id != store.id:
            raise ValidationFailed("customer_id", "no such customer in this store")
    if data.repair_order_id is not None:
        order = await customers.repair_order(session, data.repair_order_id)
        if order is None or order.store_id != store.id:
            raise ValidationFailed("repair_order_id", "no such repair order in this store")
        if customer_id is None:
            customer_id = order.customer_id
        elif order.customer_id and order.customer_id != customer_id:
            raise ValidationFailed("repair_order_id", "the order belongs to another customer")
    return await _open(session, store_id=store.id, source="manual", department=data.department,
                       severity=data.severity, description=data.description, at=clock.now(), by=principal.id,
                       by_name=principal.name or principal.id, by_credential=principal.credential or None,
                       customer_id=customer_id, repair_order_id=data.repair_order_id)


async def visible_complaint(session: AsyncSession, principal: Principal, complaint_id: str, *,
                            lock: bool = False) -> Complaint:
    complaint = await (repository.get_for_update if lock else repository.get)(session, complaint_id)
    if complaint is None:
        raise NotFound("complaint not found")
    ensure_visible(principal, complaint.store_id, "complaint")
    return complaint


def due_rules() -> dict:
    return reference.load("complaint_rules")


def _commit_due(complaint: Complaint, due_at: datetime, reason: str | None, now: datetime, by: Principal,
                reason_field: str) -> None:
    """The owner signs for a date (篇19(二)2): sooner than the deadline freely; later only for a
    listed reason such as parts on backorder, and at most so many days past the default."""
    if due_at.tzinfo is None:
        raise ValidationFailed("due_at", "needs a time zone offset (RFC 3339)")
    if due_at <= now:
        raise ValidationFailed("due_at", "is in the past")
    rules = due_rules()
    if due_at > complaint.due_at:
        reasons = [r["code"] for r in rules["later_due_reasons"]]
        if reason is None:
            raise ValidationFailed(reason_field, f"a date later than the deadline {complaint.due_at.isoformat()} "
                                                 f"needs a reason: one of {', '.join(reasons)}")
        if reason not in reasons:
            raise ValidationFailed(reason_field, f"one of {', '.join(reasons)}")
        latest = max(complaint.opened_at + DEADLINE[complaint.severity], complaint.due_at) + timedelta(
            days=rules["max_days_after_default"])
        if due_at > latest:
            raise ValidationFailed("due_at", f"at most {rules['max_days_after_default']} days past the deadline "
                                             f"({latest.isoformat()})")
        complaint.due_reason = reason
    else:
        complaint.due_reason = None
    complaint.due_at, complaint.due_committed_by = due_at, by.id
    complaint.due_committed_by_name, complaint.due_committed_by_credential = by.name or by.id, by.credential or None


async def commit_due_date(session: AsyncSession, clock: Clock, principal: Principal, complaint_id: str,
                          due_at: datetime, reason: str | None, expected: int | None = None) -> Complaint:
    """The complaint's owner commits its due date."""
    complaint = await visible_complaint(session, principal, complaint_id, lock=True)
    check_version(complaint.version, expected)
    if complaint.status not in repository.OPEN_STATES:
        raise InvalidTransition(complaint.status, "commit a due date")
    if complaint.owner is None or complaint.owner not in known_as(principal):
        raise Forbidden("only the complaint's owner commits its due date", owner=complaint.owner)
    now = clock.now()
    _commit_due(complaint, due_at, reason, now, principal, "reason")
    complaint.version += 1
    complaint.updated_at = now
    session.add(complaint)
    _step(session, complaint, "due_committed", now, principal.id, complaint.due_reason or "", **_who(principal))
    await session.flush()
    return complaint


async def assign(session: AsyncSession, clock: Clock, principal: Principal, complaint_id: str, owner: str,
                 due_at: datetime | None, expected: int | None = None, due_reason: str | None = None) -> Complaint:
    complaint = await visible_complaint(session, principal, complaint_id, lock=True)
    check_version(complaint.version, expected)
    if complaint.status not in repository.OPEN_STATES:
        raise InvalidTransition(complaint.status, "assign")
    problem = refusal(await repository.staff_member(session, owner), complaint.store_id, head_office=True)
    if problem:
        raise ValidationFailed("owner", problem)
    now = clock.now()
    if due_at is not None:
        _commit_due(complaint, due_at, due_reason, now, principal, "due_reason")
    complaint.owner, complaint.status, complaint.assigned_at = owner, "assigned", now
    complaint.assigned_by, complaint.assigned_by_name = principal.id, principal.name or principal.id
    complaint.assigned_by_credential = principal.credential or None
    complaint.version += 1
    complaint.updated_at = now
    session.add(complaint)
    _step(session, complaint, "assigned", now, principal.id, owner, **_who(principal))
    await session.flush()
    return complaint


async def keep_staff_member(session: AsyncSession, event: PersonEvent, at: datetime) -> None:
    person = await repository.staff_member(session, event.person_id)
    if person is None:
        person = StaffMember(person_id=event.person_id, status=event.status, store_ids=[], updated_at=at)
    if take_person_event(person, event, at):
        person.hq_role, person.name = event.hq_role, event.name
        person.assignments = [{"store_id": a.store_id, "role": a.role} for a in event.assignments]
        session.add(person)


async def resolve(session: AsyncSession, clock: Clock, principal: Principal, complaint_id: str, resolution: str,
                  expected: int | None = None) -> Complaint:
    complaint = await visible_complaint(session, principal, complaint_id, lock=True)
    check_version(complaint.version, expected)
    if complaint.status != "assigned":
        raise InvalidTransition(complaint.status, "resolve")
    order = await customers.repair_order(session, complaint.repair_order_id) if complaint.repair_order_id else None
    if order is not None and order.advisor_id and order.advisor_id in known_as(principal):
        # The advisor's own order: someone else judges that the customer's complaint is dealt with.
        raise Conflict("the service advisor who served this order may not resolve its complaint",
                       rule="advisor_may_not_resolve", advisor_id=order.advisor_id)
    now = clock.now()
    complaint.status, complaint.resolved_at, complaint.resolved_by = "resolved", now, principal.id
    complaint.resolved_by_name = principal.name or principal.id
    complaint.resolved_by_credential = principal.credential or None
    complaint.resolution = resolution
    complaint.resolutions += 1
    complaint.version += 1
    complaint.updated_at = now
    session.add(complaint)
    _step(session, complaint, "resolved", now, principal.id, resolution, **_who(principal))
    await session.flush()
    if complaint.customer_id is None:
        # Nobody to call back: the resolution is the end of it.
        complaint.status, complaint.closed_at = "closed", now
        _step(session, complaint, "closed", now, principal.id, "no customer on file to call back", **_who(principal))
        await emit(session, ComplaintClosed(**_fields(complaint), resolution=resolution, opened_at=complaint.opened_at,
                                            closed_at=now, closed_by=principal.id,
                                            closed_by_name=principal.name or principal.id,
                                            closed_by_credential=principal.credential or None),
                   subject=complaint.id, store_id=complaint.store_id, time=now)
        return complaint
    await planning.open_callback(
        session, store_id=complaint.store_id, kind="follow_up",
        origin_key=f"follow_up:{complaint.id}:{complaint.resolutions}", start=now, days=FOLLOW_UP_AFTER_DAYS,
        created_at=now, repair_order_id=complaint.repair_order_id, repair_order_number=order.number if order else None,
        complaint_id=complaint.id, customer_id=complaint.customer_id, vin=order.vin if order else None,
        advisor_id=order.advisor_id if order else None,
    )
    return complaint


async def escalate_overdue(session: AsyncSession, store_id: str, now: datetime) -> int:
    escalated = 0
    for complaint in await repository.overdue_without_escalation(session, store_id, now):
        escalated += await escalate(session, complaint, "overdue", now)
    return escalated


async def list_complaints(session: AsyncSession, principal: Principal, now: datetime, *, store_id: str | None,
                          status: str | None, department: str | None, severity: str | None, escalated: bool | None,
                          overdue: bool | None, customer_id: str | None, repair_order_id: str | None,
                          owner: str | None, limit: int, cursor: str | None):
    # A store's caller sees its own complaints, whatever store it names; HQ the one it names, or all.
    return await repository.page(session, store_id=principal.store_id or store_id, status=status,
                                 department=department, severity=severity, escalated=escalated, overdue=overdue,
                                 customer_id=customer_id, repair_order_id=repair_order_id, owner=owner, now=now,
                                 limit=limit, cursor=cursor)


async def to_public(session: AsyncSession, complaints: list[Complaint], now: datetime) -> list[ComplaintPublic]:
    ids = [c.id for c in complaints]
    escalations: dict[str, list[EscalationPublic]] = {i: [] for i in ids}
    for e in await repository.escalations_of(session, ids):
        escalations[e.complaint_id].append(EscalationPublic(reason=e.reason, escalated_at=e.escalated_at))
    steps: dict[str, list[StepPublic]] = {i: [] for i in ids}
    for s in await repository.steps_of(session, ids):
        steps[s.complaint_id].append(StepPublic(action=s.action, status=s.status, due_at=s.due_at, at=s.at, by=s.by,
                                                by_name=s.by_name, by_credential=s.by_credential, note=s.note))
    follow_ups = {cb.complaint_id: cb.id for cb in await repository.follow_ups_of(session, ids)}
    return [
        ComplaintPublic(
            id=c.id, store_id=c.store_id, source=c.source, callback_id=c.callback_id, customer_id=c.customer_id,
            repair_order_id=c.repair_order_id, department=c.department, severity=c.severity,
            description=c.description, verbatim=c.verbatim, status=c.status, owner=c.owner, due_at=c.due_at,
            due_reason=c.due_reason, due_committed_by=c.due_committed_by,
            due_committed_by_name=c.due_committed_by_name, due_committed_by_credential=c.due_committed_by_credential,
            overdue=c.status in repository.OPEN_STATES and now > c.due_at, escalated=c.escalated,
            escalations=escalations[c.id], opened_at=c.opened_at, opened_by=c.opened_by,
            opened_by_name=c.opened_by_name, opened_by_credential=c.opened_by_credential, assigned_at=c.assigned_at,
            assigned_by=c.assigned_by, assigned_by_name=c.assigned_by_name,
            assigned_by_credential=c.assigned_by_credential, resolved_by=c.resolved_by,
            resolved_by_name=c.resolved_by_name, resolved_by_credential=c.resolved_by_credential,
            resolved_at=c.resolved_at, resolution=c.resolution, closed_at=c.closed_at, reopened=c.reopened,
            follow_up_callback_id=follow_ups.get(c.id), history=steps[c.id], version=c.version,
        )
        for c in complaints
    ]
