from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from services.common import idempotency
from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
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
from services.common.versioning import IfMatch
from services.network.people import service
from services.network.people.schemas import (
    AssignmentsReplace,
    PersonCreate,
    PersonLeave,
    PersonList,
    PersonPublic,
    PersonStatus,
    SignInIssued,
    StaffRole,
)
from services.network.people.service import SignInUnavailable
from services.network.settings import NetworkSettings

router = APIRouter(prefix="/v1/people", tags=["staff directory"], route_class=TransactionalRoute)
# Reads and writes by the matrix's `people` area; the service adds which store and role.
Access = Annotated[Principal, Depends(require_access("people"))]


def _settings(request: Request) -> NetworkSettings:
    return request.app.state.settings


SettingsDep = Annotated[NetworkSettings, Depends(_settings)]


@router.post("", status_code=201, response_model=PersonPublic,
             responses=problem_responses(Forbidden, Conflict, ValidationFailed))
async def register_person(body: PersonCreate, session: SessionDep, clock: ClockDep, principal: Access):
    return await service.register(session, clock, principal, body)


@router.get("", response_model=PersonList)
async def list_people(session: SessionDep, principal: Access, limit: LimitQuery = 50, cursor: CursorQuery = None,
                      store_id: Annotated[str | None, Query(max_length=64)] = None,
                      status: Annotated[PersonStatus | None, Query()] = None,
                      role: Annotated[StaffRole | None, Query()] = None):
    return await service.list_people(session, principal, limit=limit, cursor=cursor, store_id=store_id,
                                     status=status, role=role)


@router.get("/{person_id}", response_model=PersonPublic, responses=problem_responses(NotFound))
async def get_person(person_id: str, session: SessionDep, principal: Access):
    person, assignments = await service.get_visible(session, principal, person_id)
    return service.public(person, assignments, principal)


@router.put("/{person_id}/assignments", response_model=PersonPublic,
            responses=problem_responses(NotFound, Forbidden, Conflict, InvalidTransition, ValidationFailed,
                                        StaleVersion))
async def replace_assignments(person_id: str, body: AssignmentsReplace, session: SessionDep, clock: ClockDep,
                              principal: Access, if_match: IfMatch = None):
    return await service.replace_assignments(session, clock, principal, person_id, body, if_match)


@router.post("/{person_id}/leave", response_model=PersonPublic,
             responses=problem_responses(NotFound, Forbidden, InvalidTransition, ValidationFailed))
async def record_leave(person_id: str, session: SessionDep, clock: ClockDep, principal: Access,
                       body: PersonLeave | None = None):
    return await service.leave(session, clock, principal, person_id, body or PersonLeave())


@router.post("/{person_id}/sign-in", status_code=201, response_model=SignInIssued,
             responses=problem_responses(NotFound, Forbidden, Conflict, ValidationFailed, SignInUnavailable))
async def issue_sign_in(person_id: str, request: Request, response: Response, session: SessionDep,
                        principal: Access, settings: SettingsDep):
    """A one-time password for the person's sign-in at the group's identity provider, which asks
    them to choose their own at the first sign-in. Answered once: nothing here keeps it."""
    if idempotency.HEADER in request.headers:
        # A replay would need the answer stored, password and all; issuing again is the retry.
        raise ValidationFailed(idempotency.HEADER, "not taken here: the answer holds a one-time password that is "
                                                   "kept nowhere to be replayed; a retry issues a new one")
    response.headers["Cache-Control"] = "no-store"
    return await service.issue_sign_in(session, principal, person_id, settings.provider_admin)
