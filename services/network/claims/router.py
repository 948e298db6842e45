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
from services.network.claims import chargebacks, service
from services.network.claims.kinds import Kind
from services.network.claims.schemas import (
    ChargebackCreate,
    ChargebackPublic,
    ClaimCreate,
    ClaimDecision,
    ClaimList,
    ClaimPublic,
    ClaimResubmit,
    ClaimStatus,
)
from services.network.goodwill import router as goodwill
from services.network.part_returns import service as part_returns
from services.network.part_returns.schemas import PartReturnPublic

router = APIRouter(prefix="/v1/claims", tags=["warranty claims"], route_class=TransactionalRoute)
Access = Annotated[Principal, Depends(require_access("claims"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]
# A region manager reviews its regions' claims up to the region's limit (service.decide).
Reviewer = Annotated[Principal, Depends(require_roles("hq_admin", "region_manager"))]
# Before the routes below, so that /v1/claims/goodwill-authorisations is not read as a claim's id.
router.include_router(goodwill.router)


@router.post("", status_code=201, response_model=ClaimPublic,
             responses=problem_responses(Forbidden, Conflict, ValidationFailed))
async def submit_claim(body: ClaimCreate, session: SessionDep, clock: ClockDep, principal: Access):
    store = await service.submitting_store(session, principal)
    return await service.full_public(session, clock, await service.submit(session, clock, principal, store, body))


@router.get("", response_model=ClaimList, responses=problem_responses(ValidationFailed))
async def list_claims(session: SessionDep, principal: Access, limit: LimitQuery = 50, cursor: CursorQuery = None,
                      store_id: Annotated[str | None, Query()] = None,
                      status: Annotated[ClaimStatus | None, Query()] = None,
                      repair_order_id: Annotated[str | None, Query()] = None,
                      kind: Annotated[Kind | None, Query()] = None,
                      region_id: Annotated[str | None, Query(min_length=1, max_length=64, description=(
                          "the claims of the stores in this region now (422 for a region unknown to the caller)"))
                      ] = None):
    return await service.list_claims(session, principal, limit=limit, cursor=cursor, store_id=store_id, status=status,
                                     repair_order_id=repair_order_id, kind=kind, region_id=region_id)


@router.get("/{claim_id}", response_model=ClaimPublic, responses=problem_responses(NotFound))
async def get_claim(claim_id: str, session: SessionDep, clock: ClockDep, principal: Access):
    return await service.full_public(session, clock, await service.get_visible(session, principal, claim_id))


@router.post("/{claim_id}/decision", response_model=ClaimPublic,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed, StaleVersion))
async def decide_claim(claim_id: str, body: ClaimDecision, session: SessionDep, clock: ClockDep,
                       principal: Reviewer, if_match: IfMatch = None):
    claim = await service.get_visible(session, principal, claim_id, for_update=True)
    check_version(claim.version, if_match)
    return await service.full_public(session, clock, await service.decide(session, clock, principal, claim, body))


@router.post("/{claim_id}/submit", response_model=ClaimPublic,
             responses=problem_responses(NotFound, Forbidden, InvalidTransition, ValidationFailed, StaleVersion))
async def submit_draft_claim(claim_id: str, session: SessionDep, clock: ClockDep, principal: Access,
                             if_match: IfMatch = None):
    """The store submits a claim that drafted itself (a campaign claim)."""
    store = await service.submitting_store(session, principal)
    claim = await service.get_visible(session, principal, claim_id, for_update=True)
    check_version(claim.version, if_match)
    return await service.full_public(session, clock, await service.submit_draft(session, clock, principal, store,
                                                                                 claim))


@router.post("/{claim_id}/resubmit", response_model=ClaimPublic,
             responses=problem_responses(NotFound, Forbidden, InvalidTransition, ValidationFailed, StaleVersion))
async def resubmit_claim(claim_id: str, body: ClaimResubmit, session: SessionDep, clock: ClockDep, principal: Access,
                         if_match: IfMatch = None):
    store = await service.submitting_store(session, principal)
    claim = await service.get_visible(session, principal, claim_id, for_update=True)
    check_version(claim.version, if_match)
    resubmitted = await service.resubmit(session, clock, principal, store, claim, body)
    return await service.full_public(session, clock, resubmitted)


@router.post("/{claim_id}/lines/{line_id}/return-required", status_code=201, response_model=PartReturnPublic,
             responses=problem_responses(NotFound, Conflict, InvalidTransition, ValidationFailed))
async def require_part_return(claim_id: str, line_id: str, session: SessionDep, clock: ClockDep,
                              principal: HqAdmin):
    """HQ wants the old part of this line back (旧件回收): it goes on the store's return list."""
    claim = await service.get_visible(session, principal, claim_id, for_update=True)
    return part_returns.public(await part_returns.mark(session, clock, principal, claim, line_id), clock.now())


@router.post("/{claim_id}/chargebacks", status_code=201, response_model=ChargebackPublic,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed))
@router.post("/{claim_id}/chargeback", status_code=201, response_model=ChargebackPublic,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed),
             summary="Charge back a claim (API.md's path)")
async def charge_back_claim(claim_id: str, body: ChargebackCreate, session: SessionDep, clock: ClockDep,
                            principal: HqAdmin):
    """HQ takes money back from a paid claim after a post-payment audit; the debit lands on
    the store's next settlement."""
    claim = await service.get_visible(session, principal, claim_id, for_update=True)
    return chargebacks.public(await chargebacks.after_audit(session, clock, principal, claim, body))
