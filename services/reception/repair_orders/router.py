from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute
from services.common.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    StaleVersion,
    ValidationFailed,
    problem_responses,
)
from services.reception.repair_orders import service
from services.reception.repair_orders.models import RepairOrder
from services.reception.repair_orders.schemas import (
    Approve,
    CampaignLinesCreate,
    Cancel,
    CheckIn,
    Deliver,
    Estimate,
    Inspection,
    Insurance,
    LineCreate,
    MovePromise,
    RepairOrderList,
    RepairOrderPublic,
    RepairOrderStatus,
    Settle,
    SignOff,
)
from services.reception.shared.router import (
    Caller,
    IdQuery,
    IfMatch,
    LineId,
    NumberQuery,
    RepairOrderId,
    SettingsDep,
    StoreQuery,
    VinQuery,
    tag,
)
from services.reception.shared.service import check_version

router = APIRouter(prefix="/v1/repair-orders", tags=["repair orders"], route_class=TransactionalRoute)
ACTION_PROBLEMS = problem_responses(NotFound, InvalidTransition, StaleVersion, ValidationFailed, Forbidden)


@router.post("", status_code=201, response_model=RepairOrderPublic,
             responses=problem_responses(Conflict, InvalidTransition, ValidationFailed, Forbidden))
async def check_in(body: CheckIn, session: SessionDep, settings: SettingsDep, clock: ClockDep, principal: Caller,
                   response: Response):
    """Check a car in, from an appointment or as a walk-in: the order opens with its number.
    The answer shows the car's open campaigns and Three Guarantees (三包) figures (`vehicle_notices`)."""
    order = await service.check_in(session, clock, principal, body)
    tag(response, order.version, f"repair-orders/{order.id}")
    return await service.public(session, order, settings, clock)


@router.get("", response_model=RepairOrderList)
async def list_repair_orders(session: SessionDep, principal: Caller, limit: LimitQuery = 50, cursor: CursorQuery = None,
                             status: Annotated[RepairOrderStatus | None, Query()] = None,
                             vin: VinQuery = None,
                             number: NumberQuery = None,
                             appointment_id: IdQuery = None,
                             store_id: StoreQuery = None):
    return await service.list_orders(session, principal, limit=limit, cursor=cursor, store_id=store_id, status=status,
                                     vin=vin, number=number, appointment_id=appointment_id)


@router.get("/{repair_order_id}", response_model=RepairOrderPublic, responses=problem_responses(NotFound))
async def get_repair_order(repair_order_id: RepairOrderId, session: SessionDep, settings: SettingsDep,
                           clock: ClockDep, principal: Caller, response: Response):
    """The order, with the car's open campaigns and Three Guarantees (三包) figures (`vehicle_notices`)."""
    order = await service.get_visible(session, principal, repair_order_id)
    tag(response, order.version)
    return await service.public(session, order, settings, clock)


async def _for_change(session, principal, repair_order_id: str, expected: int | None) -> RepairOrder:
    # The row lock makes concurrent actions on one order queue up instead of both winning.
    order = await service.get_visible(session, principal, repair_order_id, for_update=True)
    check_version(order.version, expected)
    return order


@router.post("/{repair_order_id}/lines", status_code=201, response_model=RepairOrderPublic, responses=ACTION_PROBLEMS)
async def add_line(repair_order_id: RepairOrderId, body: LineCreate, session: SessionDep, clock: ClockDep,
                   settings: SettingsDep, principal: Caller, expected: IfMatch, response: Response):
    """Add a line; after approval it is a supplement that needs the customer's approval."""
    order = await _for_change(session, principal, repair_order_id, expected)
    await service.add_line(session, clock, settings, principal, order, body)
    tag(response, order.version)
    return await service.public(session, order, settings)


@router.post("/{repair_order_id}/campaign-lines", status_code=201, response_model=RepairOrderPublic,
             responses=problem_responses(NotFound, InvalidTransition, StaleVersion, ValidationFailed, Forbidden,
                                         Conflict))
async def add_campaign_lines(repair_order_id: RepairOrderId, body: CampaignLinesCreate, session: SessionDep,
                             clock: ClockDep, settings: SettingsDep, principal: Caller, expected: IfMatch,
                             response: Response):
    """Add an open campaign's work in one action: its labour operation at the brand's flat hours
    and its parts, paid by the brand (`campaign`). 409 if the car has no such open campaign or
    the campaign is on the order already."""
    order = await _for_change(session, principal, repair_order_id, expected)
    await service.add_campaign_lines(session, clock, settings, principal, order, body)
    tag(response, order.version)
    return await service.public(session, order, settings, clock)


@router.delete("/{repair_order_id}/lines/{line_id}", response_model=RepairOrderPublic,
               responses=problem_responses(NotFound, InvalidTransition, StaleVersion, Conflict))
async def remove_line(repair_order_id: RepairOrderId, line_id: LineId, session: SessionDep, settings: SettingsDep,
                      principal: Caller, expected: IfMatch, response: Response):
    """Remove a line the customer has not approved."""
    order = await _for_change(session, principal, repair_order_id, expected)
    await service.remove_line(session, settings, order, line_id)
    tag(response, order.version)
    return await service.public(session, order, settings)


