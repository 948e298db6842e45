from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.common.api import (
    ClockDep,
    CursorQuery,
    LimitQuery,
    SessionDep,
    TransactionalRoute,
    require_access,
    require_roles,
)
from services.common.errors import Conflict, NotFound, StaleVersion, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.inputs import Day
from services.common.versioning import IfMatch, check_version
from services.network.calendar import HQ_ZONE
from services.network.regions import service
from services.network.regions.schemas import (
    AreaCreate,
    AreaPublic,
    ManagersReplace,
    RegionCreate,
    RegionKpis,
    RegionList,
    RegionPublic,
    RegionUpdate,
    StoreMove,
    StorePlacement,
)
from services.network.stores import service as stores

router = APIRouter(prefix="/v1/regions", tags=["regions"], route_class=TransactionalRoute)
# A store's place in the regions: under /v1/stores, with the store's own reads.
placements = APIRouter(prefix="/v1/stores", tags=["regions"], route_class=TransactionalRoute)
RegionReader = Annotated[Principal, Depends(require_roles("hq_admin", "hq_analyst", "region_manager"))]
StoreReader = Annotated[Principal, Depends(require_access("network"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]
MAX_WINDOW_DAYS = 366


async def scope_principal(request: Request, principal: Principal) -> Principal:
    """app.state.principal_scope: a region manager's principal carries its regions' stores,
    read in the request's own transaction (or, on a route without one, a short one)."""
    if principal.role != service.REGION_MANAGER:
        return principal
    session = getattr(request.state, "session", None)
    if session is not None:
        return await service.narrowed(session, principal)
    async with request.app.state.db.transaction() as own:
        return await service.narrowed(own, principal)


@router.post("", status_code=201, response_model=RegionPublic, responses=problem_responses(Conflict))
async def create_region(body: RegionCreate, session: SessionDep, clock: ClockDep, principal: HqAdmin):
    return await service.create_region(session, clock, principal, body)


@router.get("", response_model=RegionList)
async def list_regions(session: SessionDep, principal: RegionReader, limit: LimitQuery = 50,
                       cursor: CursorQuery = None):
    """Every region for HQ, a region manager's own; each with its areas, store counts and managers."""
    return await service.list_regions(session, principal, limit=limit, cursor=cursor)


@router.get("/{region_id}", response_model=RegionPublic, responses=problem_responses(NotFound))
async def get_region(region_id: str, session: SessionDep, principal: RegionReader):
    return await service.public(session, await service.get_visible(session, principal, region_id))


@router.patch("/{region_id}", response_model=RegionPublic,
              responses=problem_responses(NotFound, ValidationFailed, StaleVersion))
async def update_region(region_id: str, body: RegionUpdate, session: SessionDep, principal: HqAdmin,
                        if_match: IfMatch = None):
    """Rename the region or set the claims its managers decide themselves (`claim_review_limit_fen`)."""
    region = await service.get_visible(session, principal, region_id, for_update=True)
    check_version(region.version, if_match)
    return await service.update(session, region, body)


@router.post("/{region_id}/areas", status_code=201, response_model=AreaPublic,
             responses=problem_responses(NotFound, Conflict))
async def add_area(region_id: str, body: AreaCreate, session: SessionDep, clock: ClockDep, principal: HqAdmin):
    region = await service.get_visible(session, principal, region_id, for_update=True)
    return await service.add_area(session, clock, region, body)


@router.put("/{region_id}/managers", response_model=RegionPublic,
            responses=problem_responses(NotFound, ValidationFailed))
async def replace_managers(region_id: str, body: ManagersReplace, session: SessionDep, clock: ClockDep,
                           principal: HqAdmin):
    """The region's managers from now on (an empty list: none)."""
    region = await service.get_visible(session, principal, region_id, for_update=True)
    return await service.replace_managers(session, clock, principal, region, body)


@router.get("/{region_id}/kpis", response_model=RegionKpis, responses=problem_responses(NotFound, ValidationFailed))
async def region_kpis(region_id: str, session: SessionDep, clock: ClockDep, principal: RegionReader,
                      since: Annotated[Day | None, Query(
                          alias="from", description="first local day; default the 1st of `to`'s month")] = None,
                      until: Annotated[Day | None, Query(
                          alias="to", description="last local day, inclusive; default today")] = None):
    """The region's figures, each store counted for the days it was in the region."""
    until = until or clock.now().astimezone(HQ_ZONE).date()
    since = since or until.replace(day=1)
    if since > until:
        raise ValidationFailed("from", "must not be after `to`")
    if until - since > timedelta(days=MAX_WINDOW_DAYS - 1):
        raise ValidationFailed("from", f"a window is at most {MAX_WINDOW_DAYS} days")
    return await service.kpis(session, await service.get_visible(session, principal, region_id), since, until)


@placements.get("/{store_id}/area", response_model=StorePlacement, responses=problem_responses(NotFound))
async def get_placement(store_id: str, session: SessionDep, principal: StoreReader):
    """Where the store is now and every area it was in before."""
    return await service.placement(session, await stores.get_visible(session, principal, store_id))


@placements.put("/{store_id}/area", response_model=StorePlacement,
                responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def move_store(store_id: str, body: StoreMove, session: SessionDep, clock: ClockDep, principal: HqAdmin):
    """Place the store in an area, or move it to another (its figures before the move stay
    with the region they were made in)."""
    store = await stores.get_visible(session, principal, store_id, for_update=True)
    return await service.place(session, clock, principal, store, body)
