from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.inputs import Day
from services.network.daily_reports import service
from services.network.daily_reports.schemas import DailyReport, DaySignOffs, SignOffIn

router = APIRouter(tags=["daily-reports"], route_class=TransactionalRoute)
# The matrix's `daily_reports` area; the service adds whose store and who signs.
Access = Annotated[Principal, Depends(require_access("daily_reports"))]
DAY = "/v1/stores/{store_id}/daily-reports/{date}"


@router.get(DAY, response_model=DailyReport, responses=problem_responses(NotFound))
async def get_daily_report(store_id: str, date: Day, session: SessionDep, principal: Access):
    """The store's local day in one page: orders in and out, revenue, gross margin,
    complaints, callbacks, the month's targets to that day, and its sign-off."""
    return await service.daily_report(session, principal, store_id, date)


@router.post(DAY + "/sign-off", status_code=201, response_model=DailyReport,
             responses=problem_responses(Forbidden, NotFound, Conflict, ValidationFailed))
async def sign_off_daily_report(store_id: str, date: Day, session: SessionDep, clock: ClockDep, principal: Access,
                                body: SignOffIn | None = None):
    """The store's service manager (or store manager) signs the day off, once; the figures as
    signed are kept."""
    return await service.sign(session, clock, principal, store_id, date, body or SignOffIn())


@router.get("/v1/daily-reports", response_model=DaySignOffs, responses=problem_responses(ValidationFailed))
async def list_sign_offs(date: Annotated[Day, Query(description="the local day")], session: SessionDep,
                         principal: Access):
    """Which stores have signed the day off, and who (HQ: every store; a store: its own)."""
    return await service.signed_stores(session, principal, date)
