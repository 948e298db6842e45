from typing import Annotated

from fastapi import APIRouter, Depends, Query

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
from services.common.stores import active_store
from services.workshop.sublets import service
from services.workshop.sublets.schemas import (
    InvoiceDecision,
    InvoiceRefusal,
    Specialty,
    SubletCancel,
    SubletInspection,
    SubletInvoice,
    SubletOrderCreate,
    SubletOrderList,
    SubletOrderPublic,
    SubletOrderStatus,
    SubletReturn,
    VendorCreate,
    VendorList,
    VendorPublic,
    VendorUpdate,
)

# Outsourced work is what the order costs: the board's area (managers write, advisors and HQ's analysts read).
Access = Annotated[Principal, Depends(require_access("workshop_board"))]
StoreQuery = Annotated[str | None, Query(max_length=64, description="HQ only: one store")]
vendors_router = APIRouter(prefix="/v1/vendors", tags=["outsourced work"], route_class=TransactionalRoute)
sublet_orders_router = APIRouter(prefix="/v1/sublet-orders", tags=["outsourced work"], route_class=TransactionalRoute)


@vendors_router.post("", status_code=201, response_model=VendorPublic,
                     responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def create_vendor(body: VendorCreate, session: SessionDep, clock: ClockDep, principal: Access):
    """A firm the store sends work to, with what it does."""
    store = await active_store(session, principal, body.store_id)
    return service.vendor_public(await service.create_vendor(session, clock, store, body))


@vendors_router.get("", response_model=VendorList)
async def list_vendors(session: SessionDep, principal: Access, limit: LimitQuery = 50, cursor: CursorQuery = None,
                       specialty: Annotated[Specialty | None, Query()] = None,
                       active: Annotated[bool | None, Query()] = None, store_id: StoreQuery = None):
    return await service.list_vendors(session, principal, store_id=store_id, limit=limit, cursor=cursor,
                                      active=active, specialty=specialty)


@vendors_router.get("/{vendor_id}", response_model=VendorPublic, responses=problem_responses(NotFound))
async def get_vendor(vendor_id: str, session: SessionDep, principal: Access):
    return service.vendor_public(await service.get_vendor(session, principal, vendor_id))


@vendors_router.patch("/{vendor_id}", response_model=VendorPublic,
                      responses=problem_responses(NotFound, Conflict, StaleVersion, ValidationFailed))
async def update_vendor(vendor_id: str, body: VendorUpdate, session: SessionDep, clock: ClockDep, principal: Access):
    return service.vendor_public(await service.update_vendor(session, clock, principal, vendor_id, body))


@sublet_orders_router.post("", status_code=201, response_model=SubletOrderPublic,
                           responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def create_sublet_order(body: SubletOrderCreate, session: SessionDep, clock: ClockDep, principal: Access):
    """Send a repair order's sublet line out to a vendor: what, at what price, back by when (a draft until sent)."""
    return await service.view(session, clock.now(), await service.create(session, clock, principal, body))


@sublet_orders_router.get("", response_model=SubletOrderList)
async def list_sublet_orders(session: SessionDep, clock: ClockDep, principal: Access, limit: LimitQuery = 50,
                             cursor: CursorQuery = None,
                             status: Annotated[SubletOrderStatus | None, Query()] = None,
                             vendor_id: Annotated[str | None, Query(max_length=64)] = None,
                             repair_order_id: Annotated[str | None, Query(max_length=64)] = None,
                             overdue: Annotated[bool, Query(description="only work at a vendor past its promised "
                                                                        "day in the store's calendar")] = False,
                             store_id: StoreQuery = None):
    return await service.list_sublet_orders(session, clock.now(), principal, store_id=store_id, limit=limit,
                                            cursor=cursor, status=status, vendor_id=vendor_id,
                                            repair_order_id=repair_order_id, overdue=overdue)


@sublet_orders_router.get("/{sublet_order_id}", response_model=SubletOrderPublic,
                          responses=problem_responses(NotFound))
async def get_sublet_order(sublet_order_id: str, session: SessionDep, clock: ClockDep, principal: Access):
    return await service.view(session, clock.now(), await service.get_visible(session, principal, sublet_order_id))


Moves = problem_responses(NotFound, InvalidTransition)


@sublet_orders_router.post("/{sublet_order_id}/send", response_model=SubletOrderPublic, responses=Moves)
async def send_sublet_order(sublet_order_id: str, session: SessionDep, clock: ClockDep, principal: Access):
    """The work goes to the vendor."""
    return await service.view(session, clock.now(), await service.send(session, clock, principal, sublet_order_id))


@sublet_orders_router.post("/{sublet_order_id}/return", response_model=SubletOrderPublic, responses=Moves)
async def return_sublet_order(sublet_order_id: str, session: SessionDep, clock: ClockDep,
                              principal: Access, body: SubletReturn | None = None):
    """The vendor brought the work back, to be inspected."""
    row = await service.returned(session, clock, principal, sublet_order_id, body or SubletReturn())
    return await service.view(session, clock.now(), row)


@sublet_orders_router.post("/{sublet_order_id}/inspection", response_model=SubletOrderPublic,
                           responses=problem_responses(NotFound, InvalidTransition, ValidationFailed))
async def inspect_sublet_order(sublet_order_id: str, body: SubletInspection, session: SessionDep, clock: ClockDep,
                               principal: Access):
    """Pass, or fail with what is wrong: a failed inspection sends the work back to the vendor."""
    row = await service.inspect(session, clock, principal, sublet_order_id, body)
    return await service.view(session, clock.now(), row)


@sublet_orders_router.post("/{sublet_order_id}/invoice", response_model=SubletOrderPublic, responses=Moves)
async def invoice_sublet_order(sublet_order_id: str, body: SubletInvoice, session: SessionDep, clock: ClockDep,
                               principal: Access):
    """The vendor's invoice, matched to the agreed price: beyond the tolerance it is held for a manager."""
    row = await service.invoice(session, clock, principal, sublet_order_id, body)
    return await service.view(session, clock.now(), row)


@sublet_orders_router.post("/{sublet_order_id}/invoice/accept", response_model=SubletOrderPublic,
                           responses=problem_responses(NotFound, InvalidTransition, Forbidden))
async def accept_sublet_invoice(sublet_order_id: str, session: SessionDep, clock: ClockDep,
                                principal: Access, body: InvoiceDecision | None = None):
    """The service manager (or store manager) accepts a held invoice: its amount is the work's cost."""
    row = await service.accept_invoice(session, clock, principal, sublet_order_id,
                                       body or InvoiceDecision())
    return await service.view(session, clock.now(), row)


@sublet_orders_router.post("/{sublet_order_id}/invoice/refuse", response_model=SubletOrderPublic,
                           responses=problem_responses(NotFound, InvalidTransition, Forbidden))
async def refuse_sublet_invoice(sublet_order_id: str, body: InvoiceRefusal, session: SessionDep, clock: ClockDep,
                                principal: Access):
    """The manager refuses a held invoice: set aside, a corrected one is awaited."""
    row = await service.refuse_invoice(session, clock, principal, sublet_order_id, body)
    return await service.view(session, clock.now(), row)


@sublet_orders_router.post("/{sublet_order_id}/cancel", response_model=SubletOrderPublic, responses=Moves)
async def cancel_sublet_order(sublet_order_id: str, body: SubletCancel, session: SessionDep, clock: ClockDep,
                              principal: Access):
    """A draft, or work at the vendor, called off: the line may go to another vendor."""
    row = await service.cancel(session, clock, principal, sublet_order_id, body)
    return await service.view(session, clock.now(), row)