@router.post("/{repair_order_id}/estimate", response_model=RepairOrderPublic, responses=ACTION_PROBLEMS)
async def estimate(repair_order_id: RepairOrderId, session: SessionDep, settings: SettingsDep, clock: ClockDep,
                   principal: Caller, expected: IfMatch, response: Response, body: Estimate | None = None):
    order = await _for_change(session, principal, repair_order_id, expected)
    await service.estimate(session, clock, principal, order, body)
    tag(response, order.version)
    return await service.public(session, order, settings)


@router.post("/{repair_order_id}/approve", response_model=RepairOrderPublic,
             responses=problem_responses(NotFound, InvalidTransition, StaleVersion, ValidationFailed, Forbidden,
                                         Conflict))
async def approve(repair_order_id: RepairOrderId, body: Approve, session: SessionDep, clock: ClockDep,
                  settings: SettingsDep, principal: Caller, expected: IfMatch, response: Response):
    """Record the customer's approval of the estimate, or of the supplements added since, and
    the time the car is promised back. A high-value estimate waits for the service manager's
    sign-off: 409 with `rule: high_value_sign_off` until then."""
    order = await _for_change(session, principal, repair_order_id, expected)
    await service.approve(session, clock, settings, principal, order, body)
    tag(response, order.version)
    return await service.public(session, order, settings)


@router.post("/{repair_order_id}/sign-off", response_model=RepairOrderPublic, responses=ACTION_PROBLEMS)
async def sign_off(repair_order_id: RepairOrderId, session: SessionDep, clock: ClockDep, settings: SettingsDep,
                   principal: Caller, expected: IfMatch, response: Response, body: SignOff | None = None):
    """The service manager (or store manager) signs off the estimate as it stands, naming
    themselves on the order; only they may (403 otherwise)."""
    order = await _for_change(session, principal, repair_order_id, expected)
    await service.sign_off(session, clock, settings, principal, order, body)
    tag(response, order.version)
    return await service.public(session, order, settings)


@router.post("/{repair_order_id}/promise", response_model=RepairOrderPublic, responses=ACTION_PROBLEMS)
async def move_promise(repair_order_id: RepairOrderId, body: MovePromise, session: SessionDep, clock: ClockDep,
                       settings: SettingsDep, principal: Caller, expected: IfMatch, response: Response):
    """Move the promised time with the reason the customer is told, while the car is still
    being worked on; the move is kept in history and announced (reception.repair_order.promise_moved)."""
    order = await _for_change(session, principal, repair_order_id, expected)
    await service.move_promise(session, clock, settings, principal, order, body)
    tag(response, order.version)
    return await service.public(session, order, settings)


@router.post("/{repair_order_id}/settle", response_model=RepairOrderPublic, responses=ACTION_PROBLEMS)
async def settle(repair_order_id: RepairOrderId, body: Settle, session: SessionDep, settings: SettingsDep,
                 clock: ClockDep, principal: Caller, expected: IfMatch, response: Response):
    """Issue the invoice; the customer's payments must equal `totals.customer_due_fen` exactly."""
    order = await _for_change(session, principal, repair_order_id, expected)
    await service.settle(session, clock, principal, order, body.payments)
    tag(response, order.version)
    return await service.public(session, order, settings)


@router.post("/{repair_order_id}/deliver", response_model=RepairOrderPublic, responses=ACTION_PROBLEMS)
async def deliver(repair_order_id: RepairOrderId, body: Deliver, session: SessionDep, settings: SettingsDep,
                  clock: ClockDep, principal: Caller, expected: IfMatch, response: Response):
    order = await _for_change(session, principal, repair_order_id, expected)
    await service.deliver(session, clock, principal, order, body)
    tag(response, order.version)
    return await service.public(session, order, settings)


@router.post("/{repair_order_id}/cancel", response_model=RepairOrderPublic, responses=ACTION_PROBLEMS)
async def cancel(repair_order_id: RepairOrderId, session: SessionDep, settings: SettingsDep, clock: ClockDep,
                 principal: Caller, expected: IfMatch, response: Response, body: Cancel | None = None):
    order = await _for_change(session, principal, repair_order_id, expected)
    await service.cancel(session, clock, principal, order, body.reason if body else None)
    tag(response, order.version)
    return await service.public(session, order, settings)


@router.put("/{repair_order_id}/insurance", response_model=RepairOrderPublic, responses=ACTION_PROBLEMS)
async def set_insurance(repair_order_id: RepairOrderId, body: Insurance, session: SessionDep, settings: SettingsDep,
                        principal: Caller, expected: IfMatch, response: Response):
    """Make it an insurance job, or correct the insurer and claim number, before the work is done."""
    order = await _for_change(session, principal, repair_order_id, expected)
    await service.set_insurance(session, order, body)
    tag(response, order.version)
    return await service.public(session, order, settings)


@router.put("/{repair_order_id}/inspection", response_model=RepairOrderPublic, responses=ACTION_PROBLEMS)
async def set_inspection(repair_order_id: RepairOrderId, body: Inspection, session: SessionDep, settings: SettingsDep,
                         principal: Caller, expected: IfMatch, response: Response):
    """Record or redo the walk-around (a towed car is inspected when it arrives)."""
    order = await _for_change(session, principal, repair_order_id, expected)
    await service.set_inspection(session, order, body)
    tag(response, order.version)
    return await service.public(session, order, settings)
