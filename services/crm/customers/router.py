from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import NotFound, StaleVersion, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.versioning import IfMatch, PreconditionRequired, etag, expected_version
from services.crm.customers import service
from services.crm.customers.schemas import CustomerList, CustomerPublic, CustomerUpdate, VehicleHistory

router = APIRouter(prefix="/v1", tags=["customers"], route_class=TransactionalRoute)
Crm = Annotated[Principal, Depends(require_access("crm"))]


@router.get("/customers", response_model=CustomerList, responses=problem_responses(ValidationFailed))
async def list_customers(session: SessionDep, principal: Crm, limit: LimitQuery = 50, cursor: CursorQuery = None,
                         phone: Annotated[str | None, Query(max_length=32)] = None,
                         name: Annotated[str | None, Query(max_length=200)] = None,
                         club_member: bool | None = None,
                         store_id: Annotated[str | None, Query(description="HQ: one store only")] = None):
    items, next_cursor = await service.list_customers(session, principal, store_id=store_id, phone=phone, name=name,
                                                      club_member=club_member, limit=limit, cursor=cursor)
    return CustomerList(items=items, next_cursor=next_cursor)


@router.get("/customers/{customer_id}", response_model=CustomerPublic, responses=problem_responses(NotFound))
async def get_customer(customer_id: str, session: SessionDep, principal: Crm, response: Response):
    customer = await service.visible_customer(session, principal, customer_id)
    response.headers["ETag"] = etag(customer.version)
    return (await service.to_public(session, [customer]))[0]


@router.patch("/customers/{customer_id}", response_model=CustomerPublic,
              responses=problem_responses(NotFound, StaleVersion, PreconditionRequired, ValidationFailed))
async def update_customer(customer_id: str, body: CustomerUpdate, session: SessionDep, clock: ClockDep,
                          principal: Crm, response: Response,
                          if_match: IfMatch = None):
    """Club membership and contact preferences. Send the version read (If-Match or `version`); a stale one is 412."""
    expected = expected_version(if_match, body.version, required=True)
    customer = await service.update_customer(session, clock, principal, customer_id, body, expected)
    response.headers["ETag"] = etag(customer.version)
    return (await service.to_public(session, [customer]))[0]


@router.get("/vehicles/{vin}/history", response_model=VehicleHistory, responses=problem_responses(NotFound))
async def vehicle_history(vin: str, session: SessionDep, principal: Crm, limit: LimitQuery = 50,
                          cursor: CursorQuery = None):
    """Every delivered visit of the vehicle (a store sees its own), newest first, and its owners."""
    return await service.vehicle_history(session, principal, vin, limit, cursor)
