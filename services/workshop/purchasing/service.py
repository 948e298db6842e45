"""Purchase orders and reorder suggestions.

A suggestion looks at each part's stock position: available + on order − still owed to
backorders. Below the reorder point, it orders whole multiples of the reorder quantity
until the position is back at the point; without a policy, it covers the backorders."""
from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import InvalidTransition, NotFound, ValidationFailed
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.tables import KnownStore
from services.workshop.parts import catalogue
from services.workshop.parts import repository as parts
from services.workshop.parts import service as stock
from services.workshop.parts.models import Reservation, StockReceipt
from services.workshop.parts.schemas import receipt_public
from services.workshop.purchasing import repository
from services.workshop.purchasing.models import PurchaseOrder, PurchaseOrderLine
from services.workshop.purchasing.schemas import (
    PurchaseOrderCreate,
    PurchaseOrderLinePublic,
    PurchaseOrderList,
    PurchaseOrderPublic,
    PurchaseOrderReceipt,
    PurchaseOrderReceive,
    ReorderSuggestion,
    ReorderSuggestionList,
)


async def view(session: AsyncSession, po: PurchaseOrder) -> PurchaseOrderPublic:
    return (await views(session, [po]))[0]


async def views(session: AsyncSession, pos: list[PurchaseOrder]) -> list[PurchaseOrderPublic]:
    lines = await repository.lines_of(session, [po.id for po in pos])
    return [
        PurchaseOrderPublic(
            id=po.id, store_id=po.store_id, number=po.number, supplier=po.supplier, status=po.status, note=po.note,
            total_fen=po.total_fen, created_at=po.created_at, created_by=po.created_by,
            created_by_name=po.created_by_name, created_by_credential=po.created_by_credential,
            received_at=po.received_at, cancelled_at=po.cancelled_at, version=po.version,
            lines=[PurchaseOrderLinePublic(part_no=line.part_no, name=catalogue.name_of(line.part_no),
                                           quantity=line.quantity, received_quantity=line.received_quantity,
                                           outstanding=line.outstanding, unit_cost_fen=line.unit_cost_fen)
                   for line in lines[po.id]],
        )
        for po in pos
    ]


async def list_purchase_orders(session: AsyncSession, principal: Principal, *, store_id: str | None, limit: int,
                               cursor: str | None, status: str | None) -> PurchaseOrderList:
    # A store's caller sees its own, whatever store it names; HQ the one it names, or all.
    rows, next_cursor = await repository.page(session, store_id=principal.store_id or store_id, limit=limit,
                                              cursor=cursor, status=status)
    return PurchaseOrderList(items=await views(session, list(rows)), next_cursor=next_cursor)


async def receipt_view(session: AsyncSession, po: PurchaseOrder, receipt: StockReceipt,
                       filled: list[Reservation]) -> PurchaseOrderReceipt:
    """The order after a delivery against it, and the delivery's receipt."""
    return PurchaseOrderReceipt(purchase_order=await view(session, po), receipt=receipt_public(receipt, filled))


async def create(session: AsyncSession, clock: Clock, principal: Principal, store: KnownStore,
                 data: PurchaseOrderCreate) -> PurchaseOrder:
    costs = []
    for i, line in enumerate(data.lines):
        part = catalogue.require(line.part_no, f"lines[{i}].part_no")
        costs.append(line.unit_cost_fen if line.unit_cost_fen is not None else part["dealer_cost_fen"])
    seq = await repository.next_number(session, store.id, "purchase_order")
    now = clock.now()
    po = PurchaseOrder(id=new_id(), store_id=store.id, number=f"{store.code}-PO-{seq:06d}", supplier=data.supplier,
                       status="open", note=data.note,
                       total_fen=sum(line.qty * cost for line, cost in zip(data.lines, costs, strict=True)),
                       created_at=now, created_by=principal.id, created_by_name=principal.name or principal.id,
                       created_by_credential=principal.credential or None)
    session.add(po)
    await session.flush()
    for line, cost in zip(data.lines, costs, strict=True):
        session.add(PurchaseOrderLine(id=new_id(), purchase_order_id=po.id, store_id=store.id, part_no=line.part_no,
                                      quantity=line.qty, unit_cost_fen=cost))
    await session.flush()
    return po


