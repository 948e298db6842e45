"""Jobs: one per approved labour line, dispatched to a technician with the skill for it,
clocked while worked, and checked by someone other than whoever did the work.

States: pending → assigned → in_progress ⇄ paused → completed → qc_passed, and
completed → rework → in_progress after a failed check; any job not yet passed becomes
cancelled when its order is cancelled. Clocked time is the sum of the work intervals: an
interval opens on start or resume and closes on pause, completion or cancellation, and a
technician is clocked on one job at a time (clocking onto another pauses the first)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.consumer import PoisonEvent
from services.common.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.reception import RepairOrderLine
from services.common.events.catalogue.workshop import JobCreated, JobQcFailed, JobQcPassed, JobStarted
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.policy_copies import Catalogue, first_catalogue
from services.common.who import known_as
from services.workshop.base import hours, seconds_to_hours
from services.workshop.certifications import service as certifications
from services.workshop.jobs import repository
from services.workshop.jobs.models import Job, QualityCheck, WorkInterval
from services.workshop.jobs.schemas import JobDetail, JobList, check_public, interval_public, job_public
from services.workshop.orders import service as orders
from services.workshop.orders.models import WorkshopOrder
from services.workshop.policy_copies import service as policy_copies
from services.workshop.technicians import repository as technicians

ASSIGNABLE = ("pending", "assigned", "rework")
STARTABLE = ("assigned", "rework")
COMPLETABLE = ("in_progress", "paused")
FINAL = ("qc_passed", "cancelled")


async def _event_fields(session: AsyncSession, job: Job) -> dict:
    fields = dict(job_id=job.id, store_id=job.store_id, repair_order_id=job.repair_order_id, line_id=job.line_id,
                  op_code=job.op_code, technician_id=job.technician_id)
    # The person the technician record works under, so the work is credited to whoever signs in.
    technician = await technicians.get(session, job.technician_id) if job.technician_id else None
    if technician is not None and technician.principal_id:
        fields.update(technician_person_id=technician.principal_id, technician_name=technician.name)
    return fields


def _inspector(principal: Principal) -> dict:
    """A quality check event's who-fields: the person, their name and what they came with."""
    return dict(inspector=principal.id, inspector_name=principal.name or principal.id,
                inspector_credential=principal.credential or None)


def flat_rate_for(line: RepairOrderLine, catalogue: Catalogue | None = None) -> Decimal:
    """The hours the line was sold at; else the catalogue's (the brand's version in force on
    the order's opening day; none given: version 1); else the line's quantity."""
    operation = (catalogue or first_catalogue()).operations.get(line.op_code or "")
    sold = line.flat_rate_hours or (None if operation else line.quantity)
    try:
        if sold:
            value = hours(sold)
        elif operation:
            value = hours(operation["flat_rate_hours"])
        else:
            raise PoisonEvent(f"labour line {line.line_id} has no hours")
    except InvalidOperation as exc:
        raise PoisonEvent(f"labour line {line.line_id} has hours {sold!r} that are not a number") from exc
    if not value.is_finite() or not 0 <= value <= 999:
        raise PoisonEvent(f"labour line {line.line_id} has hours {sold!r} out of range")
    return value


async def create_from_line(session: AsyncSession, now: datetime, order: WorkshopOrder,
                           line: RepairOrderLine) -> Job | None:
    if await repository.by_line(session, order.id, line.line_id) is not None:
        return None
    # The brand's catalogue on the order's opening day; an order whose opening was never heard of goes by today.
    catalogue = await policy_copies.catalogue_on(session, policy_copies.brand_day(order.opened_at or now))
    operation = catalogue.operations.get(line.op_code or "")
    job = Job(
        id=new_id(), store_id=order.store_id, repair_order_id=order.id, repair_order_number=order.number,
        line_id=line.line_id, vin=order.vin, op_code=line.op_code or "",
        category=operation["category"] if operation else None, description=line.description,
        pay_type=line.pay_type, supplement=line.supplement, flat_rate_hours=flat_rate_for(line, catalogue),
        status="pending", created_at=now,
    )
    session.add(job)
    await emit(session, JobCreated(**await _event_fields(session, job), flat_rate_hours=str(job.flat_rate_hours),
                                   created_at=now), subject=job.id, store_id=job.store_id, time=now)
    return job


