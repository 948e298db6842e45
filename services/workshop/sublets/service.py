"""Outsourced work (委外): a store's vendors and the sublet orders that send a repair
order's sublet line to one of them.

A sublet order goes `draft → sent → returned → inspected → invoiced` (policy.py holds the
moves, the invoice tolerance and lateness as pure functions). Its cost, the invoice once
invoiced and the agreed price before, is the line's cost in the order's margin
(costs/service.py); a line without a sublet order keeps the cost recorded on it by hand.
Each move outside the store is announced (workshop.sublet_order.sent, returned, inspected,
invoice_matched, invoice_held), keyed by the sublet order."""
from __future__ import annotations

from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, Forbidden, NotFound, StaleVersion, ValidationFailed
from services.common.events.catalogue.workshop import (
    SubletOrderInspected,
    SubletOrderInvoiceHeld,
    SubletOrderInvoiceMatched,
    SubletOrderReturned,
    SubletOrderSent,
)
from services.common.events.envelope import Event
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.stores import get_store, store_zone
from services.common.tables import KnownStore
from services.workshop.costs import repository as costs
from services.workshop.orders import repository as orders
from services.workshop.purchasing import repository as numbers
from services.workshop.sublets import policy, repository
from services.workshop.sublets.models import SubletOrder, Vendor
from services.workshop.sublets.schemas import (
    Inspection,
    InvoiceDecision,
    InvoiceRefusal,
    SubletCancel,
    SubletInspection,
    SubletInvoice,
    SubletOrderCreate,
    SubletOrderList,
    SubletOrderPublic,
    SubletReturn,
    VendorCreate,
    VendorList,
    VendorPublic,
    VendorUpdate,
)

# The car is gone or the work was called off: nothing more is sent out for these orders.
CLOSED_ORDERS = ("cancelled", "delivered")


def vendor_public(row: Vendor) -> VendorPublic:
    return VendorPublic.model_validate(row, from_attributes=True)


