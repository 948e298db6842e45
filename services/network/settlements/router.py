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
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    StaleVersion,
    ValidationFailed,
    problem_responses,
)
from services.common.identity import Principal
from services.common.versioning import IfMatch, check_version
from services.network.settlements import service
from services.network.settlements.schemas import (
    PERIOD,
    SettlementCreate,
    SettlementList,
    SettlementPay,
    SettlementPublic,
    SettlementStatus,
)
from services.network.stores import service as stores

router = APIRouter(prefix="/v1/settlements", tags=["settlements"], route_class=TransactionalRoute)
Access = Annotated[Principal, Depends(require_access("settlements"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]


@router.post("", status_code=201, response_model=SettlementPublic,
             responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def issue_settlement(body: SettlementCreate, session: SessionDep, clock: ClockDep, principal: HqAdmin):
    store = await stores.get_visible(session, principal, body.store_id)
    return await service.full_public(session, await service.issue(session, clock, principal, store, body.period))


@router.get("", response_model=SettlementList)
async def list_settlements(session: SessionDep, principal: Access, limit: LimitQuery = 50, cursor: CursorQuery = None,
                           store_id: Annotated[str | None, Query()] = None,
                           period: Annotated[str | None, Query(pattern=PERIOD)] = None,
                           status: Annotated[SettlementStatus | None, Query()] = None):
    return await service.list_settlements(session, principal, limit=limit, cursor=cursor, store_id=store_id,
                                          period=period, status=status)


@router.get("/{settlement_id}", response_model=SettlementPublic, responses=problem_responses(NotFound))
async def get_settlement(settlement_id: str, session: SessionDep, principal: Access):
    return await service.full_public(session, await service.get_visible(session, principal, settlement_id))


@router.post("/{settlement_id}/confirm", response_model=SettlementPublic,
             responses=problem_responses(NotFound, Forbidden, InvalidTransition, StaleVersion))
async def confirm_settlement(settlement_id: str, session: SessionDep, clock: ClockDep, principal: Access,
                             if_match: IfMatch = None):
    if not principal.store_id:
        raise Forbidden("the store confirms its own statement; HQ issues and pays")
    settlement = await service.get_visible(session, principal, settlement_id, for_update=True)
    check_version(settlement.version, if_match)
    return await service.full_public(session, await service.confirm(session, clock, principal, settlement))


@router.post("/{settlement_id}/pay", response_model=SettlementPublic,
             responses=problem_responses(NotFound, InvalidTransition, StaleVersion, ValidationFailed))
async def pay_settlement(settlement_id: str, body: SettlementPay, session: SessionDep, clock: ClockDep,
                         principal: HqAdmin, if_match: IfMatch = None):
    settlement = await service.get_visible(session, principal, settlement_id, for_update=True)
    check_version(settlement.version, if_match)
    return await service.full_public(session, await service.pay(session, clock, principal, settlement, body.reference))
