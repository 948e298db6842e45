from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access, require_roles
from services.common.errors import (
    Conflict, Forbidden, InvalidTransition, NotFound, StaleVersion, ValidationFailed, problem_responses,
)
from services.common.identity import Principal
from services.common.stores import visible_store_filter
from services.network.claims import repository, service
from services.network.claims.models import Claim
from services.network.claims.schemas import ClaimCreate, ClaimDecision, ClaimList, ClaimPublic, ClaimResubmit, ClaimStatus
from services.network.stores import service as stores
from services.common.versioning import IfMatch, check_version

router = APIRouter(prefix="/v1/claims", tags=["warranty claims"], route_class=TransactionalRoute)
Access = Annotated[Principal, Depends(require_access("claims"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]


async def _submitting_store(session, principal: Principal):
    """Stores submit claims for themselves; HQ reviews them and never submits."""
    if not principal.store_id:
        raise Forbidden("warranty claims are submitted by the store that did the work")
    store = await stores.get_visible(session, principal, principal.store_id)
    if store.status != "active":
        raise Conflict(f"store {store.code} is {store.status}", current_state=store.status)
    return store


async def _answer(session, claim: Claim, with_history: bool = True) -> ClaimPublic:
    lines = (await repository.lines_of(session, [claim.id]))[claim.id]
    history = await repository.history_of(session, claim.id) if with_history else None
    return service.public(claim, lines, history)


@router.post("", status_code=201, response_model=ClaimPublic,
             responses=problem_responses(Forbidden, Conflict, ValidationFailed))
async def submit_claim(body: ClaimCreate, session: SessionDep, clock: ClockDep, principal: Access):
    store = await _submitting_store(session, principal)
    return await _answer(session, await service.submit(session, clock, principal, store, body))


@router.get("", response_model=ClaimList)
async def list_claims(session: SessionDep, principal: Access, limit: LimitQuery = 50, cursor: CursorQuery = None,
                      store_id: Annotated[str | None, Query()] = None,
                      status: Annotated[ClaimStatus | None, Query()] = None,
                      repair_order_id: Annotated[str | None, Query()] = None):
    if principal.store_id and store_id and store_id != principal.store_id:
        return ClaimList(items=[], next_cursor=None)
    rows, next_cursor = await repository.page(
        session, limit=limit, cursor=cursor, store_filter=visible_store_filter(principal, Claim.store_id, store_id),
        status=status, repair_order_id=repair_order_id)
    lines = await repository.lines_of(session, [r.id for r in rows])
    return ClaimList(items=[service.public(r, lines[r.id]) for r in rows], next_cursor=next_cursor)


@router.get("/{claim_id}", response_model=ClaimPublic, responses=problem_responses(NotFound))
async def get_claim(claim_id: str, session: SessionDep, principal: Access):
    return await _answer(session, await service.get_visible(session, principal, claim_id))


@router.post("/{claim_id}/decision", response_model=ClaimPublic,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed, StaleVersion))
async def decide_claim(claim_id: str, body: ClaimDecision, session: SessionDep, clock: ClockDep, principal: HqAdmin,
                       if_match: IfMatch = None):
    claim = await service.get_visible(session, principal, claim_id, for_update=True)
    check_version(claim.version, if_match)
    return await _answer(session, await service.decide(session, clock, principal, claim, body))


@router.post("/{claim_id}/resubmit", response_model=ClaimPublic,
             responses=problem_responses(NotFound, Forbidden, InvalidTransition, ValidationFailed, StaleVersion))
async def resubmit_claim(claim_id: str, body: ClaimResubmit, session: SessionDep, clock: ClockDep, principal: Access,
                         if_match: IfMatch = None):
    store = await _submitting_store(session, principal)
    claim = await service.get_visible(session, principal, claim_id, for_update=True)
    check_version(claim.version, if_match)
    return await _answer(session, await service.resubmit(session, clock, principal, store, claim, body))
