from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.stores import acting_store_id, active_store
from services.workshop.purchasing import service
from services.workshop.purchasing.schemas import (
    PurchaseOrderCreate,
    PurchaseOrderList,
    PurchaseOrderPublic,
    PurchaseOrderReceipt,
    PurchaseOrderReceive,
    PurchaseOrderStatus,
    ReorderSuggestionList,
)

Parts = Annotated[Principal, Depends(require_access("workshop_parts"))]
purchase_orders_router = APIRouter(prefix="/v1/purchase-orders", tags=["purchase orders"],
                                   route_class=TransactionalRoute)
suggestions_router = APIRouter(prefix="/v1/reorder-suggestions", tags=["purchase orders"],
                               route_class=TransactionalRoute)


@suggestions_router.get("", response_model=ReorderSuggestionList, responses=problem_responses(ValidationFailed))
async def reorder_suggestions(session: SessionDep, principal: Parts,
                              store_id: Annotated[str | None, Query(description="HQ only: the store")] = None):
    """What to order now: parts below their reorder point, and backorders not covered by open purchase orders."""
    return await service.suggestions(session, acting_store_id(principal, store_id))


@purchase_orders_router.post("", status_code=201, response_model=PurchaseOrderPublic,
                             responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def create_purchase_order(body: PurchaseOrderCreate, session: SessionDep, clock: ClockDep, principal: Parts):
    store = await active_store(session, principal, body.store_id)
    return await service.view(session, await service.create(session, clock, principal, store, body))


@purchase_orders_router.get("", response_model=PurchaseOrderList)
async def list_purchase_orders(session: SessionDep, principal: Parts, limit: LimitQuery = 50,
                               cursor: CursorQuery = None,
                               status: Annotated[PurchaseOrderStatus | None, Query()] = None,
                               store_id: Annotated[str | None, Query(description="HQ only: one store")] = None):
    return await service.list_purchase_orders(session, principal, store_id=store_id, limit=limit, cursor=cursor,
                                              status=status)


@purchase_orders_router.get("/{po_id}", response_model=PurchaseOrderPublic, responses=problem_responses(NotFound))
async def get_purchase_order(po_id: str, session: SessionDep, principal: Parts):
    return await service.view(session, await service.get_visible(session, principal, po_id))


@purchase_orders_router.post("/{po_id}/receive", response_model=PurchaseOrderReceipt,
                             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed))
async def receive_purchase_order(po_id: str, body: PurchaseOrderReceive, session: SessionDep, clock: ClockDep,
                                 principal: Parts):
    """A delivery against the order, in full or in part; backorders are filled first-in first-out."""
    po, receipt, filled = await service.receive(session, clock, principal, po_id, body)
    return await service.receipt_view(session, po, receipt, filled)


@purchase_orders_router.post("/{po_id}/cancel", response_model=PurchaseOrderPublic,
                             responses=problem_responses(NotFound, InvalidTransition))
async def cancel_purchase_order(po_id: str, session: SessionDep, clock: ClockDep, principal: Parts):
    return await service.view(session, await service.cancel(session, clock, principal, po_id))
