from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    StaleVersion,
    ValidationFailed,
    problem_responses,
)
from services.reception.roadside import service
from services.reception.roadside.models import RoadsideRequest
from services.reception.roadside.schemas import (
    Arrive,
    Dispatch,
    Resolve,
    RoadsideCreate,
    RoadsideList,
    RoadsidePublic,
    RoadsideStatus,
)
from services.reception.shared.router import Caller, IfMatch, RoadsideId, StoreQuery, VinQuery, tag
from services.reception.shared.service import check_version

router = APIRouter(prefix="/v1/roadside-requests", tags=["roadside assistance"], route_class=TransactionalRoute)
ACTION_PROBLEMS = problem_responses(NotFound, InvalidTransition, StaleVersion, ValidationFailed, Forbidden)


@router.post("", status_code=201, response_model=RoadsidePublic,
             responses=problem_responses(Conflict, ValidationFailed, Forbidden))
async def request_assistance(body: RoadsideCreate, session: SessionDep, clock: ClockDep, principal: Caller,
                             response: Response):
    req = await service.request(session, clock, principal, body)
    tag(response, req.version, f"roadside-requests/{req.id}")
    return await service.public(session, req)


@router.get("", response_model=RoadsideList)
async def list_requests(session: SessionDep, principal: Caller, limit: LimitQuery = 50, cursor: CursorQuery = None,
                        status: Annotated[RoadsideStatus | None, Query()] = None,
                        vin: VinQuery = None,
                        store_id: StoreQuery = None):
    return await service.list_requests(session, principal, limit=limit, cursor=cursor, store_id=store_id,
                                       status=status, vin=vin)


@router.get("/{roadside_id}", response_model=RoadsidePublic, responses=problem_responses(NotFound))
async def get_request(roadside_id: RoadsideId, session: SessionDep, principal: Caller, response: Response):
    req = await service.get_visible(session, principal, roadside_id)
    tag(response, req.version)
    return await service.public(session, req)


async def _for_change(session, principal, roadside_id: str, expected: int | None) -> RoadsideRequest:
    req = await service.get_visible(session, principal, roadside_id, for_update=True)
    check_version(req.version, expected)
    return req


@router.post("/{roadside_id}/dispatch", response_model=RoadsidePublic, responses=ACTION_PROBLEMS)
async def dispatch(roadside_id: RoadsideId, body: Dispatch, session: SessionDep, clock: ClockDep, principal: Caller,
                   expected: IfMatch, response: Response):
    req = await _for_change(session, principal, roadside_id, expected)
    await service.dispatch(session, clock, principal, req, body)
    tag(response, req.version)
    return await service.public(session, req)


@router.post("/{roadside_id}/arrive", response_model=RoadsidePublic, responses=ACTION_PROBLEMS)
async def arrive(roadside_id: RoadsideId, session: SessionDep, clock: ClockDep, principal: Caller, expected: IfMatch,
                 response: Response, body: Arrive | None = None):
    req = await _for_change(session, principal, roadside_id, expected)
    await service.arrive(session, clock, principal, req, body)
    tag(response, req.version)
    return await service.public(session, req)


@router.post("/{roadside_id}/resolve", response_model=RoadsidePublic, responses=ACTION_PROBLEMS)
async def resolve(roadside_id: RoadsideId, body: Resolve, session: SessionDep, clock: ClockDep, principal: Caller,
                  expected: IfMatch, response: Response):
    """Close the call; `towed` opens a repair order for the car (its id is on the answer)."""
    req = await _for_change(session, principal, roadside_id, expected)
    await service.resolve(session, clock, principal, req, body)
    tag(response, req.version)
    return await service.public(session, req)
