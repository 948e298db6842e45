from datetime import date

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.reception.receivables.models import Receivable, ReceivablePayment


async def by_source(session: AsyncSession, source_kind: str, source_id: str, payer_kind: str) -> Receivable | None:
    stmt = select(Receivable).where(Receivable.source_kind == source_kind, Receivable.source_id == source_id,
                                    Receivable.payer_kind == payer_kind)
    return (await session.exec(stmt)).first()


async def of_source(session: AsyncSession, source_kind: str, source_id: str) -> list[Receivable]:
    stmt = (select(Receivable).where(Receivable.source_kind == source_kind, Receivable.source_id == source_id)
            .order_by(col(Receivable.payer_kind)))
    return list((await session.exec(stmt)).all())


async def open_fen(session: AsyncSession, store_id: str, payer_kind: str, payer_id: str) -> int:
    """What a payer owes the store now, every open item together."""
    stmt = select(sa.func.coalesce(sa.func.sum(col(Receivable.amount_fen) - col(Receivable.paid_fen)), 0)).where(
        Receivable.store_id == store_id, Receivable.payer_kind == payer_kind, Receivable.payer_id == payer_id)
    return int((await session.exec(stmt)).one())


async def open_items(session: AsyncSession, *, store_id: str | None, payer_kind: str | None = None,
                     payer_id: str | None = None, due_before: date | None = None) -> list[Receivable]:
    stmt = select(Receivable).where(col(Receivable.paid_fen) < col(Receivable.amount_fen))
    if store_id:
        stmt = stmt.where(Receivable.store_id == store_id)
    if payer_kind:
        stmt = stmt.where(Receivable.payer_kind == payer_kind)
    if payer_id:
        stmt = stmt.where(Receivable.payer_id == payer_id)
    if due_before:
        stmt = stmt.where(col(Receivable.due_on) < due_before)
    stmt = stmt.order_by(col(Receivable.due_on), col(Receivable.id))
    return list((await session.exec(stmt)).all())


async def lock(session: AsyncSession, ids: list[str]) -> dict[str, Receivable]:
    """The items a payment matches, locked in id order so two payments touching the same
    items wait for each other instead of deadlocking."""
    stmt = select(Receivable).where(col(Receivable.id).in_(ids)).order_by(col(Receivable.id)).with_for_update()
    return {item.id: item for item in (await session.exec(stmt)).all()}


def add_payment(session: AsyncSession, payment: ReceivablePayment) -> None:
    session.add(payment)
