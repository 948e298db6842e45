"""Old-part returns (旧件回收). HQ marks a claim line return-required; the store ships the
old part by its ship-by date (data/part_return_policy.json: days from the claim's approval,
or from the marking when the claim was approved before); HQ's warehouse receives and
inspects it. A part not shipped by its date is charged back (PNR) when the store's next
settlement is issued; a part received as something other than ok is charged back at once.
Either debit is the line's approved amount, within what is left of the claim.

States: due → shipped → received; due → charged_back; due → cancelled (claim rejected)."""
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.clock import Clock
from services.common.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.network import PartReturnReceived, PartReturnShipped
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.stores import ensure_visible, within_stores
from services.common.who import Who
from services.network.claims import chargebacks
from services.network.claims import repository as claims_repository
from services.network.claims.models import Claim
from services.network.part_returns import repository
from services.network.part_returns.models import PartReturn
from services.network.part_returns.schemas import (
    PartReturnList,
    PartReturnPublic,
    PartReturnReceive,
    PartReturnShip,
    PartReturnStatus,
)

MARKABLE = ("submitted", "pending_second_approval", "approved", "partially_approved", "settled")
DECIDED = ("approved", "partially_approved", "settled")


def policy() -> dict:
    return reference.load("part_return_policy")


def ship_by(start: datetime) -> datetime:
    return start + timedelta(days=policy()["ship_by_days"])


async def mark(session: AsyncSession, clock: Clock, principal: Principal, claim: Claim, line_id: str) -> PartReturn:
    if claim.status not in MARKABLE:
        raise InvalidTransition(claim.status, "ask for the old part")
    line = next((line for line in (await claims_repository.lines_of(session, [claim.id]))[claim.id]
                 if line.line_id == line_id), None)
    if line is None:
        raise NotFound("no such line on this claim")
    if line.kind != "part" or not line.part_no:
        raise ValidationFailed("line_id", "only a part line has an old part to return")
    if claim.status in DECIDED and not line.approved_fen:
        raise ValidationFailed("line_id", "nothing was approved for this line: there is nothing to take back")
    existing = await repository.of_line(session, claim.id, line_id)
    if existing is not None:
        raise Conflict("this line's old part is already asked for", part_return_id=existing.id,
                       current_state=existing.status)
    now = clock.now()
    row = PartReturn(id=new_id(), store_id=claim.store_id, claim_id=claim.id, line_id=line_id,
                     repair_order_number=claim.repair_order_number or "", part_no=line.part_no,
                     description=line.description, quantity=line.quantity, status="due",
                     ship_by=ship_by(now) if claim.status in DECIDED else None, marked_at=now,
                     marked_by=principal.id, marked_by_name=principal.name or principal.id,
                     marked_by_credential=principal.credential or None)
    session.add(row)
    await session.flush()
    return row


async def claim_decided(session: AsyncSession, claim: Claim, now: datetime) -> None:
    """The clock of a claim's returns starts at its approval; a rejection cancels them, and
    so does a line approved at nothing (there is nothing to take back for it)."""
    approved = {line.line_id: line.approved_fen for line in (await claims_repository.lines_of(session, [claim.id]))[
        claim.id]}
    for row in await repository.of_claim(session, claim.id):
        if row.status != "due":
            continue
        if claim.status == "rejected" or not approved.get(row.line_id):
            row.status = "cancelled"
        elif claim.status in DECIDED and row.ship_by is None:
            row.ship_by = ship_by(now)
        else:
            continue
        row.version += 1
        session.add(row)


async def get_visible(session: AsyncSession, principal: Principal, return_id: str, *,
                      for_update: bool = False) -> PartReturn:
    row = await (repository.get_for_update if for_update else repository.get)(session, return_id)
    if row is None:
        raise NotFound("part return not found")
    ensure_visible(principal, row.store_id, "part return")
    return row


