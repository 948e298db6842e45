from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    StaleVersion,
    ValidationFailed,
    problem_responses,
)
from services.common.identity import Principal
from services.common.inputs import Moment
from services.common.versioning import IfMatch, expected_version
from services.crm.callbacks import service
from services.crm.callbacks.schemas import AttemptCreate, CallbackCancel, CallbackList, CallbackPublic, SurveyCreate

router = APIRouter(prefix="/v1/callbacks", tags=["callbacks"], route_class=TransactionalRoute)
Crm = Annotated[Principal, Depends(require_access("crm"))]


@router.get("", response_model=CallbackList, responses=problem_responses(ValidationFailed))
async def list_callbacks(session: SessionDep, clock: ClockDep, principal: Crm, limit: LimitQuery = 50,
                         cursor: CursorQuery = None,
                         status: Literal["pending", "completed", "unreachable", "cancelled"] | None = None,
                         kind: Literal["first", "follow_up"] | None = None,
                         due_before: Moment | None = None,
                         repair_order_id: Annotated[str | None, Query(max_length=64)] = None,
                         customer_id: Annotated[str | None, Query(max_length=64)] = None,
                         complaint_id: Annotated[str | None, Query(max_length=64)] = None,
                         store_id: Annotated[str | None, Query(description="HQ: one store only")] = None):
    if due_before is not None and due_before.tzinfo is None:
        raise ValidationFailed("due_before", "needs a time zone offset (RFC 3339)")
    rows, next_cursor = await service.list_callbacks(
        session, principal, store_id=store_id, status=status, kind=kind, due_before=due_before,
        repair_order_id=repair_order_id, customer_id=customer_id, complaint_id=complaint_id, limit=limit, cursor=cursor)
    return CallbackList(items=await service.to_public(session, list(rows), clock.now()), next_cursor=next_cursor)


@router.get("/{callback_id}", response_model=CallbackPublic, responses=problem_responses(NotFound))
async def get_callback(callback_id: str, session: SessionDep, clock: ClockDep, principal: Crm):
    callback = await service.visible_callback(session, principal, callback_id)
    return (await service.to_public(session, [callback], clock.now()))[0]


@router.post("/{callback_id}/attempts", status_code=201, response_model=CallbackPublic,
             responses=problem_responses(NotFound, Conflict, StaleVersion, ValidationFailed))
async def record_attempt(callback_id: str, body: AttemptCreate, session: SessionDep, clock: ClockDep, principal: Crm,
                         if_match: IfMatch = None):
    """One call. Three unanswered ones (no answer or wrong number) make the callback `unreachable`.
    The advisor who served the order may not call (409)."""
    callback = await service.record_attempt(session, clock, principal, callback_id, body.outcome, body.note,
                                            expected_version(if_match, None, required=False))
    return (await service.to_public(session, [callback], clock.now()))[0]


@router.post("/{callback_id}/survey", status_code=201, response_model=CallbackPublic,
             responses=problem_responses(NotFound, Conflict, StaleVersion, ValidationFailed))
async def record_survey(callback_id: str, body: SurveyCreate, session: SessionDep, clock: ClockDep, principal: Crm,
                        if_match: IfMatch = None):
    """The customer's answers complete the callback. On a first callback every department scored
    low opens a complaint; on a follow-up, overall 4 or 5 closes the complaint, anything less reopens it."""
    callback = await service.record_survey(session, clock, principal, callback_id, body,
                                           expected_version(if_match, None, required=False))
    return (await service.to_public(session, [callback], clock.now()))[0]


@router.post("/{callback_id}/cancel", response_model=CallbackPublic,
             responses=problem_responses(NotFound, InvalidTransition, StaleVersion))
async def cancel_callback(callback_id: str, body: CallbackCancel, session: SessionDep, clock: ClockDep,
                          principal: Crm, if_match: IfMatch = None):
    """For a customer who asks not to be surveyed; the reason is kept."""
    callback = await service.cancel(session, clock, principal, callback_id, body.reason,
                                    expected_version(if_match, None, required=False))
    return (await service.to_public(session, [callback], clock.now()))[0]
