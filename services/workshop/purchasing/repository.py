import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.workshop.purchasing.models import NumberSequence, PurchaseOrder, PurchaseOrderLine

OPEN = ("open", "partially_received")


async def next_number(session: AsyncSession, store_id: str, name: str) -> int:
    await session.exec(pg_insert(NumberSequence).values(store_id=store_id, name=name, value=0)
                       .on_conflict_do_nothing(index_elements=["store_id", "name"]))
    stmt = (select(NumberSequence).where(NumberSequence.store_id == store_id, NumberSequence.name == name)
            .with_for_update().execution_options(populate_existing=True))
    sequence = (await session.exec(stmt)).one()
    sequence.value += 1
    session.add(sequence)
    return sequence.value


async def get(session: AsyncSession, po_id: str) -> PurchaseOrder | None:
    return await session.get(PurchaseOrder, po_id)


async def get_for_update(session: AsyncSession, po_id: str) -> PurchaseOrder | None:
    stmt = select(PurchaseOrder).where(PurchaseOrder.id == po_id).with_for_update()
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


async def lines_of(session: AsyncSession, po_ids: list[str]) -> dict[str, list[PurchaseOrderLine]]:
    out: dict[str, list[PurchaseOrderLine]] = {i: [] for i in po_ids}
    if not po_ids:
        return out
    stmt = (select(PurchaseOrderLine).where(col(PurchaseOrderLine.purchase_order_id).in_(po_ids))
            .order_by(PurchaseOrderLine.part_no).execution_options(populate_existing=True))
    for line in (await session.exec(stmt)).all():
        out[line.purchase_order_id].append(line)
    return out


async def page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
               status: str | None = None):
    """One page of purchase orders; each filter given narrows it."""
    stmt = select(PurchaseOrder)
    if store_id:
        stmt = stmt.where(PurchaseOrder.store_id == store_id)
    if status:
        stmt = stmt.where(PurchaseOrder.status == status)
    return await paginate(session, stmt, PurchaseOrder.id, limit, cursor)


async def on_order(session: AsyncSession, store_id: str) -> dict[str, int]:
    """Units ordered and not yet received, per part, on open purchase orders."""
    stmt = (
        select(PurchaseOrderLine.part_no,
               sa.func.sum(PurchaseOrderLine.quantity - PurchaseOrderLine.received_quantity))
        .join(PurchaseOrder, col(PurchaseOrder.id) == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrder.store_id == store_id, col(PurchaseOrder.status).in_(OPEN))
        .group_by(PurchaseOrderLine.part_no)
    )
    return {part: int(units or 0) for part, units in (await session.exec(stmt)).all()}
