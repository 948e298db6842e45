from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.stores import acting_store_id, active_store
from services.workshop.parts import service
from services.workshop.parts.schemas import (
    AdjustmentCreate,
    BinUpdate,
    IssueCreate,
    MovementList,
    PartList,
    PartPublic,
    ReceiptCreate,
    ReceiptList,
    ReceiptPublic,
    ReorderPolicy,
    ReservationList,
    ReservationPublic,
    ReservationStatus,
    ReturnCreate,
    StockChange,
    StockList,
    StockPublic,
    receipt_public,
    reservation_public,
)

Parts = Annotated[Principal, Depends(require_access("workshop_parts"))]
StoreQuery = Annotated[str | None, Query(description="HQ only: the store")]

parts_router = APIRouter(prefix="/v1/parts", tags=["parts"], route_class=TransactionalRoute)
stock_router = APIRouter(prefix="/v1/stock", tags=["stock"], route_class=TransactionalRoute)
reservations_router = APIRouter(prefix="/v1/reservations", tags=["reservations"], route_class=TransactionalRoute)


# --- catalogue -------------------------------------------------------------------------

@parts_router.get("", response_model=PartList)
async def list_parts(_: Parts, limit: LimitQuery = 50, cursor: CursorQuery = None,
                     category: Annotated[str | None, Query()] = None,
                     q: Annotated[str | None, Query(max_length=100,
                                                    description="part number or name contains")] = None):
    return service.list_parts(limit=limit, cursor=cursor, category=category, q=q)


@parts_router.get("/{part_no}", response_model=PartPublic, responses=problem_responses(NotFound))
async def get_part(part_no: str, _: Parts):
    return service.part(part_no)


# --- stock -----------------------------------------------------------------------------

@stock_router.get("", response_model=StockList)
async def list_stock(session: SessionDep, principal: Parts, limit: LimitQuery = 50, cursor: CursorQuery = None,
                     part_no: Annotated[str | None, Query()] = None,
                     below_reorder_point: Annotated[bool | None, Query()] = None, store_id: StoreQuery = None):
    return await service.list_stock(session, principal, store_id=store_id, limit=limit, cursor=cursor, part_no=part_no,
                                    below_reorder_point=below_reorder_point)


