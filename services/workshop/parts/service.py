"""Stock per store, its append-only ledger, and reservations for approved part lines.

Every change to a part's stock locks that stock row first (SELECT ... FOR UPDATE) and then,
if needed, the reservations of that part, in that order, so concurrent issues, receipts
and cancellations serialise on the row and never deadlock. Each change writes one ledger
movement carrying both deltas, so the sum of the ledger is on hand (and reserved) at
every commit. Backorders are filled strictly in arrival order: stock that arrives goes to
the oldest waiting reservation first."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypedDict

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.consumer import PoisonEvent
from services.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.reception import RepairOrderLine
from services.common.events.catalogue.workshop import ReservationBackordered, ReservationIssued, StockLow
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.logging import get_logger
from services.common.outbox import emit
from services.common.stores import acting_store_id
from services.workshop.orders import service as orders
from services.workshop.parts import catalogue, repository
from services.workshop.parts.models import Reservation, Stock, StockMovement, StockReceipt
from services.workshop.parts.schemas import (
    MovementList,
    PartList,
    PartPublic,
    ReceiptCreate,
    ReceiptList,
    ReceiptPublic,
    ReorderPolicy,
    ReservationList,
    StockChange,
    StockList,
    StockPublic,
    movement_public,
    receipt_public,
    reservation_public,
)

log = get_logger(__name__)


@dataclass
class ReceiptLineIn:
    part_no: str
    qty: int
    unit_cost_fen: int


def whole_units(quantity: str) -> int:
    """Parts are issued in whole units; a fractional quantity on a part line is rounded up
    (half a filter cannot be fitted)."""
    try:
        value = Decimal(quantity)
    except InvalidOperation as exc:
        raise PoisonEvent(f"part line quantity {quantity!r} is not a number") from exc
    if not value.is_finite():
        raise PoisonEvent(f"part line quantity {quantity!r} is not a number")
    return int(value.to_integral_value(rounding=ROUND_CEILING))


# --- the stock row and its ledger -----------------------------------------------------

async def _locked_stock(session: AsyncSession, store_id: str, part_no: str, now: datetime) -> Stock:
    await repository.ensure_stock(session, store_id, part_no, now)
    stock = await repository.lock_stock(session, store_id, part_no)
    assert stock is not None
    return stock


class MovedBy(TypedDict):
    """A movement's who-columns: the person, their name and the key or sign-in they used."""

    principal_id: str
    principal_name: str
    principal_credential: str | None


def _moved_by(principal: Principal) -> MovedBy:
    return MovedBy(principal_id=principal.id, principal_name=principal.name or principal.id,
                   principal_credential=principal.credential or None)


def _move(session: AsyncSession, stock: Stock, kind: str, now: datetime, *, on_hand: int = 0, reserved: int = 0,
          **refs) -> StockMovement:
    stock.on_hand += on_hand
    stock.reserved += reserved
    if stock.reserved < 0 or stock.on_hand < stock.reserved:
        # Callers check first; reaching here is a bug, and the check constraint would refuse it anyway.
        raise AssertionError(f"stock {stock.part_no} would go negative ({kind})")
    stock.updated_at = now
    stock.version += 1
    session.add(stock)
    movement = StockMovement(store_id=stock.store_id, part_no=stock.part_no, kind=kind, on_hand_delta=on_hand,
                             reserved_delta=reserved, on_hand_after=stock.on_hand, reserved_after=stock.reserved,
                             created_at=now, **refs)
    repository.add_movement(session, movement)
    return movement


def _take_into_average(stock: Stock, qty: int, unit_cost_fen: int) -> None:
    """The moving average cost per part and store: units coming in at their cost, weighed
    against those on hand at the average (to the fen, half up)."""
    total = stock.on_hand + qty
    if total <= 0:
        return
    stock.average_cost_fen = int(
        ((Decimal(stock.on_hand) * stock.average_cost_fen + Decimal(qty) * unit_cost_fen) / total)
        .quantize(Decimal(1), ROUND_HALF_UP))


