from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request

from services.common.api import (
    ClockDep,
    CursorQuery,
    LimitQuery,
    PrincipalDep,
    SessionDep,
    TransactionalRoute,
    require_roles,
)
from services.common.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    TooManyRequests,
    ValidationFailed,
    problem_responses,
)
from services.common.identity import Principal
from services.network.applications import service
from services.network.applications.schemas import (
    ApplicationCreate,
    ApplicationList,
    ApplicationPublic,
    ApplicationReview,
    ApplicationStatus,
    ApplicationSubmitted,
)

router = APIRouter(prefix="/v1/outlet-applications", tags=["outlet applications"], route_class=TransactionalRoute)
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]
HqReader = Annotated[Principal, Depends(require_roles("hq_admin", "hq_analyst", "region_manager"))]


async def rate_limited_applicant(request: Request, principal: PrincipalDep) -> Principal:
    """The form is public (the gateway signs such callers as `anonymous`, id `anon:<address>`);
    each address gets a bounded number of attempts."""
    request.app.state.application_limiter.hit(service.client_key(principal), request.app.state.clock.now())
    return principal


Applicant = Annotated[Principal, Depends(rate_limited_applicant)]


@router.post("", status_code=201, response_model=ApplicationSubmitted,
             responses=problem_responses(Conflict, ValidationFailed, TooManyRequests))
async def submit_application(body: ApplicationCreate, session: SessionDep, clock: ClockDep, principal: Applicant,
                             request: Request):
    # After the address's limit (Applicant): one applicant from many addresses is bounded too.
    request.app.state.licence_limiter.hit(service.licence_key(body.license_no), clock.now())
    application, token = await service.submit(session, clock, principal, body)
    return ApplicationSubmitted(id=application.id, status=application.status, status_token=token,
                                submitted_at=application.submitted_at)


@router.get("", response_model=ApplicationList)
async def list_applications(session: SessionDep, principal: HqReader, limit: LimitQuery = 50,
                            cursor: CursorQuery = None, status: Annotated[ApplicationStatus | None, Query()] = None):
    return await service.list_applications(session, principal, limit=limit, cursor=cursor, status=status)


@router.get("/{application_id}", response_model=ApplicationPublic, responses=problem_responses(NotFound))
async def get_application(application_id: str, session: SessionDep, principal: PrincipalDep,
                          x_application_token: Annotated[str | None, Header(max_length=200)] = None):
    application = await service.get_for_caller(session, principal, application_id, x_application_token)
    return service.public(application, principal)


@router.post("/{application_id}/review", response_model=ApplicationPublic,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed))
async def review_application(application_id: str, body: ApplicationReview, session: SessionDep, clock: ClockDep,
                             principal: HqAdmin):
    return await service.review(session, clock, principal, application_id, body)
