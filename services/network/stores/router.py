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
from services.common.errors import Conflict, InvalidTransition, NotFound, problem_responses
from services.common.identity import Principal
from services.network.stores import service
from services.network.stores.schemas import StoreCreate, StoreList, StorePublic, StoreSuspend

router = APIRouter(prefix="/v1/stores", tags=["stores"], route_class=TransactionalRoute)
Reader = Annotated[Principal, Depends(require_access("network"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]


@router.post("", status_code=201, response_model=StorePublic, responses=problem_responses(Conflict))
async def create_store(body: StoreCreate, session: SessionDep, clock: ClockDep, principal: HqAdmin):
    return await service.create_store(session, clock, body, principal)


@router.get("", response_model=StoreList)
async def list_stores(session: SessionDep, principal: Reader, limit: LimitQuery = 50, cursor: CursorQuery = None,
                      status: Annotated[str | None, Query()] = None, kind: Annotated[str | None, Query()] = None):
    return await service.list_stores(session, principal, limit=limit, cursor=cursor, status=status, kind=kind)


@router.get("/{store_id}", response_model=StorePublic, responses=problem_responses(NotFound))
async def get_store(store_id: str, session: SessionDep, principal: Reader):
    return await service.get_visible(session, principal, store_id)


@router.post("/{store_id}/suspend", response_model=StorePublic,
             responses=problem_responses(NotFound, InvalidTransition))
async def suspend_store(store_id: str, body: StoreSuspend, session: SessionDep, clock: ClockDep, principal: HqAdmin):
    store = await service.get_visible(session, principal, store_id)
    return await service.suspend(session, clock, store, body.reason)
