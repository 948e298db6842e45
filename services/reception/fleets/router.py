from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from services.common.api import (
    ClockDep,
    CursorQuery,
    LimitQuery,
    PrincipalDep,
    SessionDep,
    TransactionalRoute,
)
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed, problem_responses
from services.common.identity import ANONYMOUS_ROLE
from services.common.inputs import Day
from services.reception.fleets import service
from services.reception.fleets.schemas import (
    CreditOverride,
    FleetApproval,
    FleetApprovalLink,
    FleetApprovalLinkCreate,
    FleetCreate,
    FleetList,
    FleetPublic,
    FleetUpdate,
    FleetUptime,
    FleetVehicleIn,
    Statement,
)
from services.reception.repair_orders import service as orders
from services.reception.repair_orders.models import RepairOrder
from services.reception.repair_orders.schemas import RepairOrderPublic
from services.reception.shared.router import (
    ID_PATTERN,
    WRITE_PROBLEMS,
    Caller,
    IfMatch,
    Manager,
    RepairOrderId,
    SettingsDep,
    StoreQuery,
    tag,
)
from services.reception.shared.service import check_version

router = APIRouter(tags=["fleets"], route_class=TransactionalRoute)
FleetId = Annotated[str, Path(pattern=ID_PATTERN)]
VinPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{17}$", description="VIN (any case)")]
Month = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM, the store's calendar month")]
Format = Annotated[Literal["json", "csv"], Query(description="csv: one row per order, then the totals")]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "the statement, as JSON or CSV"}}


@router.post("/v1/fleets", status_code=201, response_model=FleetPublic,
             responses=problem_responses(Conflict, ValidationFailed, Forbidden))
async def create_fleet(body: FleetCreate, session: SessionDep, clock: ClockDep, principal: Manager,
                       response: Response):
    """大客户 Open a fleet account: the company, its contract, contacts and cars."""
    fleet = await service.create(session, clock, principal, body)
    tag(response, fleet.version, f"fleets/{fleet.id}")
    return await service.public(session, fleet)


@router.get("/v1/fleets", response_model=FleetList)
async def list_fleets(session: SessionDep, principal: Caller, limit: LimitQuery = 50, cursor: CursorQuery = None,
                      store_id: StoreQuery = None):
    return await service.list_fleets(session, principal, limit=limit, cursor=cursor, store_id=store_id)


@router.get("/v1/fleets/{fleet_id}", response_model=FleetPublic, responses=problem_responses(NotFound))
async def get_fleet(fleet_id: FleetId, session: SessionDep, principal: Caller, response: Response):
    fleet = await service.get_visible(session, principal, fleet_id)
    tag(response, fleet.version)
    return await service.public(session, fleet)


async def _fleet_for_change(session, principal, fleet_id: str, expected: int | None):
    fleet = await service.get_visible(session, principal, fleet_id, for_update=True)
    check_version(fleet.version, expected)
    return fleet


@router.patch("/v1/fleets/{fleet_id}", response_model=FleetPublic, responses=WRITE_PROBLEMS)
async def update_fleet(fleet_id: FleetId, body: FleetUpdate, session: SessionDep, clock: ClockDep,
                       principal: Manager, expected: IfMatch, response: Response):
    """Change the name, the contract or the contacts (a whole list); orders already open keep
    the contract they were checked in under."""
    fleet = await _fleet_for_change(session, principal, fleet_id, expected)
    await service.update(session, clock, fleet, body)
    tag(response, fleet.version)
    return await service.public(session, fleet)


@router.post("/v1/fleets/{fleet_id}/vehicles", status_code=201, response_model=FleetPublic,
             responses=WRITE_PROBLEMS)
async def add_fleet_vehicle(fleet_id: FleetId, body: FleetVehicleIn, session: SessionDep, clock: ClockDep,
                            principal: Manager, expected: IfMatch, response: Response):
    """Put a car on the contract; a car is on one fleet of a store (409 otherwise)."""
    fleet = await _fleet_for_change(session, principal, fleet_id, expected)
    await service.add_vehicle(session, clock, fleet, body)
    tag(response, fleet.version)
    return await service.public(session, fleet)