async def ship(session: AsyncSession, clock: Clock, principal: Principal, row: PartReturn,
               data: PartReturnShip) -> PartReturn:
    if not principal.store_id:
        raise Forbidden("the store that holds the old part ships it")
    if row.status != "due":
        raise InvalidTransition(row.status, "ship")
    if row.ship_by is None:
        raise InvalidTransition(row.status, "ship", detail_reason="the claim awaits its decision")
    now = clock.now()
    row.status, row.shipped_at, row.waybill, row.carrier = "shipped", now, data.waybill, data.carrier
    row.shipped_by, row.shipped_by_name = principal.id, principal.name or principal.id
    row.shipped_by_credential = principal.credential or None
    row.version += 1
    session.add(row)
    await emit(session, PartReturnShipped(
        part_return_id=row.id, store_id=row.store_id, claim_id=row.claim_id, line_id=row.line_id,
        part_no=row.part_no, waybill=data.waybill, carrier=data.carrier, ship_by=row.ship_by, shipped_at=now,
        shipped_by=row.shipped_by, shipped_by_name=row.shipped_by_name,
        shipped_by_credential=row.shipped_by_credential), subject=row.id, store_id=row.store_id, time=now)
    return row


async def _charge(session: AsyncSession, now: datetime, principal: Principal, row: PartReturn,
                  reason_code: str, note: str) -> str | None:
    """Debit the line's approved amount, within what is left of the claim; None when nothing is."""
    claim = await claims_repository.get_for_update(session, row.claim_id)
    if claim is None or claim.status not in chargebacks.CHARGEABLE:
        return None
    line = next(line for line in (await claims_repository.lines_of(session, [claim.id]))[claim.id]
                if line.line_id == row.line_id)
    amount = min(line.approved_fen or 0, await chargebacks.left_to_charge(session, claim))
    if amount <= 0:
        return None
    debit = await chargebacks.charge(session, now, principal, claim, reason_code=reason_code, amount_fen=amount,
                                     note=note, part_return_id=row.id)
    return debit.id


async def receive(session: AsyncSession, clock: Clock, principal: Principal, row: PartReturn,
                  data: PartReturnReceive) -> PartReturn:
    if row.status != "shipped":
        raise InvalidTransition(row.status, "receive")
    now = clock.now()
    row.status, row.received_at, row.result, row.inspection_note = "received", now, data.result, data.note or None
    row.received_by, row.received_by_name = principal.id, principal.name or principal.id
    row.received_by_credential = principal.credential or None
    if data.result != "ok":
        row.chargeback_id = await _charge(session, now, principal, row, policy()["charge_for"][data.result],
                                          f"{row.part_no} ({row.waybill}): {data.result}. {data.note}".strip())
    row.version += 1
    session.add(row)
    await emit(session, PartReturnReceived(
        part_return_id=row.id, store_id=row.store_id, claim_id=row.claim_id, line_id=row.line_id,
        part_no=row.part_no, result=data.result, note=data.note, chargeback_id=row.chargeback_id, received_at=now,
        received_by=row.received_by, received_by_name=row.received_by_name,
        received_by_credential=row.received_by_credential), subject=row.id, store_id=row.store_id, time=now)
    return row


async def charge_overdue(session: AsyncSession, now: datetime, principal: Principal, store_id: str) -> None:
    """Before a statement is issued: every part of the store still not shipped past its
    ship-by date is charged back (PNR), by the person issuing the statement."""
    for row in await repository.overdue(session, store_id, now):
        ship_by_text = row.ship_by.date().isoformat() if row.ship_by else ""
        row.chargeback_id = await _charge(session, now, principal, row, policy()["charge_for"]["not_shipped"],
                                          f"{row.part_no}: not shipped by {ship_by_text}")
        row.status = "charged_back"
        row.version += 1
        session.add(row)


async def list_returns(session: AsyncSession, principal: Principal, clock: Clock, *, limit: int, cursor: str | None,
                       store_id: str | None = None, status: PartReturnStatus | None = None) -> PartReturnList:
    """HQ lists every store's returns or one store's; a store lists its own."""
    if principal.store_id and store_id and store_id != principal.store_id:
        return PartReturnList(items=[], next_cursor=None)
    rows, next_cursor = await repository.page(session, limit=limit, cursor=cursor,
                                              store_id=principal.store_id or store_id, status=status,
                                              within=within_stores(principal))
    now = clock.now()
    return PartReturnList(items=[public(r, now) for r in rows], next_cursor=next_cursor)


def public(row: PartReturn, now: datetime) -> PartReturnPublic:
    return PartReturnPublic(
        **row.model_dump(),
        overdue=row.status == "due" and row.ship_by is not None and row.ship_by < now,
        marker=Who.stored(row.marked_by, row.marked_by_name, row.marked_by_credential))
