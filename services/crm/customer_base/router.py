from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.crm.customer_base import service
from services.crm.customer_base.schemas import AdvisorBase, MoveCar, Reassign, ReassignmentPublic, StoreBaseSummary

router = APIRouter(tags=["customer base"], route_class=TransactionalRoute)
Crm = Annotated[Principal, Depends(require_access("crm"))]


@router.get("/v1/stores/{store_id}/customer-base", response_model=StoreBaseSummary,
            responses=problem_responses(NotFound, Forbidden))
async def store_customer_base(store_id: str, session: SessionDep, clock: ClockDep, principal: Crm):
    """Each advisor's customer base at the store: cars, retained cars (a visit in the last twelve
    months) and the rate; advisors who have left with cars still theirs are awaiting reassignment.
    The store's managers, the information clerk and HQ read it."""
    return await service.store_summary(session, principal, store_id, clock.now())


@router.get("/v1/advisors/{person_id}/customer-base", response_model=AdvisorBase,
            responses=problem_responses(NotFound, Forbidden, ValidationFailed))
async def advisor_customer_base(
        person_id: str, session: SessionDep, clock: ClockDep, principal: Crm, limit: LimitQuery = 50,
        cursor: CursorQuery = None,
        retained: Annotated[bool | None, Query(description="only the cars retained (true) or not (false)")] = None,
        store_id: Annotated[str | None, Query(description="HQ: the store")] = None):
    """One advisor's cars, the latest visit first: owner, last visit, next service due and whether
    the car is retained. An advisor reads their own."""
    return await service.advisor_base(session, principal, person_id, store_id, clock.now(), retained=retained,
                                      limit=limit, cursor=cursor)


@router.post("/v1/stores/{store_id}/customer-base/reassign", response_model=ReassignmentPublic,
             responses=problem_responses(NotFound, Forbidden, Conflict, ValidationFailed))
async def reassign_customer_base(store_id: str, body: Reassign, session: SessionDep, clock: ClockDep,
                                 principal: Crm):
    """The service manager gives an advisor's whole base to another advisor of the store
    (`to_person_id`), or has it shared evenly among the store's other active advisors
    (`split_evenly`)."""
    return service.reassignment_public(await service.reassign(session, clock, principal, store_id, body))


@router.post("/v1/stores/{store_id}/customer-base/move", response_model=ReassignmentPublic,
             responses=problem_responses(NotFound, Forbidden, Conflict, ValidationFailed))
async def move_car(store_id: str, body: MoveCar, session: SessionDep, clock: ClockDep, principal: Crm):
    """The service manager moves one car to another advisor's base."""
    return service.reassignment_public(await service.move(session, clock, principal, store_id, body))