@router.delete("/v1/fleets/{fleet_id}/vehicles/{vin}", response_model=FleetPublic, responses=WRITE_PROBLEMS)
async def remove_fleet_vehicle(fleet_id: FleetId, vin: VinPath, session: SessionDep, clock: ClockDep,
                               principal: Manager, expected: IfMatch, response: Response):
    """Take a car off the contract; its orders already open stay the fleet's."""
    fleet = await _fleet_for_change(session, principal, fleet_id, expected)
    await service.remove_vehicle(session, clock, fleet, vin)
    tag(response, fleet.version)
    return await service.public(session, fleet)


@router.get("/v1/fleets/{fleet_id}/statements/{statement_month}", response_model=Statement,
            responses={**CSV_RESPONSE, **problem_responses(NotFound, ValidationFailed)})
async def fleet_statement(fleet_id: FleetId, statement_month: Month, session: SessionDep, principal: Caller,
                          fmt: Annotated[Format, Query(alias="format")] = "json"):
    """对账单 The month's statement: every order of the fleet settled in the store's calendar
    month, at contract prices, what went on account, and when it is due."""
    answer = await service.statement(session, principal, fleet_id, statement_month)
    if fmt == "csv":
        return Response(service.to_csv(answer), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="fleet-{answer.fleet_id}-{statement_month}.csv"'})
    return answer


@router.get("/v1/fleets/{fleet_id}/uptime", response_model=FleetUptime,
            responses=problem_responses(NotFound, ValidationFailed))
async def fleet_uptime(fleet_id: FleetId, session: SessionDep, clock: ClockDep, principal: Caller,
                       first: Annotated[Day, Query(alias="from", description="first day, the store's calendar")],
                       last: Annotated[Day, Query(alias="to", description="last day, at most 366 days on and not "
                                                                          "after today")]):
    """出勤率 Days off the road per car (check-in day to handover day, overlapping orders once,
    the store's days) and the fleet's availability over the range."""
    return await service.uptime(session, clock, principal, fleet_id, first, last)


# ---- on a fleet's repair order ----------------------------------------------------------------------

async def _order_for_change(session, principal, repair_order_id: str, expected: int | None) -> RepairOrder:
    order = await orders.get_visible(session, principal, repair_order_id, for_update=True)
    check_version(order.version, expected)
    return order


@router.post("/v1/repair-orders/{repair_order_id}/fleet-approval-link", status_code=201,
             response_model=FleetApprovalLink, responses=WRITE_PROBLEMS)
async def fleet_approval_link(repair_order_id: RepairOrderId, body: FleetApprovalLinkCreate, session: SessionDep,
                              clock: ClockDep, principal: Caller):
    """A link token for the fleet's approving contact, shown once, valid 7 days; the contact
    approves with it (POST .../fleet-approval {token}). A new link replaces the last."""
    order = await _order_for_change(session, principal, repair_order_id, None)
    return await service.approval_link(session, clock, order, body.contact_id)


@router.post("/v1/repair-orders/{repair_order_id}/fleet-approval", response_model=RepairOrderPublic,
             responses=WRITE_PROBLEMS)
async def fleet_approval(repair_order_id: RepairOrderId, body: FleetApproval, session: SessionDep, clock: ClockDep,
                         settings: SettingsDep, principal: PrincipalDep, expected: IfMatch, response: Response):
    """车队审批 The fleet's approval of the order as it stands: by its contact through the
    link (`token`), or recorded by API naming the approving contact (`contact_id`)."""
    if principal.role == ANONYMOUS_ROLE:
        if body.token is None:
            raise Forbidden("without a key, only the approval link's token approves")
        order = await service.order_for_link(session, clock, repair_order_id, body.token)
        check_version(order.version, expected)
    else:
        service.may_record_approval(principal)
        order = await _order_for_change(session, principal, repair_order_id, expected)
    await service.approve(session, clock, principal, order, body)
    tag(response, order.version)
    return await orders.public(session, order, settings)


@router.post("/v1/repair-orders/{repair_order_id}/credit-override", response_model=RepairOrderPublic,
             responses=WRITE_PROBLEMS)
async def credit_override(repair_order_id: RepairOrderId, body: CreditOverride, session: SessionDep,
                          clock: ClockDep, settings: SettingsDep, principal: Manager, expected: IfMatch,
                          response: Response):
    """The service manager lets a fleet's order go ahead past the fleet's credit stop, with the reason."""
    order = await _order_for_change(session, principal, repair_order_id, expected)
    await service.override_credit(session, clock, principal, order, body)
    tag(response, order.version)
    return await orders.public(session, order, settings)
