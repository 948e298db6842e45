import re
from typing import Annotated

from fastapi import APIRouter, Depends

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access
from services.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.network.vehicles import service
from services.network.vehicles.schemas import (
    VIN_PATTERN,
    PdiCreate,
    PdiPublic,
    RegistrationCorrectionCreate,
    RegistrationCreate,
    RegistrationPublic,
    VehiclePublic,
)

router = APIRouter(prefix="/v1/vehicles", tags=["new-car intake"], route_class=TransactionalRoute)
Intake = Annotated[Principal, Depends(require_access("vehicles"))]


@router.post("/{vin}/registration", status_code=201, response_model=RegistrationPublic,
             responses=problem_responses(Conflict, ValidationFailed))
async def register_vehicle(vin: str, body: RegistrationCreate, session: SessionDep, clock: ClockDep,
                           principal: Intake):
    """The warranty registration at sale (保修登记); a VIN is registered once (409 after)."""
    if body.vin is not None and body.vin != vin.strip().upper():
        raise ValidationFailed("vin", "differs from the VIN in the path")
    vin = vin.strip().upper()
    if not re.fullmatch(VIN_PATTERN, vin):
        raise ValidationFailed("vin", "17 characters, upper case, no I, O or Q")
    registration = await service.register(session, clock, principal, vin, body)
    return await service.registration_public(session, principal, registration)


@router.post("/registrations", status_code=201, response_model=RegistrationPublic,
             responses=problem_responses(Conflict, ValidationFailed))
async def register_vehicle_by_body(body: RegistrationCreate, session: SessionDep, clock: ClockDep,
                                   principal: Intake):
    """The same registration with the VIN in the body, as this API first had it."""
    if body.vin is None:
        raise ValidationFailed("vin", "is required")
    registration = await service.register(session, clock, principal, body.vin, body)
    return await service.registration_public(session, principal, registration)


@router.post("/{vin}/pdi", status_code=201, response_model=PdiPublic,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed))
async def record_pdi(vin: str, body: PdiCreate, session: SessionDep, clock: ClockDep, principal: Intake):
    """The pre-delivery inspection sheet (PDI, 交车前检查), before the car is registered and handed over."""
    return service.pdi_public(await service.record_pdi(session, clock, principal, vin, body))


@router.post("/{vin}/registration/corrections", response_model=RegistrationPublic,
             responses=problem_responses(NotFound, ValidationFailed))
async def correct_registration(vin: str, body: RegistrationCorrectionCreate, session: SessionDep, clock: ClockDep,
                               principal: Intake):
    """Put a registration right, with the reason; the selling store or HQ."""
    registration = await service.correct(session, clock, principal, vin, body)
    return await service.registration_public(session, principal, registration)


@router.get("/{vin}", response_model=VehiclePublic, responses=problem_responses(NotFound, ValidationFailed))
async def get_vehicle(vin: str, session: SessionDep, principal: Intake):
    """The registration, PDI sheets, warranty cover and first-maintenance due of a VIN."""
    return await service.vehicle(session, principal, vin)
