from typing import Annotated

from fastapi import APIRouter, Depends

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access
from services.common.errors import NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.crm.vehicles import service
from services.crm.vehicles.schemas import TransferCreate, TransferPublic

router = APIRouter(prefix="/v1/vehicles", tags=["vehicles"], route_class=TransactionalRoute)
Crm = Annotated[Principal, Depends(require_access("crm"))]


@router.post("/{vin}/transfer", status_code=201, response_model=TransferPublic,
             responses=problem_responses(NotFound, ValidationFailed))
async def transfer_vehicle(vin: str, body: TransferCreate, session: SessionDep, clock: ClockDep, principal: Crm):
    """Ownership transfer (过户), at the car's home store or by HQ: the new owner gets the car and
    its open reminders; the old owner keeps their history."""
    return service.public(await service.transfer(session, clock, principal, vin, body))
