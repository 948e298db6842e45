from typing import Annotated

from fastapi import APIRouter, Body, Depends

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access, require_roles
from services.common.errors import InvalidTransition, NotFound, problem_responses
from services.common.identity import Principal
from services.network.onboarding import service
from services.network.onboarding.schemas import Checklist, ItemComplete
from services.network.stores import service as stores
from services.network.stores.schemas import StorePublic

router = APIRouter(prefix="/v1/stores", tags=["onboarding"], route_class=TransactionalRoute)
Reader = Annotated[Principal, Depends(require_access("network"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]


async def _locked_store(session, principal: Principal, store_id: str):
    # Locked so activation and checklist changes of one store are decided one at a time.
    return await stores.get_visible(session, principal, store_id, for_update=True)


@router.get("/{store_id}/onboarding", response_model=Checklist, responses=problem_responses(NotFound))
async def get_checklist(store_id: str, session: SessionDep, principal: Reader):
    return await service.checklist(session, await stores.get_visible(session, principal, store_id))


@router.post("/{store_id}/onboarding/{item_code}/complete", response_model=Checklist,
             responses=problem_responses(NotFound, InvalidTransition))
async def complete_item(store_id: str, item_code: str, session: SessionDep, clock: ClockDep, principal: HqAdmin,
                        body: Annotated[ItemComplete | None, Body()] = None):
    store = await _locked_store(session, principal, store_id)
    return await service.tick_off(session, clock, store, item_code, principal, body.note if body else None)


@router.post("/{store_id}/activate", response_model=StorePublic,
             responses=problem_responses(NotFound, InvalidTransition))
async def activate_store(store_id: str, session: SessionDep, clock: ClockDep, principal: HqAdmin):
    return await service.activate(session, clock, await _locked_store(session, principal, store_id))