async def create_vendor(session: AsyncSession, clock: Clock, store: KnownStore, data: VendorCreate) -> Vendor:
    if await repository.vendor_named(session, store.id, data.name) is not None:
        raise Conflict(f"store {store.code} already has a vendor named {data.name}")
    now = clock.now()
    row = Vendor(id=new_id(), store_id=store.id, name=data.name, specialties=list(data.specialties),
                 contact_name=data.contact_name, phone=data.phone, address=data.address, active=True,
                 created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    return row


async def get_vendor(session: AsyncSession, principal: Principal, vendor_id: str) -> Vendor:
    row = await repository.vendor(session, vendor_id)
    if row is None or not principal.can_see_store(row.store_id):
        raise NotFound("vendor not found")
    return row


async def update_vendor(session: AsyncSession, clock: Clock, principal: Principal, vendor_id: str,
                        data: VendorUpdate) -> Vendor:
    row = await repository.vendor_for_update(session, vendor_id)
    if row is None or not principal.can_see_store(row.store_id):
        raise NotFound("vendor not found")
    if data.version != row.version:
        raise StaleVersion(row.version)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if changes.get("name") and changes["name"] != row.name:
        if await repository.vendor_named(session, row.store_id, changes["name"]) is not None:
            raise Conflict(f"this store already has a vendor named {changes['name']}")
    for field, value in changes.items():
        if value is None and field in ("name", "specialties", "active"):
            raise ValidationFailed(field, "may not be cleared")
        setattr(row, field, list(value) if field == "specialties" else value)
    row.updated_at = clock.now()
    row.version += 1
    session.add(row)
    return row


async def list_vendors(session: AsyncSession, principal: Principal, *, store_id: str | None, limit: int,
                       cursor: str | None, active: bool | None, specialty: str | None) -> VendorList:
    # A store's caller sees its own, whatever store it names; HQ the one it names, or all.
    rows, next_cursor = await repository.vendor_page(session, store_id=principal.store_id or store_id, limit=limit,
                                                     cursor=cursor, active=active, specialty=specialty)
    return VendorList(items=[vendor_public(r) for r in rows], next_cursor=next_cursor)


def _today(store: KnownStore | None, now: datetime) -> date:
    return now.astimezone(store_zone(store)).date()


async def views(session: AsyncSession, now: datetime, rows: list[SubletOrder]) -> list[SubletOrderPublic]:
    vendors = await repository.vendors_by_ids(session, {r.vendor_id for r in rows})
    stores = {sid: await session.get(KnownStore, sid) for sid in {r.store_id for r in rows}}
    out = []
    for row in rows:
        today = _today(stores[row.store_id], now)
        difference = None if row.invoice_amount_fen is None else row.invoice_amount_fen - row.agreed_price_fen
        out.append(SubletOrderPublic(
            **row.model_dump(exclude={"inspections"}), vendor_name=vendors[row.vendor_id].name,
            inspections=[Inspection.model_validate(i) for i in row.inspections], difference_fen=difference,
            tolerance_fen=policy.tolerance_fen(row.agreed_price_fen), cost_fen=row.cost_fen,
            days_overdue=policy.days_overdue(row.status, row.promised_on, today),
        ))
    return out


async def view(session: AsyncSession, now: datetime, row: SubletOrder) -> SubletOrderPublic:
    return (await views(session, now, [row]))[0]


async def list_sublet_orders(session: AsyncSession, now: datetime, principal: Principal, *, store_id: str | None,
                             limit: int, cursor: str | None, status: str | None, vendor_id: str | None,
                             repair_order_id: str | None, overdue: bool) -> SubletOrderList:
    rows, next_cursor = await repository.page(
        session, store_id=principal.store_id or store_id, limit=limit, cursor=cursor, status=status,
        vendor_id=vendor_id, repair_order_id=repair_order_id, overdue_at=now if overdue else None)
    return SubletOrderList(items=await views(session, now, list(rows)), next_cursor=next_cursor)


async def get_visible(session: AsyncSession, principal: Principal, sublet_order_id: str) -> SubletOrder:
    row = await repository.get(session, sublet_order_id)
    if row is None or not principal.can_see_store(row.store_id):
        raise NotFound("sublet order not found")
    return row


async def _locked(session: AsyncSession, principal: Principal, sublet_order_id: str) -> SubletOrder:
    row = await repository.get_for_update(session, sublet_order_id)
    if row is None or not principal.can_see_store(row.store_id):
        raise NotFound("sublet order not found")
    return row


async def create(session: AsyncSession, clock: Clock, principal: Principal, data: SubletOrderCreate) -> SubletOrder:
    order = await orders.get(session, data.repair_order_id)
    if order is None or not principal.can_see_store(order.store_id):
        raise ValidationFailed("repair_order_id", "no repair order of this store has that id")
    # The line's row is locked first: two requests for the same line make one sublet order.
    line = await costs.sublet_for_update(session, order.id, data.line_id)
    if line is None:
        raise ValidationFailed("line_id", f"repair order {order.number} has no approved sublet line with that id")
    if order.status in CLOSED_ORDERS:
        raise Conflict(f"repair order {order.number} is {order.status}", current_state=order.status)
    vendor = await repository.vendor(session, data.vendor_id)
    if vendor is None or vendor.store_id != order.store_id:
        raise ValidationFailed("vendor_id", "no vendor of the order's store has that id")
    if not vendor.active:
        raise ValidationFailed("vendor_id", f"vendor {vendor.name} is inactive")
    store = await get_store(session, order.store_id)
    now = clock.now()
    if data.promised_on < _today(store, now):
        raise ValidationFailed("promised_on", "the promised day is already past in the store's calendar")
    live = await repository.live_of_line(session, order.id, line.line_id)
    if live is not None:
        raise Conflict(f"the line is already sent out on sublet order {live.number}", sublet_order_id=live.id)
    seq = await numbers.next_number(session, store.id, "sublet_order")
    row = SubletOrder(id=new_id(), store_id=order.store_id, number=f"{store.code}-SO-{seq:06d}",
                      repair_order_id=order.id, line_id=line.line_id, vendor_id=vendor.id, work=data.work,
                      agreed_price_fen=data.agreed_price_fen, promised_on=data.promised_on, status="draft",
                      note=data.note, created_at=now, created_by=principal.id,
                      created_by_name=principal.name or principal.id)
    session.add(row)
    await session.flush()
    return row


def _moved(session: AsyncSession, row: SubletOrder, action: str) -> None:
    row.status = policy.next_status(row.status, action)
    row.version += 1
    session.add(row)


async def _fields(session: AsyncSession, row: SubletOrder) -> dict:
    vendor = await repository.vendor(session, row.vendor_id)
    return dict(sublet_order_id=row.id, number=row.number, store_id=row.store_id, repair_order_id=row.repair_order_id,
                line_id=row.line_id, vendor_id=row.vendor_id, vendor_name=vendor.name if vendor else "",
                work=row.work, agreed_price_fen=row.agreed_price_fen, promised_on=row.promised_on)


async def _announce(session: AsyncSession, row: SubletOrder, event: Event, at: datetime) -> None:
    await emit(session, event, subject=row.id, store_id=row.store_id, time=at)


async def send(session: AsyncSession, clock: Clock, principal: Principal, sublet_order_id: str) -> SubletOrder:
    row = await _locked(session, principal, sublet_order_id)
    _moved(session, row, "send")
    row.sent_at = now = clock.now()
    await _announce(session, row, SubletOrderSent(**await _fields(session, row), sent_at=now, sent_by=principal.id),
                    now)
    return row


async def returned(session: AsyncSession, clock: Clock, principal: Principal, sublet_order_id: str,
                   data: SubletReturn) -> SubletOrder:
    row = await _locked(session, principal, sublet_order_id)
    _moved(session, row, "return")
    row.returned_at = now = clock.now()
    if data.note:
        row.note = data.note
    await _announce(session, row, SubletOrderReturned(**await _fields(session, row), returned_at=now,
                                                      note=data.note), now)
    return row


async def inspect(session: AsyncSession, clock: Clock, principal: Principal, sublet_order_id: str,
                  data: SubletInspection) -> SubletOrder:
    """A pass accepts the vendor's work; a fail sends it back to them, with a new promise if given."""
    row = await _locked(session, principal, sublet_order_id)
    now = clock.now()
    if data.promised_on is not None:
        store = await get_store(session, row.store_id)
        if data.promised_on < _today(store, now):
            raise ValidationFailed("promised_on", "the promised day is already past in the store's calendar")
    _moved(session, row, f"inspect_{data.result}")
    row.inspections = [*row.inspections, Inspection(
        result=data.result, note=data.note, inspected_at=now, inspector=principal.id,
        inspector_name=principal.name or principal.id, promised_on=data.promised_on).model_dump(mode="json")]
    if data.result == "fail":
        row.sent_at, row.returned_at = now, None
        if data.promised_on is not None:
            row.promised_on = data.promised_on
    await _announce(session, row, SubletOrderInspected(
        **await _fields(session, row), result=data.result, inspected_at=now, inspector=principal.id,
        inspector_name=principal.name or principal.id, note=data.note, status=row.status), now)
    return row


async def invoice(session: AsyncSession, clock: Clock, principal: Principal, sublet_order_id: str,
                  data: SubletInvoice) -> SubletOrder:
    """The vendor's invoice for inspected work: matched when within the tolerance of the agreed
    price, held for a manager's decision when not."""
    row = await _locked(session, principal, sublet_order_id)
    now = clock.now()
    matched = policy.invoice_matches(row.agreed_price_fen, data.amount_fen)
    _moved(session, row, "invoice_matched" if matched else "invoice_held")
    row.invoice_number, row.invoice_amount_fen, row.invoice_received_at = data.number, data.amount_fen, now
    row.invoiced_at = now if matched else None
    figures = dict(invoice_number=data.number, invoice_amount_fen=data.amount_fen,
                   difference_fen=data.amount_fen - row.agreed_price_fen,
                   tolerance_fen=policy.tolerance_fen(row.agreed_price_fen))
    if matched:
        await _announce(session, row, SubletOrderInvoiceMatched(
            **await _fields(session, row), **figures, invoiced_at=now, cost_fen=row.cost_fen), now)
    else:
        await _announce(session, row, SubletOrderInvoiceHeld(**await _fields(session, row), **figures,
                                                             received_at=now), now)
    return row


def _decider(principal: Principal) -> None:
    if principal.role not in policy.INVOICE_DECIDERS and principal.role != "system":
        raise Forbidden("an invoice that differs from the agreed price is decided by the service manager "
                        "or the store manager")


async def accept_invoice(session: AsyncSession, clock: Clock, principal: Principal, sublet_order_id: str,
                         data: InvoiceDecision) -> SubletOrder:
    _decider(principal)
    row = await _locked(session, principal, sublet_order_id)
    _moved(session, row, "accept_invoice")
    row.invoiced_at = now = clock.now()
    row.decided_by, row.decided_by_name = principal.id, principal.name or principal.id
    row.decision_note = data.note
    assert row.invoice_number is not None and row.invoice_amount_fen is not None  # held means an invoice is in
    await _announce(session, row, SubletOrderInvoiceMatched(
        **await _fields(session, row), invoice_number=row.invoice_number, invoice_amount_fen=row.invoice_amount_fen,
        difference_fen=row.invoice_amount_fen - row.agreed_price_fen,
        tolerance_fen=policy.tolerance_fen(row.agreed_price_fen), invoiced_at=now, cost_fen=row.cost_fen,
        accepted_by=principal.id, accepted_by_name=row.decided_by_name, note=data.note), now)
    return row


async def refuse_invoice(session: AsyncSession, clock: Clock, principal: Principal, sublet_order_id: str,
                         data: InvoiceRefusal) -> SubletOrder:
    """The manager does not pay that: the invoice is set aside and a corrected one awaited."""
    _decider(principal)
    row = await _locked(session, principal, sublet_order_id)
    _moved(session, row, "refuse_invoice")
    row.invoice_number = row.invoice_amount_fen = row.invoice_received_at = None
    row.decided_by, row.decided_by_name = principal.id, principal.name or principal.id
    row.decision_note = data.reason
    return row


async def cancel(session: AsyncSession, clock: Clock, principal: Principal, sublet_order_id: str,
                 data: SubletCancel) -> SubletOrder:
    row = await _locked(session, principal, sublet_order_id)
    _moved(session, row, "cancel")
    row.cancelled_at = clock.now()
    row.note = data.reason
    return row
