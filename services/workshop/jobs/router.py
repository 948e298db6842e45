from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.stores import visible_store_filter
from services.workshop.base import seconds_to_hours
from services.workshop.jobs import repository, service
from services.workshop.jobs.models import Job
from services.workshop.jobs.schemas import (
    JobAssign, JobComplete, JobDetail, JobList, JobPublic, JobQualityCheck, JobStatus, QualityCheckPublic,
    WorkIntervalPublic,
)

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=TransactionalRoute)
# require_access looks at the method: read-only roles may GET here, and get 403 on a POST.
Reader = Writer = Annotated[Principal, Depends(require_access("workshop_jobs"))]
ACTION_ERRORS = problem_responses(NotFound, InvalidTransition, Forbidden)


def public(job: Job) -> JobPublic:
    return JobPublic.model_validate(
        {**job.model_dump(), "clocked_hours": seconds_to_hours(job.clocked_seconds)})


async def detail(session: AsyncSession, job: Job) -> JobDetail:
    intervals = await repository.intervals(session, job.id)
    open_since = next((i.started_at for i in intervals if i.ended_at is None), None)
    return JobDetail(
        **public(job).model_dump(), clocked_on_since=open_since,
        work_intervals=[WorkIntervalPublic.model_validate(i, from_attributes=True) for i in intervals],
        quality_checks=[QualityCheckPublic.model_validate(c, from_attributes=True)
                        for c in await repository.checks(session, job.id)],
    )


@router.get("", response_model=JobList)
async def list_jobs(session: SessionDep, principal: Reader, limit: LimitQuery = 50, cursor: CursorQuery = None,
                    repair_order_id: Annotated[str | None, Query()] = None,
                    status: Annotated[JobStatus | None, Query()] = None,
                    technician_id: Annotated[str | None, Query()] = None,
                    store_id: Annotated[str | None, Query(description="HQ only: one store")] = None):
    rows, next_cursor = await repository.page(
        session, store_filter=visible_store_filter(principal, Job.store_id, store_id), limit=limit, cursor=cursor,
        repair_order_id=repair_order_id, status=status, technician_id=technician_id)
    return JobList(items=[public(r) for r in rows], next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobDetail, responses=problem_responses(NotFound))
async def get_job(job_id: str, session: SessionDep, principal: Reader):
    return await detail(session, await service.get_visible(session, principal, job_id))


@router.post("/{job_id}/assign", response_model=JobDetail,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed))
async def assign_job(job_id: str, body: JobAssign, session: SessionDep, clock: ClockDep, principal: Writer):
    return await detail(session, await service.assign(session, clock, principal, job_id, body.technician_id))


@router.post("/{job_id}/start", response_model=JobDetail, responses=ACTION_ERRORS)
async def start_job(job_id: str, session: SessionDep, clock: ClockDep, principal: Writer):
    return await detail(session, await service.start(session, clock, principal, job_id))


@router.post("/{job_id}/pause", response_model=JobDetail, responses=ACTION_ERRORS)
async def pause_job(job_id: str, session: SessionDep, clock: ClockDep, principal: Writer):
    return await detail(session, await service.pause(session, clock, principal, job_id))


@router.post("/{job_id}/resume", response_model=JobDetail, responses=ACTION_ERRORS)
async def resume_job(job_id: str, session: SessionDep, clock: ClockDep, principal: Writer):
    return await detail(session, await service.resume(session, clock, principal, job_id))


@router.post("/{job_id}/complete", response_model=JobDetail, responses=ACTION_ERRORS)
async def complete_job(job_id: str, session: SessionDep, clock: ClockDep, principal: Writer,
                       body: JobComplete | None = None):
    notes = body.notes if body else ""
    return await detail(session, await service.complete(session, clock, principal, job_id, notes))


@router.post("/{job_id}/qc", response_model=JobDetail, responses=problem_responses(NotFound, InvalidTransition, Conflict))
async def quality_check(job_id: str, body: JobQualityCheck, session: SessionDep, clock: ClockDep, principal: Writer):
    job = await service.quality_check(session, clock, principal, job_id, passed=body.result == "pass",
                                      inspector=body.inspector, notes=body.notes)
    return await detail(session, job)
