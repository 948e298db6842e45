from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import NotFound, problem_responses
from services.common.identity import Principal
from services.workshop.deps import SettingsDep
from services.workshop.orders import service
from services.workshop.orders.schemas import OrderStatus, WorkshopOrderDetail, WorkshopOrderList

router = APIRouter(prefix="/v1/repair-orders", tags=["repair orders"], route_class=TransactionalRoute)
Reader = Annotated[Principal, Depends(require_access("workshop_jobs"))]


@router.get("", response_model=WorkshopOrderList)
async def list_orders(session: SessionDep, clock: ClockDep, settings: SettingsDep, principal: Reader,
                      limit: LimitQuery = 50, cursor: CursorQuery = None,
                      status: Annotated[OrderStatus | None, Query()] = None, vin: Annotated[str | None, Query()] = None,
                      store_id: Annotated[str | None, Query(description="HQ only: one store")] = None):
    return await service.list_orders(session, settings, clock.now(), principal, store_id=store_id, limit=limit,
                                     cursor=cursor, status=status, vin=vin)


@router.get("/{order_id}", response_model=WorkshopOrderDetail, responses=problem_responses(NotFound))
async def get_order(order_id: str, session: SessionDep, clock: ClockDep, settings: SettingsDep, principal: Reader):
    """The workshop's side of a repair order: its jobs, its reservations, its progress, and whether it can still be
    ready by its promised time."""
    order = await service.get_visible(session, principal, order_id)
    return await service.detail(session, settings, clock.now(), order)
