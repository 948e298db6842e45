from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import InvalidTransition, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.crm.churn import service
from services.crm.churn.schemas import CauseSet, ChurnList, ChurnPublic, Level, WinBackCallCreate

router = APIRouter(prefix="/v1/churn", tags=["churn"], route_class=TransactionalRoute)
Crm = Annotated[Principal, Depends(require_access("crm"))]


@router.get("", response_model=ChurnList, responses=problem_responses(ValidationFailed))
async def list_churn(session: SessionDep, clock: ClockDep, principal: Crm, limit: LimitQuery = 50,
                     cursor: CursorQuery = None, level: Level | None = None,
                     include_booked: Annotated[bool, Query(description="also those who have booked since")] = False,
                     include_ended: Annotated[bool, Query(description="also absences ended by a visit")] = False,
                     store_id: Annotated[str | None, Query(description="HQ: one store only")] = None):
    """Customers past their expected return with no booking, and why."""
    items, next_cursor = await service.list_churn(session, principal, clock.now(), store_id=store_id, level=level,
                                                  include_booked=include_booked, include_ended=include_ended,
                                                  limit=limit, cursor=cursor)
    return ChurnList(items=items, next_cursor=next_cursor)


@router.put("/{episode_id}/cause", response_model=ChurnPublic, responses=problem_responses(NotFound, ValidationFailed))
async def set_cause(episode_id: str, body: CauseSet, session: SessionDep, clock: ClockDep, principal: Crm):
    """Why the customer stayed away, chosen from data/churn_rules.json's causes."""
    episode = await service.set_cause(session, principal, episode_id, body.cause, body.note)
    return (await service.episodes_public(session, [episode], clock.now()))[0]


@router.post("/{episode_id}/win-back-calls", status_code=201, response_model=ChurnPublic,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed))
async def win_back_call(episode_id: str, body: WinBackCallCreate, session: SessionDep, clock: ClockDep,
                        principal: Crm):
    """A call to win the customer back and its result; their next visit is a car won back."""
    episode = await service.win_back_call(session, clock, principal, episode_id, body.result, body.note)
    return (await service.episodes_public(session, [episode], clock.now()))[0]
