from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import InvalidTransition, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.inputs import Day
from services.crm.reminders import service
from services.crm.reminders.schemas import Kind, ReminderList, ReminderPublic, ReminderSend, Status

router = APIRouter(prefix="/v1/reminders", tags=["reminders"], route_class=TransactionalRoute)
Crm = Annotated[Principal, Depends(require_access("crm"))]


@router.get("", response_model=ReminderList, responses=problem_responses(ValidationFailed))
async def list_reminders(session: SessionDep, principal: Crm, limit: LimitQuery = 50, cursor: CursorQuery = None,
                         status: Status | None = None, kind: Kind | None = None,
                         due_before: Annotated[Day | None, Query(description="due day before this day")] = None,
                         vin: Annotated[str | None, Query(max_length=32)] = None,
                         customer_id: Annotated[str | None, Query(max_length=64)] = None,
                         store_id: Annotated[str | None, Query(description="HQ: one store only")] = None):
    rows, next_cursor = await service.list_reminders(session, principal, store_id=store_id, status=status, kind=kind,
                                                     due_before=due_before, vin=vin, customer_id=customer_id,
                                                     limit=limit, cursor=cursor)
    return ReminderList(items=[ReminderPublic.model_validate(r, from_attributes=True) for r in rows],
                        next_cursor=next_cursor)


@router.get("/{reminder_id}", response_model=ReminderPublic, responses=problem_responses(NotFound))
async def get_reminder(reminder_id: str, session: SessionDep, principal: Crm):
    return ReminderPublic.model_validate(await service.visible_reminder(session, principal, reminder_id),
                                         from_attributes=True)


@router.post("/{reminder_id}/sent", response_model=ReminderPublic,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed))
async def reminder_sent(reminder_id: str, body: ReminderSend, session: SessionDep, clock: ClockDep, principal: Crm):
    """Records that the reminder went out, on a channel the customer accepts."""
    reminder = await service.mark_sent(session, clock, principal, reminder_id, body.channel)
    return ReminderPublic.model_validate(reminder, from_attributes=True)
