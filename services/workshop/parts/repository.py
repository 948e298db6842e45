from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.ids import new_id
from services.common.pagination import decode_cursor, encode_cursor, paginate
from services.workshop.parts.models import Reservation, Stock, StockMovement, StockReceipt


async def ensure_stock(session: AsyncSession, store_id: str, part_no: str, now: datetime) -> None:
    """Create the stock row if missing; concurrent creators race safely (one insert wins)."""
    stmt = pg_insert(Stock).values(
        id=new_id(), store_id=store_id, part_no=part_no, on_hand=0, reserved=0, below_reorder_point=False,
        average_cost_fen=0, reservation_seq=0, updated_at=now, version=1,
    ).on_conflict_do_nothing(index_elements=["store_id", "part_no"])
    await session.exec(stmt)


async def lock_stock(session: AsyncSession, store_id: str, part_no: str) -> Stock | None:
    """The stock row, locked until the transaction ends (SELECT ... FOR UPDATE), read fresh."""
    stmt = select(Stock).where(Stock.store_id == store_id, Stock.part_no == part_no).with_for_update()
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


async def get_stock(session: AsyncSession, store_id: str, part_no: str) -> Stock | None:
    stmt = select(Stock).where(Stock.store_id == store_id, Stock.part_no == part_no)
    return (await session.exec(stmt)).first()


async def stock_page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
                     part_no: str | None = None, below_reorder_point: bool | None = None):
    """One page of stock rows; each filter given narrows it."""
    stmt = select(Stock)
    if store_id:
        stmt = stmt.where(Stock.store_id == store_id)
    if part_no:
        stmt = stmt.where(Stock.part_no == part_no)
    if below_reorder_point is not None:
        stmt = stmt.where(Stock.below_reorder_point == below_reorder_point)
    return await paginate(session, stmt, Stock.id, limit, cursor)


async def stocks_of_store(session: AsyncSession, store_id: str) -> list[Stock]:
    return list((await session.exec(select(Stock).where(Stock.store_id == store_id).order_by(Stock.part_no))).all())


async def backordered_short(session: AsyncSession, store_id: str, part_nos: list[str] | None = None) -> dict[str, int]:
    """Units still owed to backordered reservations, per part."""
    stmt = (
        select(Reservation.part_no, sa.func.sum(Reservation.quantity - Reservation.allocated))
        .where(Reservation.store_id == store_id, Reservation.status == "backordered")
        .group_by(Reservation.part_no)
    )
    if part_nos is not None:
        stmt = stmt.where(col(Reservation.part_no).in_(part_nos))
    return {part: int(short or 0) for part, short in (await session.exec(stmt)).all()}


def add_movement(session: AsyncSession, movement: StockMovement) -> None:
    session.add(movement)


async def movement_page(session: AsyncSession, store_id: str, part_no: str, limit: int, cursor: str | None):
    """Ledger newest first; cursors are the integer ids."""
    stmt = select(StockMovement).where(StockMovement.store_id == store_id, StockMovement.part_no == part_no)
    if cursor:
        try:
            before = int(decode_cursor(cursor))
        except ValueError:
            before = 0
        stmt = stmt.where(col(StockMovement.id) < before)
    rows = list((await session.exec(stmt.order_by(col(StockMovement.id).desc()).limit(limit + 1))).all())
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(str(rows[-1].id))
    return rows, None


async def ledger_totals(session: AsyncSession, store_id: str, part_no: str) -> tuple[int, int]:
    stmt = select(sa.func.coalesce(sa.func.sum(StockMovement.on_hand_delta), 0),
                  sa.func.coalesce(sa.func.sum(StockMovement.reserved_delta), 0)).where(
        StockMovement.store_id == store_id, StockMovement.part_no == part_no)
    on_hand, reserved = (await session.exec(stmt)).one()
    return int(on_hand), int(reserved)


async def get_reservation(session: AsyncSession, reservation_id: str) -> Reservation | None:
    return await session.get(Reservation, reservation_id)


async def lock_reservation(session: AsyncSession, reservation_id: str) -> Reservation | None:
    stmt = select(Reservation).where(Reservation.id == reservation_id).with_for_update()
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


async def reservation_by_line(session: AsyncSession, repair_order_id: str, line_id: str) -> Reservation | None:
    stmt = select(Reservation).where(Reservation.repair_order_id == repair_order_id, Reservation.line_id == line_id)
    return (await session.exec(stmt)).first()


async def reservations_of_order(session: AsyncSession, repair_order_id: str) -> list[Reservation]:
    stmt = select(Reservation).where(Reservation.repair_order_id == repair_order_id).order_by(
        Reservation.part_no, Reservation.id)
    return list((await session.exec(stmt.execution_options(populate_existing=True))).all())


async def backorder_queue(session: AsyncSession, store_id: str, part_no: str) -> list[Reservation]:
    """Backordered reservations of one part, first come first."""
    stmt = (
        select(Reservation)
        .where(Reservation.store_id == store_id, Reservation.part_no == part_no, Reservation.status == "backordered")
        .order_by(col(Reservation.queue_seq))
        .with_for_update()
    )
    return list((await session.exec(stmt.execution_options(populate_existing=True))).all())


async def reservation_page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
                           repair_order_id: str | None, status: str | None, part_no: str | None):
    """One page of reservations; each filter given narrows it."""
    stmt = select(Reservation)
    if store_id:
        stmt = stmt.where(Reservation.store_id == store_id)
    if repair_order_id:
        stmt = stmt.where(Reservation.repair_order_id == repair_order_id)
    if status:
        stmt = stmt.where(Reservation.status == status)
    if part_no:
        stmt = stmt.where(Reservation.part_no == part_no)
    return await paginate(session, stmt, Reservation.id, limit, cursor)


async def get_receipt(session: AsyncSession, receipt_id: str) -> StockReceipt | None:
    return await session.get(StockReceipt, receipt_id)


async def receipt_page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
                       purchase_order_id: str | None = None):
    """One page of receipts; each filter given narrows it."""
    stmt = select(StockReceipt)
    if store_id:
        stmt = stmt.where(StockReceipt.store_id == store_id)
    if purchase_order_id:
        stmt = stmt.where(StockReceipt.purchase_order_id == purchase_order_id)
    return await paginate(session, stmt, StockReceipt.id, limit, cursor)
