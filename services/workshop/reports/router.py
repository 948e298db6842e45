from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access
from services.common.errors import ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.inputs import Day
from services.workshop.reports import service
from services.workshop.reports.schemas import TechnicianReport

router = APIRouter(prefix="/v1/reports", tags=["reports"], route_class=TransactionalRoute)
Reader = Annotated[Principal, Depends(require_access("workshop_jobs"))]
MAX_DAYS = 400


@router.get("/technicians", response_model=TechnicianReport, responses=problem_responses(ValidationFailed))
async def technician_report(
    session: SessionDep, clock: ClockDep, principal: Reader,
    date_from: Annotated[Day, Query(alias="from", description="first day, in the store's time zone")],
    date_to: Annotated[Day, Query(alias="to", description="last day, inclusive")],
    store_id: Annotated[str | None, Query(description="HQ only: one store (else every store)")] = None,
):
    if date_to < date_from:
        raise ValidationFailed("to", "must not be before from")
    if (date_to - date_from).days >= MAX_DAYS:
        raise ValidationFailed("to", f"a report covers at most {MAX_DAYS} days")
    return await service.technician_report(session, clock, principal, date_from, date_to, store_id)
