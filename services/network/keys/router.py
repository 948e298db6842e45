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
from services.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.network.keys import service
from services.network.keys.schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyList,
    ApiKeyPublic,
    IntrospectRequest,
    IntrospectResult,
)

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"], route_class=TransactionalRoute)
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]
Reader = Annotated[Principal, Depends(require_access("network"))]
Gateway = Annotated[Principal, Depends(require_roles("system"))]


@router.post("", status_code=201, response_model=ApiKeyIssued, responses=problem_responses(Conflict, ValidationFailed))
async def issue_key(body: ApiKeyCreate, session: SessionDep, clock: ClockDep, principal: HqAdmin):
    key, token = await service.issue(session, clock, principal, body)
    return ApiKeyIssued(**key.model_dump(), key=token)


@router.get("", response_model=ApiKeyList)
async def list_keys(session: SessionDep, principal: Reader, limit: LimitQuery = 50, cursor: CursorQuery = None,
                    store_id: Annotated[str | None, Query()] = None):
    return await service.list_keys(session, principal, limit=limit, cursor=cursor, store_id=store_id)


@router.get("/{key_id}", response_model=ApiKeyPublic, responses=problem_responses(NotFound))
async def get_key(key_id: str, session: SessionDep, principal: Reader):
    return await service.get_visible(session, principal, key_id)


@router.delete("/{key_id}", response_model=ApiKeyPublic, responses=problem_responses(NotFound, InvalidTransition))
async def revoke_key(key_id: str, session: SessionDep, clock: ClockDep, principal: HqAdmin,
                     reason: Annotated[str | None, Query(min_length=1, max_length=500)] = None):
    return await service.revoke(session, clock, principal, key_id, reason)


# For the gateway only (signed with the system role); not part of the public contract.
internal = APIRouter(prefix="/v1/internal", tags=["internal"], route_class=TransactionalRoute, include_in_schema=False)


@internal.post("/introspect", response_model=IntrospectResult)
async def introspect(body: IntrospectRequest, session: SessionDep, _: Gateway):
    return await service.introspect(session, body.key)
