from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import NotFound, problem_responses
from services.common.identity import Principal
from services.common.stores import visible_store_filter
from services.workshop.jobs import repository as jobs
from services.workshop.jobs.router import public as job_public
from services.workshop.orders import repository, service
from services.workshop.orders.models import WorkshopOrder
from services.workshop.orders.schemas import OrderStatus, WorkshopOrderDetail, WorkshopOrderList, WorkshopOrderPublic
from services.workshop.parts import repository as parts
from services.workshop.parts.router import reservation_public

router = APIRouter(prefix="/v1/repair-orders", tags=["repair orders"], route_class=TransactionalRoute)
Reader = Annotated[Principal, Depends(require_access("workshop_jobs"))]


@router.get("", response_model=WorkshopOrderList)
async def list_orders(session: SessionDep, principal: Reader, limit: LimitQuery = 50, cursor: CursorQuery = None,
                      status: Annotated[OrderStatus | None, Query()] = None, vin: Annotated[str | None, Query()] = None,
                      store_id: Annotated[str | None, Query(description="HQ only: one store")] = None):
    rows, next_cursor = await repository.page(
        session, store_filter=visible_store_filter(principal, WorkshopOrder.store_id, store_id), limit=limit,
        cursor=cursor, status=status, vin=vin)
    return WorkshopOrderList(items=[WorkshopOrderPublic.model_validate(r, from_attributes=True) for r in rows],
                             next_cursor=next_cursor)


@router.get("/{order_id}", response_model=WorkshopOrderDetail, responses=problem_responses(NotFound))
async def get_order(order_id: str, session: SessionDep, principal: Reader):
    """The workshop's side of a repair order: its jobs, its reservations, and its progress."""
    order = await service.get_visible(session, principal, order_id)
    return WorkshopOrderDetail(
        **WorkshopOrderPublic.model_validate(order, from_attributes=True).model_dump(),
        jobs=[job_public(j) for j in await jobs.of_order(session, order.id)],
        reservations=[reservation_public(r) for r in await parts.reservations_of_order(session, order.id)],
    )