async def get_visible(session: AsyncSession, principal: Principal, po_id: str) -> PurchaseOrder:
    po = await repository.get(session, po_id)
    if po is None or not principal.can_see_store(po.store_id):
        raise NotFound("purchase order not found")
    return po


async def _locked(session: AsyncSession, principal: Principal, po_id: str) -> PurchaseOrder:
    po = await repository.get_for_update(session, po_id)
    if po is None or not principal.can_see_store(po.store_id):
        raise NotFound("purchase order not found")
    return po


async def receive(session: AsyncSession, clock: Clock, principal: Principal, po_id: str,
                  data: PurchaseOrderReceive) -> tuple[PurchaseOrder, StockReceipt, list[Reservation]]:
    """A delivery against the order; deliveries may come in parts, never more than ordered."""
    po = await _locked(session, principal, po_id)
    if po.status not in repository.OPEN:
        raise InvalidTransition(po.status, "receive")
    lines = {line.part_no: line for line in (await repository.lines_of(session, [po.id]))[po.id]}
    incoming = []
    for i, received in enumerate(data.lines):
        line = lines.get(received.part_no)
        if line is None:
            raise ValidationFailed(f"lines[{i}].part_no", f"{received.part_no} is not on purchase order {po.number}")
        if received.qty > line.outstanding:
            raise ValidationFailed(f"lines[{i}].qty",
                                   f"only {line.outstanding} unit(s) of {line.part_no} are outstanding")
        line.received_quantity += received.qty
        session.add(line)
        incoming.append(stock.ReceiptLineIn(part_no=line.part_no, qty=received.qty, unit_cost_fen=line.unit_cost_fen))
    receipt, filled = await stock.receive(session, clock, principal, po.store_id, data.reference, incoming,
                                          purchase_order_id=po.id)
    if all(line.outstanding == 0 for line in lines.values()):
        po.status = "received"
        po.received_at = receipt.received_at
    else:
        po.status = "partially_received"
    po.version += 1
    session.add(po)
    return po, receipt, filled


async def cancel(session: AsyncSession, clock: Clock, principal: Principal, po_id: str) -> PurchaseOrder:
    """Nothing more will come: what was received stays, the rest is no longer on order."""
    po = await _locked(session, principal, po_id)
    if po.status not in repository.OPEN:
        raise InvalidTransition(po.status, "cancel")
    po.status = "cancelled"
    po.cancelled_at = clock.now()
    po.version += 1
    session.add(po)
    return po


async def suggestions(session: AsyncSession, store_id: str) -> ReorderSuggestionList:
    short = await parts.backordered_short(session, store_id)
    on_order = await repository.on_order(session, store_id)
    items: list[ReorderSuggestion] = []
    for row in await parts.stocks_of_store(session, store_id):
        owed = short.get(row.part_no, 0)
        coming = on_order.get(row.part_no, 0)
        position = row.available + coming - owed
        if row.reorder_point is not None and row.reorder_quantity and position < row.reorder_point:
            lots = -(-(row.reorder_point - position) // row.reorder_quantity)
            quantity, reason = lots * row.reorder_quantity, "below_reorder_point"
        elif position < 0:
            quantity, reason = -position, "backorders"
        else:
            continue
        part = catalogue.find(row.part_no) or {}
        cost = part.get("dealer_cost_fen", row.average_cost_fen)
        items.append(ReorderSuggestion(
            store_id=store_id, part_no=row.part_no, name=catalogue.name_of(row.part_no), on_hand=row.on_hand,
            reserved=row.reserved, available=row.available, backordered=owed, on_order=coming,
            reorder_point=row.reorder_point, reorder_quantity=row.reorder_quantity, suggested_quantity=quantity,
            unit_cost_fen=cost, amount_fen=cost * quantity, reason=reason,
        ))
    return ReorderSuggestionList(store_id=store_id, items=items, total_fen=sum(i.amount_fen for i in items))
