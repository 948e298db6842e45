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
from services.network.claims import service
from services.network.claims.schemas import (
    ClaimCreate,
    ClaimDecision,
    ClaimList,
    ClaimPublic,
    ClaimResubmit,
    ClaimStatus,
)

router = APIRouter(prefix="/v1/claims", tags=["warranty claims"], route_class=TransactionalRoute)
Access = Annotated[Principal, Depends(require_access("claims"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]


@router.post("", status_code=201, response_model=ClaimPublic,
             responses=problem_responses(Forbidden, Conflict, ValidationFailed))
async def submit_claim(body: ClaimCreate, session: SessionDep, clock: ClockDep, principal: Access):
    store = await service.submitting_store(session, principal)
    return await service.full_public(session, await service.submit(session, clock, principal, store, body))


@router.get("", response_model=ClaimList)
async def list_claims(session: SessionDep, principal: Access, limit: LimitQuery = 50, cursor: CursorQuery = None,
                      store_id: Annotated[str | None, Query()] = None,
                      status: Annotated[ClaimStatus | None, Query()] = None,
                      repair_order_id: Annotated[str | None, Query()] = None):
    return await service.list_claims(session, principal, limit=limit, cursor=cursor, store_id=store_id, status=status,
                                     repair_order_id=repair_order_id)


@router.get("/{claim_id}", response_model=ClaimPublic, responses=problem_responses(NotFound))
async def get_claim(claim_id: str, session: SessionDep, principal: Access):
    return await service.full_public(session, await service.get_visible(session, principal, claim_id))


@router.post("/{claim_id}/decision", response_model=ClaimPublic,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed, StaleVersion))
async def decide_claim(claim_id: str, body: ClaimDecision, session: SessionDep, clock: ClockDep, principal: HqAdmin,
                       if_match: IfMatch = None):
    claim = await service.get_visible(session, principal, claim_id, for_update=True)
    check_version(claim.version, if_match)
    return await service.full_public(session, await service.decide(session, clock, principal, claim, body))


@router.post("/{claim_id}/resubmit", response_model=ClaimPublic,
             responses=problem_responses(NotFound, Forbidden, InvalidTransition, ValidationFailed, StaleVersion))
async def resubmit_claim(claim_id: str, body: ClaimResubmit, session: SessionDep, clock: ClockDep, principal: Access,
                         if_match: IfMatch = None):
    store = await service.submitting_store(session, principal)
    claim = await service.get_visible(session, principal, claim_id, for_update=True)
    check_version(claim.version, if_match)
    return await service.full_public(session, await service.resubmit(session, clock, principal, store, claim, body))
