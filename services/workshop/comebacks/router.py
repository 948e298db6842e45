from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import NotFound, problem_responses
from services.common.identity import Principal
from services.workshop.comebacks import service
from services.workshop.comebacks.schemas import ComebackList, ComebackPublic

router = APIRouter(prefix="/v1/comebacks", tags=["comebacks"], route_class=TransactionalRoute)
Reader = Annotated[Principal, Depends(require_access("workshop_jobs"))]


@router.get("", response_model=ComebackList)
async def list_comebacks(session: SessionDep, principal: Reader, limit: LimitQuery = 50, cursor: CursorQuery = None,
                         vin: Annotated[str | None, Query()] = None,
                         technician_id: Annotated[str | None, Query(
                             description="the technician of the first repair")] = None,
                         repair_order_id: Annotated[str | None, Query()] = None,
                         store_id: Annotated[str | None, Query(description="HQ only: one store")] = None):
    return await service.list_comebacks(session, principal, store_id=store_id, limit=limit, cursor=cursor, vin=vin,
                                        technician_id=technician_id, repair_order_id=repair_order_id)


@router.get("/{comeback_id}", response_model=ComebackPublic, responses=problem_responses(NotFound))
async def get_comeback(comeback_id: str, session: SessionDep, principal: Reader):
    comeback = await service.get_visible(session, principal, comeback_id)
    return ComebackPublic.model_validate(comeback, from_attributes=True)
