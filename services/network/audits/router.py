from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.common.api import (
    ClockDep,
    CursorQuery,
    LimitQuery,
    SessionDep,
    TransactionalRoute,
    require_access,
    require_roles,
)
from services.common.errors import InvalidTransition, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.network.audits import service
from services.network.audits.schemas import (
    ActionStatus,
    AuditCreate,
    AuditList,
    AuditPublic,
    CorrectiveActionClose,
    CorrectiveActionList,
    CorrectiveActionPublic,
)
from services.network.stores import service as stores

router = APIRouter(prefix="/v1/stores/{store_id}", tags=["audits"], route_class=TransactionalRoute)
Reader = Annotated[Principal, Depends(require_access("network"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]


@router.post("/audits", status_code=201, response_model=AuditPublic,
             responses=problem_responses(NotFound, ValidationFailed))
async def record_audit(store_id: str, body: AuditCreate, request: Request, session: SessionDep, clock: ClockDep,
                       principal: HqAdmin):
    store = await stores.get_visible(session, principal, store_id)
    audit, actions = await service.record(session, clock, request.app.state.settings, principal, store, body)
    return service.audit_public(audit, actions, clock.now())


@router.get("/audits", response_model=AuditList, responses=problem_responses(NotFound))
async def list_audits(store_id: str, session: SessionDep, clock: ClockDep, principal: Reader,
                      limit: LimitQuery = 50, cursor: CursorQuery = None):
    store = await stores.get_visible(session, principal, store_id)
    return await service.list_audits(session, clock, store, limit=limit, cursor=cursor)


@router.get("/audits/{audit_id}", response_model=AuditPublic, responses=problem_responses(NotFound))
async def get_audit(store_id: str, audit_id: str, session: SessionDep, clock: ClockDep, principal: Reader):
    store = await stores.get_visible(session, principal, store_id)
    return await service.get_audit(session, clock, store, audit_id)


@router.get("/corrective-actions", response_model=CorrectiveActionList, responses=problem_responses(NotFound))
async def list_corrective_actions(store_id: str, session: SessionDep, clock: ClockDep, principal: Reader,
                                  limit: LimitQuery = 50, cursor: CursorQuery = None,
                                  status: Annotated[ActionStatus | None, Query()] = None):
    store = await stores.get_visible(session, principal, store_id)
    return await service.list_corrective_actions(session, clock, store, limit=limit, cursor=cursor, status=status)


@router.post("/corrective-actions/{action_id}/close", response_model=CorrectiveActionPublic,
             responses=problem_responses(NotFound, InvalidTransition))
async def close_corrective_action(store_id: str, action_id: str, body: CorrectiveActionClose, session: SessionDep,
                                  clock: ClockDep, principal: HqAdmin):
    store = await stores.get_visible(session, principal, store_id)
    action = await service.close_action(session, clock, principal, store, action_id, body.resolution)
    return service.action_public(action, clock.now())