@stock_router.post("/receipts", status_code=201, response_model=ReceiptPublic,
                   responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def receive_stock(body: ReceiptCreate, session: SessionDep, clock: ClockDep, principal: Parts):
    """Goods in without a purchase order. Waiting backorders are filled first, oldest first."""
    store = await active_store(session, principal, body.store_id)
    return await service.receive_stock(session, clock, principal, store.id, body)


@stock_router.get("/receipts", response_model=ReceiptList)
async def list_receipts(session: SessionDep, principal: Parts, limit: LimitQuery = 50, cursor: CursorQuery = None,
                        purchase_order_id: Annotated[str | None, Query()] = None, store_id: StoreQuery = None):
    return await service.list_receipts(session, principal, store_id=store_id, limit=limit, cursor=cursor,
                                       purchase_order_id=purchase_order_id)


@stock_router.get("/receipts/{receipt_id}", response_model=ReceiptPublic, responses=problem_responses(NotFound))
async def get_receipt(receipt_id: str, session: SessionDep, principal: Parts):
    return receipt_public(await service.get_visible_receipt(session, principal, receipt_id))


@stock_router.post("/adjustments", status_code=201, response_model=StockChange,
                   responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def adjust_stock(body: AdjustmentCreate, session: SessionDep, clock: ClockDep, principal: Parts):
    """A stock-take correction (found or lost units), with the reason on the ledger."""
    store = await active_store(session, principal, body.store_id)
    movement, stock = await service.adjust(session, clock, principal, store.id, body.part_no, body.delta, body.reason)
    return await service.stock_change(session, movement, stock)


@stock_router.post("/issues", status_code=201, response_model=StockChange,
                   responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def issue_stock(body: IssueCreate, session: SessionDep, clock: ClockDep, principal: Parts):
    """A counter issue from available stock (not reserved for anyone); 409 when too few are available."""
    store = await active_store(session, principal, body.store_id)
    movement, stock = await service.issue_from_stock(
        session, clock, principal, store.id, body.part_no, body.qty, reference=body.reference,
        repair_order_id=body.repair_order_id, reason=body.reason)
    return await service.stock_change(session, movement, stock)


@stock_router.get("/{part_no}", response_model=StockPublic, responses=problem_responses(NotFound, ValidationFailed))
async def get_stock(part_no: str, session: SessionDep, clock: ClockDep, principal: Parts, store_id: StoreQuery = None):
    return await service.stock_of(session, acting_store_id(principal, store_id), part_no, clock.now())


@stock_router.get("/{part_no}/movements", response_model=MovementList,
                  responses=problem_responses(NotFound, ValidationFailed))
async def list_movements(part_no: str, session: SessionDep, principal: Parts, limit: LimitQuery = 50,
                         cursor: CursorQuery = None, store_id: StoreQuery = None):
    """The part's ledger in this store, newest first."""
    return await service.list_movements(session, principal, part_no, store_id=store_id, limit=limit, cursor=cursor)


@stock_router.put("/{part_no}/reorder-policy", response_model=StockPublic,
                  responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def put_reorder_policy(part_no: str, body: ReorderPolicy, session: SessionDep, clock: ClockDep, principal: Parts):
    """Reorder point and quantity of this part in this store; `stock.low` goes out when
    available falls below the point (at once, if it already is)."""
    store = await active_store(session, principal, body.store_id)
    return await service.stock_view(session, await service.set_reorder_policy(session, clock, store.id, part_no, body))


@stock_router.put("/{part_no}/bin", response_model=StockPublic,
                  responses=problem_responses(NotFound, Conflict, ValidationFailed))
async def put_bin(part_no: str, body: BinUpdate, session: SessionDep, clock: ClockDep, principal: Parts):
    store = await active_store(session, principal, body.store_id)
    return await service.stock_view(session, await service.set_bin(session, clock, store.id, part_no, body.bin))


# --- reservations ----------------------------------------------------------------------

@reservations_router.get("", response_model=ReservationList)
async def list_reservations(session: SessionDep, principal: Parts, limit: LimitQuery = 50, cursor: CursorQuery = None,
                            repair_order_id: Annotated[str | None, Query()] = None,
                            status: Annotated[ReservationStatus | None, Query()] = None,
                            part_no: Annotated[str | None, Query()] = None, store_id: StoreQuery = None):
    return await service.list_reservations(session, principal, store_id=store_id, limit=limit, cursor=cursor,
                                           repair_order_id=repair_order_id, status=status, part_no=part_no)


@reservations_router.get("/{reservation_id}", response_model=ReservationPublic, responses=problem_responses(NotFound))
async def get_reservation(reservation_id: str, session: SessionDep, principal: Parts):
    return reservation_public(await service.get_visible_reservation(session, principal, reservation_id))


@reservations_router.post("/{reservation_id}/issue", response_model=ReservationPublic,
                          responses=problem_responses(NotFound, InvalidTransition))
async def issue_reservation(reservation_id: str, session: SessionDep, clock: ClockDep, principal: Parts):
    """Hand the reserved parts to the workshop; a backordered reservation cannot be issued yet (409)."""
    return reservation_public(await service.issue_reservation(session, clock, principal, reservation_id))


@reservations_router.post("/{reservation_id}/return", response_model=ReservationPublic,
                          responses=problem_responses(NotFound, InvalidTransition, ValidationFailed))
async def return_reservation(reservation_id: str, body: ReturnCreate, session: SessionDep, clock: ClockDep,
                             principal: Parts):
    """Issued parts not fitted go back on the shelf (and to the next backorder in line)."""
    return reservation_public(
        await service.return_reservation(session, clock, principal, reservation_id, body.quantity, body.reason))
