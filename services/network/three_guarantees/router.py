from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access
from services.common.errors import NotFound, problem_responses
from services.common.identity import Principal
from services.network.three_guarantees import service
from services.network.three_guarantees.schemas import AtRiskList, ThreeGuaranteesPublic

router = APIRouter(tags=["three-guarantees"], route_class=TransactionalRoute)
# Reads only, by the matrix's `three_guarantees` area; the service adds which cars a store sees.
Access = Annotated[Principal, Depends(require_access("three_guarantees"))]
Vin = Annotated[str, Path(min_length=1, max_length=32, description="the car's VIN")]


@router.get("/v1/vehicles/{vin}/three-guarantees", response_model=ThreeGuaranteesPublic,
            responses=problem_responses(NotFound))
@router.get("/v1/vehicles/{vin}/sanbao", response_model=ThreeGuaranteesPublic, responses=problem_responses(NotFound),
            summary="Get Three Guarantees (三包, the contract's name)")
async def get_three_guarantees(vin: Vin, session: SessionDep, clock: ClockDep, principal: Access):
    """三包 standing of a car: its counts within the validity period, each threshold of the
    regulation's revision in force on its sale date, what is one step away, and the loaner owed.
    A store reads a car it has repaired (404 otherwise); HQ any car."""
    return await service.standing_of(session, principal, clock, vin)


@router.get("/v1/three-guarantees/at-risk", response_model=AtRiskList, responses=problem_responses(NotFound))
async def list_cars_at_risk(session: SessionDep, clock: ClockDep, principal: Access,
                            store_id: Annotated[str | None, Query(max_length=64)] = None):
    """Cars one step from, or at, a replacement or refund threshold, or owed a loaner: HQ every
    store's (or one store's with `store_id`), a store its own."""
    return await service.at_risk(session, principal, clock, store_id)