async def _watch_reorder_point(session: AsyncSession, stock: Stock, now: datetime) -> None:
    """`stock.low` once each time available falls below the reorder point."""
    if stock.reorder_point is None:
        stock.below_reorder_point = False
        return
    below = stock.available < stock.reorder_point
    if below and not stock.below_reorder_point:
        stock.below_reorder_point = True
        await emit(session, StockLow(store_id=stock.store_id, part_no=stock.part_no, available=stock.available,
                                     reorder_point=stock.reorder_point, detected_at=now),
                   subject=stock.id, store_id=stock.store_id, time=now)
    elif not below and stock.below_reorder_point:
        stock.below_reorder_point = False
    session.add(stock)


async def _fill_backorders(session: AsyncSession, stock: Stock, now: datetime) -> list[Reservation]:
    """Give free stock to waiting reservations, oldest first; returns the ones now complete."""
    filled: list[Reservation] = []
    if stock.available <= 0:
        return filled
    for reservation in await repository.backorder_queue(session, stock.store_id, stock.part_no):
        if stock.available <= 0:
            break
        take = min(reservation.short, stock.available)
        reservation.allocated += take
        _move(session, stock, "reservation", now, reserved=take, reservation_id=reservation.id,
              repair_order_id=reservation.repair_order_id)
        if reservation.allocated == reservation.quantity:
            reservation.status = "reserved"
            reservation.filled_at = now
            filled.append(reservation)
        reservation.version += 1
        session.add(reservation)
    return filled


async def stock_views(session: AsyncSession, stocks: list[Stock]) -> list[StockPublic]:
    by_store: dict[str, list[str]] = defaultdict(list)
    for s in stocks:
        by_store[s.store_id].append(s.part_no)
    short: dict[tuple[str, str], int] = {}
    for store_id, part_nos in by_store.items():
        for part_no, units in (await repository.backordered_short(session, store_id, part_nos)).items():
            short[(store_id, part_no)] = units
    return [
        StockPublic(id=s.id, store_id=s.store_id, part_no=s.part_no, name=catalogue.name_of(s.part_no),
                    on_hand=s.on_hand, reserved=s.reserved, available=s.available,
                    backordered=short.get((s.store_id, s.part_no), 0), bin=s.bin, reorder_point=s.reorder_point,
                    reorder_quantity=s.reorder_quantity, below_reorder_point=s.below_reorder_point,
                    average_cost_fen=s.average_cost_fen, updated_at=s.updated_at, version=s.version)
        for s in stocks
    ]


async def stock_view(session: AsyncSession, stock: Stock) -> StockPublic:
    return (await stock_views(session, [stock]))[0]


async def stock_of(session: AsyncSession, store_id: str, part_no: str, now: datetime) -> StockPublic:
    """A part's stock in a store; a catalogue part never stocked there shows as zero."""
    catalogue.get(part_no)
    stock = await repository.get_stock(session, store_id, part_no)
    if stock is None:
        # Never stocked here: an empty row's figures, with no id as there is no row.
        empty = Stock(id="", store_id=store_id, part_no=part_no, updated_at=now, version=0)
        return (await stock_view(session, empty)).model_copy(update={"id": None})
    return await stock_view(session, stock)


# The lists: a store's caller sees its own store's, whatever store it names; HQ the one it
# names, or every store's.

def list_parts(*, limit: int, cursor: str | None, category: str | None, q: str | None) -> PartList:
    items, next_cursor = catalogue.page(limit=limit, cursor=cursor, category=category, q=q)
    return PartList(items=[PartPublic.model_validate(p) for p in items], next_cursor=next_cursor)


def part(part_no: str) -> PartPublic:
    return PartPublic.model_validate(catalogue.get(part_no))


async def list_stock(session: AsyncSession, principal: Principal, *, store_id: str | None, limit: int,
                     cursor: str | None, part_no: str | None, below_reorder_point: bool | None) -> StockList:
    rows, next_cursor = await repository.stock_page(
        session, store_id=principal.store_id or store_id, limit=limit, cursor=cursor, part_no=part_no,
        below_reorder_point=below_reorder_point)
    return StockList(items=await stock_views(session, list(rows)), next_cursor=next_cursor)


async def list_receipts(session: AsyncSession, principal: Principal, *, store_id: str | None, limit: int,
                        cursor: str | None, purchase_order_id: str | None) -> ReceiptList:
    rows, next_cursor = await repository.receipt_page(
        session, store_id=principal.store_id or store_id, limit=limit, cursor=cursor,
        purchase_order_id=purchase_order_id)
    return ReceiptList(items=[receipt_public(r) for r in rows], next_cursor=next_cursor)


