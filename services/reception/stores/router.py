from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.common.api import ClockDep, SessionDep, TransactionalRoute
from services.common.errors import Forbidden, NotFound, StaleVersion, ValidationFailed, problem_responses
from services.reception.shared.router import ID_PATTERN, Caller, IfMatch, Manager, SettingsDep, tag
from services.reception.stores import service
from services.reception.stores.schemas import StoreSettingsPublic, StoreSettingsUpdate

router = APIRouter(prefix="/v1/stores", tags=["store settings"], route_class=TransactionalRoute)
StoreId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get("/{store_id}/settings", response_model=StoreSettingsPublic, responses=problem_responses(NotFound))
async def get_settings(store_id: StoreId, session: SessionDep, settings: SettingsDep, principal: Caller,
                       response: Response):
    """The store's reception settings in force: its own, or the group's defaults (`source`)."""
    answer = await service.read(session, settings, principal, store_id)
    tag(response, answer.version)
    return answer


@router.put("/{store_id}/settings", response_model=StoreSettingsPublic,
            responses=problem_responses(NotFound, Forbidden, StaleVersion, ValidationFailed))
async def put_settings(store_id: StoreId, body: StoreSettingsUpdate, session: SessionDep, clock: ClockDep,
                       settings: SettingsDep, principal: Manager, expected: IfMatch,
                       response: Response):
    """Whether, and from what estimate, this store's orders wait for the service manager's sign-off."""
    answer = await service.update(session, clock, settings, principal, store_id, body, expected)
    tag(response, answer.version)
    return answer
