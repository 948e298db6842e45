from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.network.targets import service
from services.network.targets.schemas import (
    AnnualTargets,
    AttainmentReport,
    MonthTargets,
    MonthTargetsIn,
    PeopleMonthTargetsIn,
    PeopleTargets,
    PeopleTargetsIn,
    PersonAttainmentReport,
    TargetValues,
)

router = APIRouter(tags=["targets"], route_class=TransactionalRoute)
# Reads and writes by the matrix's `targets` area; the service adds whose store and which role.
Access = Annotated[Principal, Depends(require_access("targets"))]
YearPath = Annotated[int, Path(ge=2000, le=2100, description="the calendar year")]
Period = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description=(
    "the month, YYYY-MM; default this month in China time"))]
STORE = "/v1/stores/{store_id}/targets/{year}"


@router.get(STORE, response_model=AnnualTargets, responses=problem_responses(NotFound))
async def get_annual_targets(store_id: str, year: YearPath, session: SessionDep, principal: Access):
    return await service.get_annual(session, principal, store_id, year)


@router.put(STORE, response_model=AnnualTargets, responses=problem_responses(Forbidden, NotFound, ValidationFailed))
async def set_annual_targets(store_id: str, year: YearPath, body: TargetValues, session: SessionDep, clock: ClockDep,
                             principal: Access):
    """HQ (hq_admin) sets the store's year. A measure whose figure changes loses its month and
    people split (the store splits it again); `splits_dropped` names them."""
    return await service.set_annual(session, clock, principal, store_id, year, body)


@router.get(STORE + "/months", response_model=MonthTargets, responses=problem_responses(NotFound))
async def get_month_targets(store_id: str, year: YearPath, session: SessionDep, principal: Access):
    return await service.get_months(session, principal, store_id, year)


@router.put(STORE + "/months", response_model=MonthTargets,
            responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def set_month_targets(store_id: str, year: YearPath, body: MonthTargetsIn, session: SessionDep,
                            clock: ClockDep, principal: Access):
    """The store splits its year into twelve months: counts and money add up to the year (422
    naming `months.<measure>` when not), rates are set per month as they are."""
    return await service.set_months(session, clock, principal, store_id, year, body)


@router.get(STORE + "/people", response_model=PeopleTargets, responses=problem_responses(NotFound))
async def get_people_targets(store_id: str, year: YearPath, session: SessionDep, principal: Access):
    return await service.get_people(session, principal, store_id, year)


@router.put(STORE + "/people", response_model=PeopleTargets, responses=problem_responses(NotFound, ValidationFailed))
async def set_people_targets(store_id: str, year: YearPath, body: PeopleTargetsIn, session: SessionDep,
                             clock: ClockDep, principal: Access):
    """The store splits its months down to its people (advisors, technicians, parts clerks,
    information clerks, warranty clerks of the staff directory): an additive measure's shares
    of a month add up to the store's month (422 naming `people.<measure>` when not)."""
    return await service.set_people(session, clock, principal, store_id, year, body)


@router.put(STORE + "/{month}/people", response_model=PeopleTargets,
            responses=problem_responses(NotFound, ValidationFailed))
async def set_people_month_targets(store_id: str, year: YearPath, month: Annotated[int, Path(ge=1, le=12)],
                                   body: PeopleMonthTargetsIn, session: SessionDep, clock: ClockDep,
                                   principal: Access):
    """One month's split to people (API.md's path): replaces that month's shares, keeps the
    others', and checks them as the year's PUT does."""
    return await service.set_people_month(session, clock, principal, store_id, year, month, body)


@router.get("/v1/targets/attainment", response_model=AttainmentReport,
            responses=problem_responses(NotFound, ValidationFailed))
async def get_attainment(session: SessionDep, clock: ClockDep, principal: Access, period: Period = None,
                         store_id: Annotated[str | None, Query(max_length=64)] = None):
    """Target, actual, attained and the month's projection at the current pace per store,
    region and the network (and the store's people when one store is asked for)."""
    year, month = service.parse_period(period, clock)
    return await service.attainment(session, clock, principal, year, month, store_id)


@router.get("/v1/people/{person_id}/attainment", response_model=PersonAttainmentReport,
            responses=problem_responses(Forbidden, NotFound, ValidationFailed))
async def get_person_attainment(person_id: str, session: SessionDep, clock: ClockDep, principal: Access,
                                period: Period = None):
    year, month = service.parse_period(period, clock)
    return await service.person_attainment(session, clock, principal, person_id, year, month)
