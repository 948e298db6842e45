from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.workshop.jobs import service
from services.workshop.jobs.schemas import JobAssign, JobComplete, JobDetail, JobList, JobQualityCheck, JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=TransactionalRoute)
# require_access looks at the method: read-only roles may GET here, and get 403 on a POST.
Reader = Annotated[Principal, Depends(require_access("workshop_jobs"))]
Writer = Reader
ACTION_ERRORS = problem_responses(NotFound, InvalidTransition, Forbidden)


@router.get("", response_model=JobList)
async def list_jobs(session: SessionDep, principal: Reader, limit: LimitQuery = 50, cursor: CursorQuery = None,
                    repair_order_id: Annotated[str | None, Query()] = None,
                    status: Annotated[JobStatus | None, Query()] = None,
                    technician_id: Annotated[str | None, Query()] = None,
                    store_id: Annotated[str | None, Query(description="HQ only: one store")] = None):
    return await service.list_jobs(session, principal, store_id=store_id, limit=limit, cursor=cursor,
                                   repair_order_id=repair_order_id, status=status, technician_id=technician_id)


@router.get("/{job_id}", response_model=JobDetail, responses=problem_responses(NotFound))
async def get_job(job_id: str, session: SessionDep, principal: Reader):
    return await service.detail(session, await service.get_visible(session, principal, job_id))


@router.post("/{job_id}/assign", response_model=JobDetail,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed))
async def assign_job(job_id: str, body: JobAssign, session: SessionDep, clock: ClockDep, principal: Writer):
    return await service.detail(session, await service.assign(session, clock, principal, job_id, body.technician_id))


@router.post("/{job_id}/start", response_model=JobDetail, responses=ACTION_ERRORS)
async def start_job(job_id: str, session: SessionDep, clock: ClockDep, principal: Writer):
    return await service.detail(session, await service.start(session, clock, principal, job_id))


@router.post("/{job_id}/pause", response_model=JobDetail, responses=ACTION_ERRORS)
async def pause_job(job_id: str, session: SessionDep, clock: ClockDep, principal: Writer):
    return await service.detail(session, await service.pause(session, clock, principal, job_id))


@router.post("/{job_id}/resume", response_model=JobDetail, responses=ACTION_ERRORS)
async def resume_job(job_id: str, session: SessionDep, clock: ClockDep, principal: Writer):
    return await service.detail(session, await service.resume(session, clock, principal, job_id))


@router.post("/{job_id}/complete", response_model=JobDetail, responses=ACTION_ERRORS)
async def complete_job(job_id: str, session: SessionDep, clock: ClockDep, principal: Writer,
                       body: JobComplete | None = None):
    notes = body.notes if body else ""
    return await service.detail(session, await service.complete(session, clock, principal, job_id, notes))


@router.post("/{job_id}/qc", response_model=JobDetail,
             responses=problem_responses(NotFound, InvalidTransition, Conflict))
async def quality_check(job_id: str, body: JobQualityCheck, session: SessionDep, clock: ClockDep, principal: Writer):
    job = await service.quality_check(session, clock, principal, job_id, passed=body.result == "pass",
                                      inspector=body.inspector, notes=body.notes)
    return await service.detail(session, job)