async def detail(session: AsyncSession, job: Job) -> JobDetail:
    """A job with its work intervals and quality checks, as every answer about one job shows it."""
    intervals = await repository.intervals(session, job.id)
    open_since = next((i.started_at for i in intervals if i.ended_at is None), None)
    return JobDetail(
        **job_public(job).model_dump(), clocked_on_since=open_since,
        work_intervals=[interval_public(i) for i in intervals],
        quality_checks=[check_public(c) for c in await repository.checks(session, job.id)],
    )


async def list_jobs(session: AsyncSession, principal: Principal, *, store_id: str | None, limit: int,
                    cursor: str | None, repair_order_id: str | None, status: str | None,
                    technician_id: str | None) -> JobList:
    # A store's caller sees its own, whatever store it names; HQ the one it names, or all.
    rows, next_cursor = await repository.page(
        session, store_id=principal.store_id or store_id, limit=limit, cursor=cursor,
        repair_order_id=repair_order_id, status=status, technician_id=technician_id)
    return JobList(items=[job_public(r) for r in rows], next_cursor=next_cursor)


async def get_visible(session: AsyncSession, principal: Principal, job_id: str) -> Job:
    job = await repository.get(session, job_id)
    if job is None or not principal.can_see_store(job.store_id):
        raise NotFound("job not found")
    return job


async def _locked(session: AsyncSession, principal: Principal, job_id: str) -> Job:
    job = await repository.get_for_update(session, job_id)
    if job is None or not principal.can_see_store(job.store_id):
        raise NotFound("job not found")
    return job


def _touch(session: AsyncSession, job: Job) -> None:
    job.version += 1
    session.add(job)


async def _check_worker(session: AsyncSession, principal: Principal, job: Job) -> None:
    """A technician linked to a roster entry clocks only on jobs given to them."""
    if principal.role != "technician":
        return
    me = await technicians.by_any_principal(session, job.store_id, known_as(principal), principal.id)
    if me is not None and me.id != job.technician_id:
        raise Forbidden("this job is assigned to another technician")


async def _close_interval(session: AsyncSession, job: Job, now: datetime, by: Principal, reason: str) -> None:
    interval = await repository.open_interval(session, job.id)
    if interval is None:
        return
    interval.ended_at = max(now, interval.started_at)
    interval.ended_by, interval.ended_by_name = by.id, by.name or None
    interval.ended_by_credential = by.credential or None
    interval.end_reason = reason
    interval.seconds = int((interval.ended_at - interval.started_at).total_seconds())
    job.clocked_seconds += interval.seconds
    session.add(interval)


async def _clock_on(session: AsyncSession, principal: Principal, job: Job, now: datetime) -> None:
    technician_id = job.technician_id
    assert technician_id is not None  # only an assigned job starts or resumes
    technician = await technicians.get(session, technician_id)
    if technician is not None:
        # Assigned while certified is not enough: a certificate that ran out or was revoked since stops the work.
        await certifications.ensure_qualified(session, now, job, technician)
    for other in await repository.running_for_technician(session, technician_id, except_job=job.id):
        await _close_interval(session, other, now, principal, "switch")
        other.status = "paused"
        _touch(session, other)
    session.add(WorkInterval(id=new_id(), job_id=job.id, store_id=job.store_id, technician_id=technician_id,
                             started_at=now, started_by=principal.id, started_by_name=principal.name or None,
                             started_by_credential=principal.credential or None,
                             hourly_cost_fen=technician.hourly_cost_fen if technician else None))


async def assign(session: AsyncSession, clock: Clock, principal: Principal, job_id: str, technician_id: str) -> Job:
    job = await _locked(session, principal, job_id)
    if job.status not in ASSIGNABLE:
        raise InvalidTransition(job.status, "assign")
    technician = await technicians.get(session, technician_id)
    if technician is None or technician.store_id != job.store_id:
        raise ValidationFailed("technician_id", "no technician of this job's store has that id")
    if not technician.active:
        raise ValidationFailed("technician_id", "technician is not active")
    if job.category is not None and job.category not in technician.skills:
        raise ValidationFailed("technician_id",
                               f"technician lacks the {job.category} skill operation {job.op_code} needs",
                               required_skill=job.category)
    await certifications.ensure_qualified(session, clock.now(), job, technician)
    job.technician_id = technician.id
    job.assigned_at = clock.now()
    if job.status == "pending":
        job.status = "assigned"
    _touch(session, job)
    return job