async def list_movements(session: AsyncSession, principal: Principal, part_no: str, *, store_id: str | None,
                         limit: int, cursor: str | None) -> MovementList:
    """The part's ledger in the acting store, newest first."""
    catalogue.get(part_no)
    rows, next_cursor = await repository.movement_page(session, acting_store_id(principal, store_id), part_no,
                                                       limit, cursor)
    return MovementList(items=[movement_public(m) for m in rows], next_cursor=next_cursor)


async def list_reservations(session: AsyncSession, principal: Principal, *, store_id: str | None, limit: int,
                            cursor: str | None, repair_order_id: str | None, status: str | None,
                            part_no: str | None) -> ReservationList:
    rows, next_cursor = await repository.reservation_page(
        session, store_id=principal.store_id or store_id, limit=limit, cursor=cursor,
        repair_order_id=repair_order_id, status=status, part_no=part_no)
    return ReservationList(items=[reservation_public(r) for r in rows], next_cursor=next_cursor)


async def get_visible_receipt(session: AsyncSession, principal: Principal, receipt_id: str) -> StockReceipt:
    receipt = await repository.get_receipt(session, receipt_id)
    if receipt is None or not principal.can_see_store(receipt.store_id):
        raise NotFound("receipt not found")
    return receipt


# --- receipts, adjustments, counter issues ---------------------------------------------

async def receive_stock(session: AsyncSession, clock: Clock, principal: Principal, store_id: str,
                        data: ReceiptCreate) -> ReceiptPublic:
    """Goods in without a purchase order; a line's cost defaults to the catalogue's dealer cost."""
    lines = []
    for i, line in enumerate(data.lines):
        found = catalogue.require(line.part_no, f"lines[{i}].part_no")
        cost = line.unit_cost_fen if line.unit_cost_fen is not None else found["dealer_cost_fen"]
        lines.append(ReceiptLineIn(part_no=line.part_no, qty=line.qty, unit_cost_fen=cost))
    receipt, filled = await receive(session, clock, principal, store_id, data.reference, lines)
    return receipt_public(receipt, filled)


async def stock_change(session: AsyncSession, movement: StockMovement, stock: Stock) -> StockChange:
    """A ledger entry and the stock it left, as the API shows them."""
    await session.flush()  # the movement's id is the database's
    return StockChange(movement=movement_public(movement), stock=await stock_view(session, stock))



async def receive(session: AsyncSession, clock: Clock, principal: Principal, store_id: str, reference: str,
                  lines: list[ReceiptLineIn],
                  purchase_order_id: str | None = None) -> tuple[StockReceipt, list[Reservation]]:
    now = clock.now()
    receipt = StockReceipt(id=new_id(), store_id=store_id, reference=reference, purchase_order_id=purchase_order_id,
                           lines=[{"part_no": x.part_no, "qty": x.qty, "unit_cost_fen": x.unit_cost_fen}
                                  for x in lines],
                           received_at=now, received_by=principal.id, received_by_name=principal.name or principal.id,
                           received_by_credential=principal.credential or None)
    session.add(receipt)
    filled: list[Reservation] = []
    # Rows are locked in part-number order, the same order everyone uses, so receipts never deadlock.
    for line in sorted(lines, key=lambda x: x.part_no):
        stock = await _locked_stock(session, store_id, line.part_no, now)
        _take_into_average(stock, line.qty, line.unit_cost_fen)
        _move(session, stock, "receipt", now, on_hand=line.qty, unit_cost_fen=line.unit_cost_fen,
              receipt_id=receipt.id, reference=reference, **_moved_by(principal))
        filled += await _fill_backorders(session, stock, now)
        await _watch_reorder_point(session, stock, now)
    return receipt, filled


async def adjust(session: AsyncSession, clock: Clock, principal: Principal, store_id: str, part_no: str, delta: int,
                 reason: str) -> tuple[StockMovement, Stock]:
    catalogue.require(part_no, "part_no")
    now = clock.now()
    stock = await _locked_stock(session, store_id, part_no, now)
    if stock.on_hand + delta < stock.reserved:
        raise Conflict(f"only {stock.available} unit(s) of {part_no} are free; reserved units cannot be adjusted away",
                       available=stock.available, errors=[{"field": "delta", "message": "more than available"}])
    movement = _move(session, stock, "adjustment", now, on_hand=delta, reason=reason, **_moved_by(principal))
    if delta > 0:
        await _fill_backorders(session, stock, now)
    await _watch_reorder_point(session, stock, now)
    return movement, stock


