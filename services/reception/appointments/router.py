from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    StaleVersion,
    ValidationFailed,
    problem_responses,
)
from services.common.identity import Principal
from services.common.inputs import Day
from services.reception.appointments import service
from services.reception.appointments.schemas import (
    AppointmentCancel,
    AppointmentCreate,
    AppointmentList,
    AppointmentPublic,
    AppointmentStatus,
    Availability,
)
from services.reception.shared.router import AppointmentId, Caller, IfMatch, SettingsDep, StoreQuery, VinQuery, tag
from services.reception.shared.service import check_version

router = APIRouter(prefix="/v1/appointments", tags=["appointments"], route_class=TransactionalRoute)
# The matrix's "reception_booking" row: reception's writers, and the information clerk
# booking the next service on a call.
Booker = Annotated[Principal, Depends(require_access("reception_booking"))]


@router.post("", status_code=201, response_model=AppointmentPublic,
             responses=problem_responses(Conflict, ValidationFailed, Forbidden))
async def book_appointment(body: AppointmentCreate, session: SessionDep, clock: ClockDep, settings: SettingsDep,
                           principal: Booker, response: Response):
    """Book a visit; the answer shows the car's open campaigns and Three Guarantees (三包) figures."""
    appointment = await service.book(session, clock, settings, principal, body)
    tag(response, appointment.version, f"appointments/{appointment.id}")
    return await service.public(session, appointment, clock)


@router.get("", response_model=AppointmentList)
async def list_appointments(session: SessionDep, principal: Caller, limit: LimitQuery = 50, cursor: CursorQuery = None,
                            date: Annotated[Day | None, Query(description="local date of the store")] = None,
                            status: Annotated[AppointmentStatus | None, Query()] = None,
                            vin: VinQuery = None,
                            store_id: StoreQuery = None):
    return await service.list_appointments(session, principal, limit=limit, cursor=cursor, store_id=store_id,
                                           day=date, status=status, vin=vin)


@router.get("/availability", response_model=Availability, responses=problem_responses(NotFound, ValidationFailed))
async def appointment_availability(session: SessionDep, clock: ClockDep, settings: SettingsDep, principal: Caller,
                                   date: Annotated[Day, Query(description="local date of the store")],
                                   store_id: StoreQuery = None):
    return await service.availability(session, clock, settings, principal, store_id, date)


@router.get("/{appointment_id}", response_model=AppointmentPublic, responses=problem_responses(NotFound))
async def get_appointment(appointment_id: AppointmentId, session: SessionDep, clock: ClockDep, principal: Caller,
                          response: Response):
    """One appointment, with the car's open campaigns and Three Guarantees (三包) figures."""
    appointment = await service.get_visible(session, principal, appointment_id)
    tag(response, appointment.version)
    return await service.public(session, appointment, clock)


@router.post("/{appointment_id}/cancel", response_model=AppointmentPublic,
             responses=problem_responses(NotFound, InvalidTransition, StaleVersion))
async def cancel_appointment(appointment_id: AppointmentId, session: SessionDep, clock: ClockDep, principal: Caller,
                             expected: IfMatch, response: Response, body: AppointmentCancel | None = None):
    appointment = await service.get_visible(session, principal, appointment_id, for_update=True)
    check_version(appointment.version, expected)
    await service.cancel(session, clock, principal, appointment, body.reason if body else None)
    tag(response, appointment.version)
    return await service.public(session, appointment)


@router.post("/{appointment_id}/no-show", response_model=AppointmentPublic,
             responses=problem_responses(NotFound, InvalidTransition, StaleVersion))
async def mark_no_show(appointment_id: AppointmentId, session: SessionDep, clock: ClockDep, principal: Caller,
                       expected: IfMatch, response: Response):
    appointment = await service.get_visible(session, principal, appointment_id, for_update=True)
    check_version(appointment.version, expected)
    await service.no_show(session, clock, principal, appointment)
    tag(response, appointment.version)
    return await service.public(session, appointment)
