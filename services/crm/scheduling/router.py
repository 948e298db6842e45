from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access, require_roles
from services.common.errors import Conflict, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.crm.scheduling import service
from services.crm.scheduling.schemas import JobList, JobRunRequest, JobRunResult

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=TransactionalRoute)
Crm = Annotated[Principal, Depends(require_access("crm"))]
Starter = Annotated[Principal, Depends(require_roles("hq_admin", "store_manager"))]


@router.get("", response_model=JobList)
async def list_jobs(session: SessionDep, principal: Crm):
    """The scheduled jobs and their latest run per store."""
    return await service.latest_runs(session, principal)


@router.post("/{name}/run", response_model=JobRunResult,
             responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def run_job(name: str, request: Request, session: SessionDep, clock: ClockDep, principal: Starter,
                  body: JobRunRequest | None = None):
    """Start a job now: the store manager for the own store, HQ for one store or all.
    Running a job again on the same day changes nothing."""
    return await service.run_by_hand(session, principal, name, body.store_id if body else None, clock.now(),
                                     request.app.state.settings)
