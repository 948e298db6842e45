"""Chargebacks: money HQ takes back from a claim it approved, after a post-payment audit
(reason codes of data/chargeback_reason_codes.json marked manual) or for an old part not
returned as asked (the codes data/part_return_policy.json names). The debits of a claim
never add up to more than was approved for it; each lands, as a negative line, on the
store's next settlement."""
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.clock import Clock
from services.common.errors import InvalidTransition, ValidationFailed
from services.common.events.catalogue.network import ClaimChargedBack
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.who import Who
from services.network.claims import repository
from services.network.claims.models import Chargeback, Claim, ClaimHistory
from services.network.claims.schemas import ChargebackCreate, ChargebackPublic

# A claim that is paid, or approved and about to be: a part-return debit may come before payment.
CHARGEABLE = ("approved", "partially_approved", "settled")


def reasons() -> dict[str, dict]:
    return {entry["code"]: entry for entry in reference.load("chargeback_reason_codes")["codes"]}


async def charge(session: AsyncSession, now: datetime, by: Principal, claim: Claim, *, reason_code: str,
                 amount_fen: int, note: str, part_return_id: str | None = None) -> Chargeback:
    """Record a debit the caller has checked against what is left of the claim."""
    before = await repository.charged_back_fen(session, claim.id)
    row = Chargeback(id=new_id(), claim_id=claim.id, store_id=claim.store_id, reason_code=reason_code,
                     amount_fen=amount_fen, note=note, part_return_id=part_return_id, charged_at=now,
                     charged_by=by.id, charged_by_name=by.name or by.id, charged_by_credential=by.credential or None)
    session.add(row)
    session.add(ClaimHistory(id=new_id(), claim_id=claim.id, at=now, by=by.id, by_name=by.name or None,
                             by_credential=by.credential or None, action="charged_back", status_after=claim.status,
                             submission=claim.submission_count,
                             detail={"chargeback_id": row.id, "reason_code": reason_code, "amount_fen": amount_fen,
                                     "part_return_id": part_return_id, "note": note}))
    claim.version += 1
    session.add(claim)
    await session.flush()
    await emit(session, ClaimChargedBack(
        claim_id=claim.id, store_id=claim.store_id, repair_order_id=claim.repair_order_id or "", kind=claim.kind,
        chargeback_id=row.id,
        reason_code=reason_code, amount_fen=amount_fen, charged_back_fen=before + amount_fen,
        part_return_id=part_return_id, note=note, charged_at=now, charged_by=row.charged_by,
        charged_by_name=row.charged_by_name, charged_by_credential=row.charged_by_credential,
    ), subject=claim.id, store_id=claim.store_id, time=now)
    return row


async def left_to_charge(session: AsyncSession, claim: Claim) -> int:
    return (claim.amount_approved_fen or 0) - await repository.charged_back_fen(session, claim.id)


async def after_audit(session: AsyncSession, clock: Clock, principal: Principal, claim: Claim,
                      data: ChargebackCreate) -> Chargeback:
    """HQ's debit of a paid claim after a post-payment audit (the caller holds the claim's
    row lock, so two debits of one claim cannot both fit under what was paid)."""
    entry = reasons().get(data.reason_code)
    if entry is None or not entry["manual"]:
        manual = sorted(code for code, e in reasons().items() if e["manual"])
        raise ValidationFailed("reason_code", f"an audit's debit gives one of {', '.join(manual)}")
    if claim.status != "settled":
        raise InvalidTransition(claim.status, "charge back",
                                detail_reason="an audit takes back money that was paid: the claim is not settled yet")
    paid = claim.amount_approved_fen or 0
    left = await left_to_charge(session, claim)
    if data.amount_fen > left:
        raise ValidationFailed("amount_fen", f"more than the {left} fen left to take back: {paid} fen were paid, "
                                             f"{paid - left} fen already taken back",
                               paid_fen=paid, charged_back_fen=paid - left)
    return await charge(session, clock.now(), principal, claim, reason_code=data.reason_code,
                        amount_fen=data.amount_fen, note=data.note)


def public(row: Chargeback) -> ChargebackPublic:
    entry = reasons().get(row.reason_code, {})
    return ChargebackPublic(
        id=row.id, claim_id=row.claim_id, store_id=row.store_id, reason_code=row.reason_code,
        reason_zh=entry.get("zh", row.reason_code), reason_en=entry.get("en", row.reason_code),
        amount_fen=row.amount_fen, note=row.note, part_return_id=row.part_return_id, charged_at=row.charged_at,
        charged_by=row.charged_by, charged_by_name=row.charged_by_name,
        charged_by_credential=row.charged_by_credential,
        charger=Who.stored(row.charged_by, row.charged_by_name, row.charged_by_credential),
        settlement_id=row.settlement_id)
