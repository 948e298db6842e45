from typing import Annotated

from fastapi import APIRouter, Depends, Query

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
from services.common.versioning import IfMatch, expected_version
from services.crm.complaints import service
from services.crm.complaints.schemas import (
    ComplaintAssign,
    ComplaintCreate,
    ComplaintDueDate,
    ComplaintList,
    ComplaintPublic,
    ComplaintResolve,
    Severity,
    Status,
)

router = APIRouter(prefix="/v1/complaints", tags=["complaints"], route_class=TransactionalRoute)
Crm = Annotated[Principal, Depends(require_access("crm"))]


@router.post("", status_code=201, response_model=ComplaintPublic,
             responses=problem_responses(Conflict, NotFound, ValidationFailed))
async def create_complaint(body: ComplaintCreate, session: SessionDep, clock: ClockDep, principal: Crm):
    """A complaint taken by phone or at the counter. A critical one is escalated to HQ at once."""
    complaint = await service.create(session, clock, principal, body)
    return (await service.to_public(session, [complaint], clock.now()))[0]


@router.get("", response_model=ComplaintList, responses=problem_responses(ValidationFailed))
async def list_complaints(session: SessionDep, clock: ClockDep, principal: Crm, limit: LimitQuery = 50,
                          cursor: CursorQuery = None, status: Status | None = None,
                          department: Annotated[str | None, Query(max_length=32)] = None,
                          severity: Severity | None = None, escalated: bool | None = None,
                          overdue: bool | None = None,
                          customer_id: Annotated[str | None, Query(max_length=64)] = None,
                          repair_order_id: Annotated[str | None, Query(max_length=64)] = None,
                          owner: Annotated[str | None, Query(max_length=64)] = None,
                          store_id: Annotated[str | None, Query(description="HQ: one store only")] = None):
    now = clock.now()
    rows, next_cursor = await service.list_complaints(
        session, principal, now, store_id=store_id, status=status, department=department, severity=severity,
        escalated=escalated, overdue=overdue, customer_id=customer_id, repair_order_id=repair_order_id, owner=owner,
        limit=limit, cursor=cursor)
    return ComplaintList(items=await service.to_public(session, list(rows), now), next_cursor=next_cursor)


@router.get("/{complaint_id}", response_model=ComplaintPublic, responses=problem_responses(NotFound))
async def get_complaint(complaint_id: str, session: SessionDep, clock: ClockDep, principal: Crm):
    complaint = await service.visible_complaint(session, principal, complaint_id)
    return (await service.to_public(session, [complaint], clock.now()))[0]


@router.post("/{complaint_id}/assign", response_model=ComplaintPublic,
             responses=problem_responses(NotFound, InvalidTransition, StaleVersion, ValidationFailed))
async def assign_complaint(complaint_id: str, body: ComplaintAssign, session: SessionDep, clock: ClockDep,
                           principal: Crm, if_match: IfMatch = None):
    complaint = await service.assign(session, clock, principal, complaint_id, body.owner, body.due_at,
                                     expected_version(if_match, None, required=False), body.due_reason)
    return (await service.to_public(session, [complaint], clock.now()))[0]


@router.post("/{complaint_id}/due-date", response_model=ComplaintPublic,
             responses=problem_responses(NotFound, Forbidden, InvalidTransition, StaleVersion, ValidationFailed))
async def commit_due_date(complaint_id: str, body: ComplaintDueDate, session: SessionDep, clock: ClockDep,
                          principal: Crm, if_match: IfMatch = None):
    """The owner commits the due date; later than the deadline with a reason (parts on backorder)."""
    complaint = await service.commit_due_date(session, clock, principal, complaint_id, body.due_at, body.reason,
                                              expected_version(if_match, None, required=False))
    return (await service.to_public(session, [complaint], clock.now()))[0]


@router.post("/{complaint_id}/resolve", response_model=ComplaintPublic,
             responses=problem_responses(NotFound, Conflict, InvalidTransition, StaleVersion))
async def resolve_complaint(complaint_id: str, body: ComplaintResolve, session: SessionDep, clock: ClockDep,
                            principal: Crm, if_match: IfMatch = None):
    """Books the follow-up callback two days later (in the call windows)."""
    complaint = await service.resolve(session, clock, principal, complaint_id, body.resolution,
                                      expected_version(if_match, None, required=False))
    return (await service.to_public(session, [complaint], clock.now()))[0]
