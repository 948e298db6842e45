from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from services.common.api import (
    ClockDep,
    CursorQuery,
    LimitQuery,
    SessionDep,
    TransactionalRoute,
    require_roles,
)
from services.common.errors import NotFound, StaleVersion, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.versioning import IfMatch
from services.network.build_out import service
from services.network.build_out.schemas import (
    MAX_YEAR,
    MIN_YEAR,
    Funnel,
    OutletProgressList,
    PlanList,
    PlanPublic,
    PlanPut,
)

router = APIRouter(tags=["build-out plan"], route_class=TransactionalRoute)
Reader = Annotated[Principal, Depends(require_roles("hq_admin", "hq_analyst", "region_manager"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]
YearPath = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="calendar year (China time)")]
YearQuery = Annotated[int, Query(ge=MIN_YEAR, le=MAX_YEAR, description="calendar year (China time)")]
RegionQuery = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.put("/v1/regions/{region_id}/build-out-plans/{year}", response_model=PlanPublic,
            responses=problem_responses(NotFound, ValidationFailed, StaleVersion))
async def put_plan(region_id: str, year: YearPath, body: PlanPut, session: SessionDep, clock: ClockDep,
                   principal: HqAdmin, if_match: IfMatch = None):
    """The region's target cities and planned outlets for the year, replacing any before
    (send the plan's `version` as If-Match to change one)."""
    return await service.put_plan(session, clock, principal, region_id, year, body, if_match)


@router.get("/v1/regions/{region_id}/build-out-plans/{year}", response_model=PlanPublic,
            responses=problem_responses(NotFound))
async def get_plan(region_id: str, year: YearPath, session: SessionDep, principal: Reader):
    """The plan with each city's applications, approvals and active outlets so far."""
    return await service.get_plan(session, principal, region_id, year)


@router.get("/v1/build-out-plans", response_model=PlanList)
async def list_plans(year: YearQuery, session: SessionDep, principal: Reader):
    """Every region's plan for the year (a region manager: its regions'), by region code."""
    return await service.list_plans(session, principal, year)


@router.get("/v1/build-out-funnel", response_model=Funnel, responses=problem_responses(NotFound))
async def funnel(year: YearQuery, session: SessionDep, principal: Reader, region_id: RegionQuery = None):
    """Applications submitted in the year, per region: how many reached each step, how many
    are at each now, and the days spent in each step (median and 90th percentile)."""
    return await service.funnel(session, principal, year, region_id)


@router.get("/v1/build-out-outlets", response_model=OutletProgressList, responses=problem_responses(NotFound))
async def outlets(session: SessionDep, principal: Reader, region_id: RegionQuery = None, limit: LimitQuery = 50,
                  cursor: CursorQuery = None):
    """Partner outlets in onboarding now, each with its checklist's progress (done of total)."""
    return await service.outlets(session, principal, region_id=region_id, limit=limit, cursor=cursor)
