"""The information clerk's routes (added to API.md's crm section): call windows per store,
tracking and invitation follow-up calls, booking the next service on a call, return
repairs for the service manager, club members' suggestions."""
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
from services.crm.callbacks import clerk
from services.crm.callbacks.clerk_schemas import (
    BookingCreate,
    BookingOfferPublic,
    CallResult,
    CallTaskList,
    CallTaskPublic,
    CallWindowsPublic,
    CallWindowsUpdate,
    ReturnRepairCreate,
    ReturnRepairList,
    ReturnRepairPublic,
    SuggestionCreate,
    SuggestionList,
    SuggestionPublic,
)

router = APIRouter(tags=["information clerk"], route_class=TransactionalRoute)
Crm = Annotated[Principal, Depends(require_access("crm"))]
Id = Annotated[str, Query(max_length=64)]


def _aware(field: str, value) -> None:
    if value is not None and value.tzinfo is None:
        raise ValidationFailed(field, "needs a time zone offset (RFC 3339)")


@router.get("/v1/stores/{store_id}/call-windows", response_model=CallWindowsPublic,
            responses=problem_responses(NotFound))
async def get_call_windows(store_id: str, session: SessionDep, principal: Crm):
    """The store's call windows in its own time: its own, or data/call_windows.json's."""
    return await clerk.call_windows(session, principal, store_id)


@router.put("/v1/stores/{store_id}/call-windows", response_model=CallWindowsPublic,
            responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def put_call_windows(store_id: str, body: CallWindowsUpdate, session: SessionDep, clock: ClockDep,
                           principal: Crm):
    """The store's own windows (the locality's habits); callbacks made from now on fall due in them."""
    return await clerk.set_call_windows(session, clock, principal, store_id, body.windows)


@router.get("/v1/calls", response_model=CallTaskList, responses=problem_responses(ValidationFailed))
async def list_calls(session: SessionDep, clock: ClockDep, principal: Crm, limit: LimitQuery = 50,
                     cursor: CursorQuery = None, kind: Literal["tracking", "invitation_follow_up"] | None = None,
                     status: Literal["pending", "done", "cancelled"] | None = None, due_before: Moment | None = None,
                     customer_id: Annotated[str | None, Query(max_length=64)] = None,
                     store_id: Annotated[str | None, Query(description="HQ: one store only")] = None):
    """The 7-day tracking calls and the invitation follow-up calls, with script and next service."""
    _aware("due_before", due_before)
    rows, next_cursor = await clerk.list_tasks(session, principal, store_id=store_id, kind=kind, status=status,
                                               due_before=due_before, customer_id=customer_id, limit=limit,
                                               cursor=cursor)
    return CallTaskList(items=await clerk.tasks_public(session, list(rows), clock.now()), next_cursor=next_cursor)


@router.get("/v1/calls/{call_id}", response_model=CallTaskPublic, responses=problem_responses(NotFound))
async def get_call(call_id: str, session: SessionDep, clock: ClockDep, principal: Crm):
    task = await clerk.visible_task(session, principal, call_id)
    return (await clerk.tasks_public(session, [task], clock.now()))[0]


@router.post("/v1/calls/{call_id}/result", response_model=CallTaskPublic,
             responses=problem_responses(NotFound, InvalidTransition, StaleVersion, ValidationFailed))
async def record_call_result(call_id: str, body: CallResult, session: SessionDep, clock: ClockDep, principal: Crm,
                             if_match: IfMatch = None):
    """The call's result, one of its kind's (data/call_scripts.json)."""
    task = await clerk.record_result(session, clock, principal, call_id, body.result, body.note,
                                     expected_version(if_match, None, required=False))
    return (await clerk.tasks_public(session, [task], clock.now()))[0]


async def _call(session, principal, kind: str, call_id: str) -> clerk.OnCall:
    if kind == "callbacks":
        return await clerk.on_callback(session, principal, call_id)
    return await clerk.on_task(session, principal, call_id)


CallKind = Literal["callbacks", "calls"]


@router.post("/v1/{kind}/{call_id}/next-service-booking", status_code=201, response_model=BookingOfferPublic,
             responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def book_next_service(kind: CallKind, call_id: str, body: BookingCreate, session: SessionDep, clock: ClockDep,
                            principal: Crm):
    """The customer accepts the next service on the call. CRM keeps the offer and answers the
    body of reception's POST /v1/appointments; reception's booking of the VIN marks it booked."""
    call = await _call(session, principal, kind, call_id)
    return await clerk.offer_booking(session, clock, principal, call, body.scheduled_at, body.note)


@router.post("/v1/{kind}/{call_id}/return-repair", status_code=201, response_model=ReturnRepairPublic,
             responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def report_return_repair(kind: CallKind, call_id: str, body: ReturnRepairCreate, session: SessionDep,
                               clock: ClockDep, principal: Crm):
    """The customer says the repair needs doing again: recorded for the service manager
    (`crm.return_repair.reported`); the car's next repair order is linked as the comeback."""
    call = await _call(session, principal, kind, call_id)
    row = await clerk.report_return_repair(session, clock, principal, call, body.description)
    return (await clerk.return_repairs_public(session, [row]))[0]


@router.post("/v1/{kind}/{call_id}/suggestions", status_code=201, response_model=SuggestionPublic,
             responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def record_suggestion(kind: CallKind, call_id: str, body: SuggestionCreate, session: SessionDep,
                            clock: ClockDep, principal: Crm):
    """A club member's suggestion, word for word (409 for a customer who is not a member)."""
    call = await _call(session, principal, kind, call_id)
    row = await clerk.record_suggestion(session, clock, principal, call, body.text)
    return (await clerk.suggestions_public(session, [row]))[0]


@router.get("/v1/return-repairs", response_model=ReturnRepairList, responses=problem_responses(ValidationFailed))
async def list_return_repairs(session: SessionDep, principal: Crm, limit: LimitQuery = 50, cursor: CursorQuery = None,
                              status: Literal["reported", "came_back"] | None = None,
                              vin: Annotated[str | None, Query(max_length=32)] = None,
                              store_id: Annotated[str | None, Query(description="HQ: one store only")] = None):
    """The service manager's list of return repairs (返修记录): `status=reported` is still to come back."""
    rows, next_cursor = await clerk.list_return_repairs(session, principal, store_id=store_id, status=status, vin=vin,
                                                        limit=limit, cursor=cursor)
    return ReturnRepairList(items=await clerk.return_repairs_public(session, list(rows)), next_cursor=next_cursor)


@router.get("/v1/member-suggestions", response_model=SuggestionList, responses=problem_responses(ValidationFailed))
async def list_suggestions(session: SessionDep, principal: Crm, limit: LimitQuery = 50, cursor: CursorQuery = None,
                           customer_id: Annotated[str | None, Query(max_length=64)] = None,
                           since: Moment | None = None, until: Moment | None = None,
                           store_id: Annotated[str | None, Query(description="HQ: one store only")] = None):
    """Club members' suggestions, for the digest (`since` inclusive, `until` exclusive)."""
    _aware("since", since)
    _aware("until", until)
    rows, next_cursor = await clerk.list_suggestions(session, principal, store_id=store_id, customer_id=customer_id,
                                                     since=since, until=until, limit=limit, cursor=cursor)
    return SuggestionList(items=await clerk.suggestions_public(session, list(rows)), next_cursor=next_cursor)