async def start(session: AsyncSession, clock: Clock, principal: Principal, job_id: str) -> Job:
    job = await _locked(session, principal, job_id)
    if job.status not in STARTABLE:
        raise InvalidTransition(job.status, "start")
    await _check_worker(session, principal, job)
    now = clock.now()
    await _clock_on(session, principal, job, now)
    job.started_at = job.started_at or now
    job.status = "in_progress"
    _touch(session, job)
    await emit(session, JobStarted(**await _event_fields(session, job), started_at=now), subject=job.id,
               store_id=job.store_id, time=now)
    await orders.mark_work_started(session, clock, job.repair_order_id)
    return job


async def pause(session: AsyncSession, clock: Clock, principal: Principal, job_id: str) -> Job:
    job = await _locked(session, principal, job_id)
    if job.status != "in_progress":
        raise InvalidTransition(job.status, "pause")
    await _check_worker(session, principal, job)
    await _close_interval(session, job, clock.now(), principal, "pause")
    job.status = "paused"
    _touch(session, job)
    return job


async def resume(session: AsyncSession, clock: Clock, principal: Principal, job_id: str) -> Job:
    job = await _locked(session, principal, job_id)
    if job.status != "paused":
        raise InvalidTransition(job.status, "resume")
    await _check_worker(session, principal, job)
    await _clock_on(session, principal, job, clock.now())
    job.status = "in_progress"
    _touch(session, job)
    return job


async def complete(session: AsyncSession, clock: Clock, principal: Principal, job_id: str, notes: str) -> Job:
    job = await _locked(session, principal, job_id)
    if job.status not in COMPLETABLE:
        raise InvalidTransition(job.status, "complete")
    await _check_worker(session, principal, job)
    now = clock.now()
    await _close_interval(session, job, now, principal, "complete")
    job.status = "completed"
    job.completed_at = now
    job.completed_by = principal.id
    job.completed_by_name, job.completed_by_credential = principal.name or None, principal.credential or None
    if notes:
        job.notes = notes
    _touch(session, job)
    return job


async def quality_check(session: AsyncSession, clock: Clock, principal: Principal, job_id: str, *, passed: bool,
                        inspector: str | None, notes: str) -> Job:
    job = await _locked(session, principal, job_id)
    if job.status != "completed":
        raise InvalidTransition(job.status, "qc")
    # Four eyes: nobody checks work they did, whether they call in person or name themselves.
    assert job.technician_id is not None  # a completed job was started, so assigned
    workers = await technicians.by_ids(session, await repository.worked_by(session, job.id) | {job.technician_id})
    own = known_as(principal) | ({inspector} if inspector else set())
    if any(t.principal_id in own or t.id in own for t in workers):
        raise Conflict("the quality check must be made by someone other than the technician who did the job",
                       rule="four_eyes", current_state=job.status)
    now = clock.now()
    session.add(QualityCheck(id=new_id(), job_id=job.id, store_id=job.store_id, technician_id=job.technician_id,
                             result="pass" if passed else "fail", inspector=principal.id,
                             inspector_name=inspector or principal.name or principal.id,
                             inspector_person_name=principal.name or None,
                             inspector_credential=principal.credential or None, notes=notes, checked_at=now))
    if passed:
        job.status = "qc_passed"
        job.qc_passed_at = now
        _touch(session, job)
        await emit(session, JobQcPassed(
            **await _event_fields(session, job), **_inspector(principal), flat_rate_hours=str(job.flat_rate_hours),
            clocked_hours=str(seconds_to_hours(job.clocked_seconds)), rework_count=job.rework_count, passed_at=now,
        ), subject=job.id, store_id=job.store_id, time=now)
        await orders.check_ready(session, clock, job.repair_order_id)
    else:
        job.status = "rework"
        job.rework_count += 1
        _touch(session, job)
        await emit(session, JobQcFailed(**await _event_fields(session, job), **_inspector(principal), notes=notes,
                                        rework_count=job.rework_count, failed_at=now),
                   subject=job.id, store_id=job.store_id, time=now)
    return job


# Who clocks a technician off when reception cancels the order: the workshop itself.
ON_CANCELLED_ORDER = Principal(id="system", role="system", name="workshop")


async def cancel_order_jobs(session: AsyncSession, now: datetime, repair_order_id: str) -> list[Job]:
    cancelled = []
    for job in await repository.of_order(session, repair_order_id, for_update=True):
        if job.status in FINAL:
            continue
        await _close_interval(session, job, now, ON_CANCELLED_ORDER, "cancel")
        job.status = "cancelled"
        job.cancelled_at = now
        _touch(session, job)
        cancelled.append(job)
    return cancelled
