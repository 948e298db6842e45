from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.crm.messages import service
from services.crm.messages.schemas import (
    ChannelName,
    ConsentPublic,
    ConsentUpdate,
    KindName,
    MessageDetail,
    MessageList,
    StatusName,
)

router = APIRouter(prefix="/v1", tags=["messages"], route_class=TransactionalRoute)
Crm = Annotated[Principal, Depends(require_access("crm"))]


@router.get("/messages", response_model=MessageList, responses=problem_responses(ValidationFailed))
async def list_messages(session: SessionDep, principal: Crm, limit: LimitQuery = 50, cursor: CursorQuery = None,
                        customer_id: Annotated[str | None, Query(max_length=64)] = None,
                        channel: ChannelName | None = None, status: StatusName | None = None,
                        kind: KindName | None = None,
                        about: Annotated[str | None, Query(max_length=64,
                                                           description="the repair order, booking or reminder")] = None,
                        store_id: Annotated[str | None, Query(description="HQ: one store only")] = None):
    """Messages to customers, newest first: one per notice and channel, with its delivery status."""
    items, next_cursor = await service.list_messages(session, principal, store_id=store_id, customer_id=customer_id,
                                                     channel=channel, status=status, kind=kind, about=about,
                                                     limit=limit, cursor=cursor)
    return MessageList(items=items, next_cursor=next_cursor)


@router.get("/messages/{message_id}", response_model=MessageDetail, responses=problem_responses(NotFound))
async def get_message(message_id: str, session: SessionDep, principal: Crm):
    """One message and every attempt at delivering it."""
    return await service.message_detail(session, principal, message_id)


@router.get("/customers/{customer_id}/consent", response_model=ConsentPublic, responses=problem_responses(NotFound))
async def get_consent(customer_id: str, session: SessionDep, principal: Crm):
    """What the customer allows per channel, as recorded or by default, and what that lets through now."""
    return await service.get_consent(session, principal, customer_id)


@router.put("/customers/{customer_id}/consent", response_model=ConsentPublic,
            responses=problem_responses(NotFound, ValidationFailed))
async def set_consent(customer_id: str, body: ConsentUpdate, session: SessionDep, clock: ClockDep, principal: Crm):
    """Record the customer's consent on the channels named (service messages, marketing, and
    where WeChat and email reach them). Setting it again to the same is harmless; a withdrawal
    holds for messages already queued."""
    return await service.set_consent(session, clock, principal, customer_id, body)
