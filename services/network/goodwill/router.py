"""Goodwill pre-authorisations, under /v1/claims (the claims area of the permission matrix):
the claims router includes this one before its own `/{claim_id}` routes."""
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
    Forbidden,
    InvalidTransition,
    NotFound,
    StaleVersion,
    ValidationFailed,
    problem_responses,
)
from services.common.identity import Principal
from services.common.versioning import IfMatch, check_version
from services.network.goodwill import service
from services.network.goodwill.schemas import (
    AuthorisationCreate,
    AuthorisationDecision,
    AuthorisationList,
    AuthorisationPublic,
    AuthorisationStatus,
)

_routes = APIRouter(tags=["goodwill pre-authorisations"], route_class=TransactionalRoute)
Access = Annotated[Principal, Depends(require_access("claims"))]
# The store's warranty clerk or service manager asks; HQ answers.
Asker = Annotated[Principal, Depends(require_roles("warranty_clerk", "service_manager"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]


@_routes.post("", status_code=201, response_model=AuthorisationPublic,
             responses=problem_responses(Forbidden, ValidationFailed))
async def request_authorisation(body: AuthorisationCreate, session: SessionDep, clock: ClockDep, principal: Asker):
    """The store asks HQ, before the repair, to pay for it out of goodwill."""
    return service.public(await service.request(session, clock, principal, body))


@_routes.get("", response_model=AuthorisationList)
async def list_authorisations(session: SessionDep, principal: Access, limit: LimitQuery = 50,
                              cursor: CursorQuery = None, store_id: Annotated[str | None, Query(max_length=64)] = None,
                              status: Annotated[AuthorisationStatus | None, Query()] = None,
                              vin: Annotated[str | None, Query(max_length=17)] = None):
    return await service.list_authorisations(session, principal, limit=limit, cursor=cursor, store_id=store_id,
                                             status=status, vin=vin)


@_routes.get("/{authorisation_id}", response_model=AuthorisationPublic, responses=problem_responses(NotFound))
async def get_authorisation(authorisation_id: str, session: SessionDep, principal: Access):
    return service.public(await service.get_visible(session, principal, authorisation_id))


@_routes.post("/{authorisation_id}/decision", response_model=AuthorisationPublic,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed, StaleVersion))
async def decide_authorisation(authorisation_id: str, body: AuthorisationDecision, session: SessionDep,
                               clock: ClockDep, principal: HqAdmin, if_match: IfMatch = None):
    """HQ grants (at most what was asked) or refuses."""
    row = await service.get_visible(session, principal, authorisation_id, for_update=True)
    check_version(row.version, if_match)
    return service.public(await service.decide(session, clock, principal, row, body))


# Under the claims (`/v1/claims/goodwill-authorisations`), and at API.md's `/v1/preauthorisations`.
router = APIRouter()
router.include_router(_routes, prefix="/goodwill-authorisations")
preauthorisations = APIRouter()
preauthorisations.include_router(_routes, prefix="/v1/preauthorisations")
