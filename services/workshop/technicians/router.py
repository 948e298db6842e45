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
from services.common.errors import Conflict, NotFound, StaleVersion, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.workshop.technicians import service
from services.workshop.technicians.schemas import (
    TechnicianCreate,
    TechnicianList,
    TechnicianPublic,
    TechnicianUpdate,
    skill_categories,
)

router = APIRouter(prefix="/v1/technicians", tags=["technicians"], route_class=TransactionalRoute)
Reader = Annotated[Principal, Depends(require_access("workshop_jobs"))]
# Managing the roster is a manager's job, not one a technician does for themselves.
Manager = Annotated[Principal, Depends(require_roles("hq_admin", "store_manager", "outlet_api"))]


@router.post("", status_code=201, response_model=TechnicianPublic,
             responses=problem_responses(Conflict, NotFound, ValidationFailed))
async def create_technician(body: TechnicianCreate, session: SessionDep, clock: ClockDep, principal: Manager):
    return service.public(await service.create(session, clock, principal, body), principal)


@router.get("", response_model=TechnicianList, responses=problem_responses(ValidationFailed))
async def list_technicians(session: SessionDep, principal: Reader, limit: LimitQuery = 50, cursor: CursorQuery = None,
                           store_id: Annotated[str | None, Query()] = None,
                           skill: Annotated[str | None, Query(description="an operation category")] = None,
                           active: Annotated[bool | None, Query()] = None):
    if skill is not None and skill not in skill_categories():
        raise ValidationFailed("skill", "not an operation category")
    return await service.list_technicians(session, principal, store_id=store_id, limit=limit, cursor=cursor,
                                          skill=skill, active=active)


@router.get("/{technician_id}", response_model=TechnicianPublic, responses=problem_responses(NotFound))
async def get_technician(technician_id: str, session: SessionDep, principal: Reader):
    return service.public(await service.get_visible(session, principal, technician_id), principal)


@router.patch("/{technician_id}", response_model=TechnicianPublic,
              responses=problem_responses(NotFound, Conflict, StaleVersion))
async def update_technician(technician_id: str, body: TechnicianUpdate, session: SessionDep, clock: ClockDep,
                            principal: Manager):
    return service.public(await service.update(session, clock, principal, technician_id, body), principal)