async def issue_from_stock(session: AsyncSession, clock: Clock, principal: Principal, store_id: str, part_no: str,
                           qty: int, *, reference: str | None, repair_order_id: str | None,
                           reason: str | None) -> tuple[StockMovement, Stock]:
    catalogue.require(part_no, "part_no")
    if repair_order_id is not None:
        await orders.of_store(session, store_id, repair_order_id)
    now = clock.now()
    stock = await _locked_stock(session, store_id, part_no, now)
    if stock.available < qty:
        raise Conflict(f"only {stock.available} unit(s) of {part_no} available", available=stock.available,
                       errors=[{"field": "qty", "message": "more than available"}])
    movement = _move(session, stock, "issue", now, on_hand=-qty, unit_cost_fen=stock.average_cost_fen,
                     reference=reference, repair_order_id=repair_order_id, reason=reason, **_moved_by(principal))
    await _watch_reorder_point(session, stock, now)
    return movement, stock


async def set_reorder_policy(session: AsyncSession, clock: Clock, store_id: str, part_no: str,
                             policy: ReorderPolicy) -> Stock:
    catalogue.get(part_no)
    now = clock.now()
    stock = await _locked_stock(session, store_id, part_no, now)
    stock.reorder_point = policy.reorder_point
    stock.reorder_quantity = policy.reorder_quantity if policy.reorder_point is not None else None
    stock.updated_at = now
    stock.version += 1
    await _watch_reorder_point(session, stock, now)
    return stock


async def set_bin(session: AsyncSession, clock: Clock, store_id: str, part_no: str, bin_code: str | None) -> Stock:
    catalogue.get(part_no)
    now = clock.now()
    stock = await _locked_stock(session, store_id, part_no, now)
    stock.bin = bin_code
    stock.updated_at = now
    stock.version += 1
    session.add(stock)
    return stock


# --- reservations ----------------------------------------------------------------------

async def reserve_for_line(session: AsyncSession, now: datetime, *, store_id: str, repair_order_id: str,
                           line: RepairOrderLine) -> Reservation | None:
    """Hold stock for an approved part line; what is short waits as a backorder."""
    if not line.part_no:
        return None
    if catalogue.find(line.part_no) is None:
        # Not a stocked part (bought in for this job): nothing to hold or issue here.
        log.warning("part line for a part outside the catalogue", part_no=line.part_no, repair_order_id=repair_order_id)
        return None
    quantity = whole_units(line.quantity)
    if quantity <= 0:
        return None
    if await repository.reservation_by_line(session, repair_order_id, line.line_id) is not None:
        return None
    stock = await _locked_stock(session, store_id, line.part_no, now)
    # Anyone already waiting comes first.
    await _fill_backorders(session, stock, now)
    stock.reservation_seq += 1
    take = min(quantity, max(stock.available, 0))
    reservation = Reservation(
        id=new_id(), store_id=store_id, repair_order_id=repair_order_id, line_id=line.line_id, part_no=line.part_no,
        pay_type=line.pay_type, quantity=quantity, allocated=take,
        status="reserved" if take == quantity else "backordered", queue_seq=stock.reservation_seq,
        filled_from_stock=take == quantity, reserved_at=now, filled_at=now if take == quantity else None,
    )
    session.add(reservation)
    if take:
        _move(session, stock, "reservation", now, reserved=take, reservation_id=reservation.id,
              repair_order_id=repair_order_id)
    else:
        session.add(stock)
    if reservation.status == "backordered":
        await emit(session, ReservationBackordered(
            reservation_id=reservation.id, store_id=store_id, repair_order_id=repair_order_id, part_no=line.part_no,
            quantity=quantity, short_quantity=reservation.short, backordered_at=now,
        ), subject=reservation.id, store_id=store_id, time=now)
    await _watch_reorder_point(session, stock, now)
    return reservation


