from typing import Annotated

from fastapi import APIRouter, Depends

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access
from services.common.errors import Conflict, NotFound, StaleVersion, problem_responses
from services.common.identity import Principal
from services.workshop.costs import service
from services.workshop.costs.schemas import OrderCost, SubletCost, SubletLinePublic

router = APIRouter(prefix="/v1/repair-orders", tags=["order costs"], route_class=TransactionalRoute)
# Costs are margin: the store's managers and advisors and HQ read them; managers record sublet bills.
Access = Annotated[Principal, Depends(require_access("workshop_board"))]


@router.get("/{order_id}/cost", response_model=OrderCost, responses=problem_responses(NotFound))
async def order_cost(order_id: str, session: SessionDep, principal: Access):
    """What the order cost the store, per line and by kind and payer: parts at their average cost when issued,
    labour at the technicians' cost rates for the hours clocked, sublet at its recorded cost (fen)."""
    return await service.order_cost(session, principal, order_id)


@router.get("/{order_id}/sublets", response_model=list[SubletLinePublic], responses=problem_responses(NotFound))
async def sublet_lines(order_id: str, session: SessionDep, principal: Access):
    return await service.sublets(session, principal, order_id)


@router.put("/{order_id}/sublets/{line_id}", response_model=SubletLinePublic,
            responses=problem_responses(NotFound, Conflict, StaleVersion))
async def record_sublet_cost(order_id: str, line_id: str, body: SubletCost, session: SessionDep, clock: ClockDep,
                             principal: Access):
    """The vendor's bill for an approved sublet line: what the store pays for it. A line sent out on a sublet
    order takes its cost from that order (409 here)."""
    return service.sublet_public(await service.record_sublet_cost(session, clock, principal, order_id, line_id, body))
