from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import (
    ClockDep,
    CursorQuery,
    LimitQuery,
    SessionDep,
    TransactionalRoute,
    require_access,
    require_roles,
)
from services.common.errors import Forbidden, InvalidTransition, NotFound, StaleVersion, problem_responses
from services.common.identity import Principal
from services.common.versioning import IfMatch, check_version
from services.network.part_returns import service
from services.network.part_returns.schemas import (
    PartReturnList,
    PartReturnPublic,
    PartReturnReceive,
    PartReturnShip,
    PartReturnStatus,
)

router = APIRouter(prefix="/v1/part-returns", tags=["old-part returns"], route_class=TransactionalRoute)
Access = Annotated[Principal, Depends(require_access("claims"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]


@router.get("", response_model=PartReturnList)
async def list_part_returns(session: SessionDep, clock: ClockDep, principal: Access, limit: LimitQuery = 50,
                            cursor: CursorQuery = None, store_id: Annotated[str | None, Query()] = None,
                            status: Annotated[PartReturnStatus | None, Query()] = None):
    return await service.list_returns(session, principal, clock, limit=limit, cursor=cursor, store_id=store_id,
                                      status=status)


@router.get("/{return_id}", response_model=PartReturnPublic, responses=problem_responses(NotFound))
async def get_part_return(return_id: str, session: SessionDep, clock: ClockDep, principal: Access):
    return service.public(await service.get_visible(session, principal, return_id), clock.now())


@router.post("/{return_id}/ship", response_model=PartReturnPublic,
             responses=problem_responses(NotFound, Forbidden, InvalidTransition, StaleVersion))
async def ship_part_return(return_id: str, body: PartReturnShip, session: SessionDep, clock: ClockDep,
                           principal: Access, if_match: IfMatch = None):
    row = await service.get_visible(session, principal, return_id, for_update=True)
    check_version(row.version, if_match)
    return service.public(await service.ship(session, clock, principal, row, body), clock.now())


@router.post("/{return_id}/receive", response_model=PartReturnPublic,
             responses=problem_responses(NotFound, InvalidTransition, StaleVersion))
async def receive_part_return(return_id: str, body: PartReturnReceive, session: SessionDep, clock: ClockDep,
                              principal: HqAdmin, if_match: IfMatch = None):
    row = await service.get_visible(session, principal, return_id, for_update=True)
    check_version(row.version, if_match)
    return service.public(await service.receive(session, clock, principal, row, body), clock.now())