async def get_visible_reservation(session: AsyncSession, principal: Principal, reservation_id: str) -> Reservation:
    reservation = await repository.get_reservation(session, reservation_id)
    if reservation is None or not principal.can_see_store(reservation.store_id):
        raise NotFound("reservation not found")
    return reservation


async def _lock_pair(session: AsyncSession, reservation: Reservation) -> tuple[Stock, Reservation]:
    stock = await repository.lock_stock(session, reservation.store_id, reservation.part_no)
    locked = await repository.lock_reservation(session, reservation.id)
    assert stock is not None and locked is not None
    return stock, locked


async def issue_reservation(session: AsyncSession, clock: Clock, principal: Principal,
                            reservation_id: str) -> Reservation:
    found = await get_visible_reservation(session, principal, reservation_id)
    stock, reservation = await _lock_pair(session, found)
    if reservation.status != "reserved":
        raise InvalidTransition(reservation.status, "issue", short=reservation.short)
    now = clock.now()
    # The order's parts cost is fixed here, at the average the part has in this store now.
    reservation.unit_cost_fen = stock.average_cost_fen
    _move(session, stock, "issue", now, on_hand=-reservation.quantity, reserved=-reservation.quantity,
          unit_cost_fen=stock.average_cost_fen, reservation_id=reservation.id,
          repair_order_id=reservation.repair_order_id, **_moved_by(principal))
    reservation.status = "issued"
    reservation.issued_quantity = reservation.quantity
    reservation.issued_at = now
    reservation.issued_by, reservation.issued_by_name = principal.id, principal.name or principal.id
    reservation.issued_by_credential = principal.credential or None
    reservation.version += 1
    session.add(reservation)
    await emit(session, ReservationIssued(
        reservation_id=reservation.id, store_id=reservation.store_id, repair_order_id=reservation.repair_order_id,
        part_no=reservation.part_no, quantity=reservation.quantity, filled_from_stock=reservation.filled_from_stock,
        reserved_at=reservation.reserved_at, issued_at=now,
    ), subject=reservation.id, store_id=reservation.store_id, time=now)
    await _watch_reorder_point(session, stock, now)
    await orders.check_ready(session, clock, reservation.repair_order_id)
    return reservation


async def return_reservation(session: AsyncSession, clock: Clock, principal: Principal, reservation_id: str,
                             quantity: int, reason: str) -> Reservation:
    """Issued parts that were not fitted come back to the shelf."""
    found = await get_visible_reservation(session, principal, reservation_id)
    stock, reservation = await _lock_pair(session, found)
    if reservation.status != "issued":
        raise InvalidTransition(reservation.status, "return")
    outstanding = reservation.issued_quantity - reservation.returned_quantity
    if quantity > outstanding:
        raise ValidationFailed("quantity", f"only {outstanding} issued unit(s) are not yet returned")
    now = clock.now()
    # Back on the shelf at the cost it left with, which the moving average takes in as a receipt would.
    cost = reservation.unit_cost_fen if reservation.unit_cost_fen is not None else stock.average_cost_fen
    _take_into_average(stock, quantity, cost)
    _move(session, stock, "return", now, on_hand=quantity, unit_cost_fen=cost, reservation_id=reservation.id,
          repair_order_id=reservation.repair_order_id, reason=reason, **_moved_by(principal))
    reservation.returned_quantity += quantity
    reservation.version += 1
    session.add(reservation)
    await _fill_backorders(session, stock, now)
    await _watch_reorder_point(session, stock, now)
    return reservation


async def release_order(session: AsyncSession, now: datetime, repair_order_id: str) -> list[Reservation]:
    """A cancelled order gives back what it held; freed units go to the next in line."""
    released: list[Reservation] = []
    for found in await repository.reservations_of_order(session, repair_order_id):
        if found.status not in ("reserved", "backordered"):
            continue
        stock, reservation = await _lock_pair(session, found)
        if reservation.status not in ("reserved", "backordered"):
            continue
        if reservation.allocated:
            _move(session, stock, "release", now, reserved=-reservation.allocated, reservation_id=reservation.id,
                  repair_order_id=repair_order_id, reason="repair order cancelled")
        reservation.status = "released"
        reservation.released_at = now
        reservation.version += 1
        session.add(reservation)
        released.append(reservation)
        await _fill_backorders(session, stock, now)
        await _watch_reorder_point(session, stock, now)
    return released
