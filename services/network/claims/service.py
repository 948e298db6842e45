"""Warranty claims: submission with an automatic precheck, HQ review with four-eyes
approval for large claims, one resubmission after a rejection.

States: submitted → approved | partially_approved | rejected | pending_second_approval;
pending_second_approval → approved | partially_approved (as proposed) | rejected;
rejected → submitted (resubmission, once); approved | partially_approved → settled (payment)."""
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.network import ClaimDecided, ClaimSubmitted
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.stores import ensure_visible, store_zone
from services.common.who import Who
from services.network.campaigns import service as campaigns
from services.network.claims import chargebacks, policy, repository
from services.network.claims.codes import AdjustmentCode, RejectCode, line_cut
from services.network.claims.models import Claim, ClaimedLine, ClaimHistory, ClaimLine, LineDecision, Proposal
from services.network.claims.schemas import (
    ClaimCreate,
    ClaimDecision,
    ClaimList,
    ClaimPublic,
    ClaimResubmit,
    ClaimStatus,
)
from services.network.keys import repository as keys
from services.network.part_returns import service as part_returns
from services.network.repair_orders import repository as orders
from services.network.repair_orders.models import ClosedRepairOrder
from services.network.repair_orders.schemas import OrderLine
from services.network.repair_orders.service import lines_of
from services.network.stores import service as stores
from services.network.stores.models import Store

MAX_SUBMISSIONS = 2


async def _order_of_store(session: AsyncSession, store: Store, repair_order_id: str) -> ClosedRepairOrder:
    order = await orders.get(session, repair_order_id)
    if order is None or order.store_id != store.id:
        raise ValidationFailed("repair_order_id", "network has not seen this repair order settled or delivered")
    return order


def _choose_lines(order: ClosedRepairOrder, line_ids: list[str] | None) -> list[OrderLine]:
    warranty = [line for line in lines_of(order) if line.pay_type == "warranty"]
    if not warranty:
        raise ValidationFailed("repair_order_id", "the repair order has no warranty lines")
    if line_ids is None:
        return warranty
    by_id = {line.line_id: line for line in warranty}
    for index, line_id in enumerate(line_ids):
        if line_id not in by_id:
            raise ValidationFailed(f"line_ids.{index}",
                                   f"{line_id} is not a warranty line of repair order {order.number}")
    return [by_id[line_id] for line_id in line_ids]


def _already_claimed(order: ClosedRepairOrder, taken: list[ClaimedLine]) -> Conflict:
    findings = [policy.finding(RejectCode.LINE_ALREADY_CLAIMED, f"already in claim {row.claim_id}", row.line_id)
                for row in taken]
    return Conflict(f"{len(findings)} line(s) of repair order {order.number} are already claimed",
                    findings=findings, claim_ids=sorted({row.claim_id for row in taken}))


def _claimed_meanwhile(order: ClosedRepairOrder, line_ids: list[str]) -> Conflict:
    findings = [policy.finding(RejectCode.LINE_ALREADY_CLAIMED, "claimed by another submission at the same moment",
                               line_id) for line_id in line_ids]
    return Conflict(f"lines of repair order {order.number} were claimed at the same moment; look up its claims",
                    findings=findings, claim_ids=[])


async def _reserve_lines(session: AsyncSession, order: ClosedRepairOrder, claim_id: str, line_ids: list[str]) -> None:
    """Claim the lines, or answer 409 with R05. The primary key of claimed_lines decides
    when two submissions race; the read before it only gives the friendlier answer."""
    taken = sorted((row for row in await repository.claimed(session, order.id, line_ids) if row.claim_id != claim_id),
                   key=lambda row: line_ids.index(row.line_id))
    if taken:
        raise _already_claimed(order, taken)
    session.add_all([ClaimedLine(repair_order_id=order.id, line_id=line_id, claim_id=claim_id) for line_id in line_ids])
    refused = _claimed_meanwhile(order, line_ids)  # built now: a failed flush expires every loaded object
    try:
        await session.flush()
    except IntegrityError as exc:
        raise refused from exc


def _evaluate(order: ClosedRepairOrder, store: Store, chosen: list[OrderLine], *, complaint: str, cause: str,
              correction: str, causal_part_no: str | None, filed_at: datetime,
              now: datetime) -> tuple[list[policy.PricedLine], policy.PrecheckResult]:
    day = policy.repair_date(order.opened_at, store_zone(store))
    priced = [policy.price_line(line, day, order.sold_at, order.mileage_km) for line in chosen]
    check = policy.precheck(lines=priced, complaint=complaint, cause=cause, correction=correction,
                            causal_part_no=causal_part_no, closed_at=order.settled_at, filed_at=filed_at,
                            checked_at=now)
    return priced, check


async def _with_campaigns(session: AsyncSession, order: ClosedRepairOrder, store: Store,
                          priced: list[policy.PricedLine], check: policy.PrecheckResult) -> policy.PrecheckResult:
    """Adds R10 for lines the car's open campaigns cover on the day of the repair."""
    operations = {line.op_code for line in priced if line.kind == "labor" and line.op_code}
    day = policy.repair_date(order.opened_at, store_zone(store))
    found = await campaigns.open_at_repair(session, order.vin, day, operations, order.id)
    extra = policy.campaign_findings(priced, {c.op_code: c.code for c in found})
    if not extra:
        return check
    return check.model_copy(update={"findings": [*check.findings, *extra], "passed": False})


def _line_rows(claim_id: str, priced: list[policy.PricedLine]) -> list[ClaimLine]:
    rows = []
    for position, line in enumerate(priced):
        values = line.as_dict()
        values.pop("findings")
        rows.append(ClaimLine(id=new_id(), claim_id=claim_id, position=position, **values))
    return rows


def _history(claim: Claim, by: Principal, action: str, now: datetime, **detail) -> ClaimHistory:
    return ClaimHistory(id=new_id(), claim_id=claim.id, at=now, by=by.id, by_name=by.name or None,
                        by_credential=by.credential or None, action=action, status_after=claim.status,
                        submission=claim.submission_count, detail=detail)


async def _emit_submitted(session: AsyncSession, claim: Claim) -> None:
    await emit(session, ClaimSubmitted(
        claim_id=claim.id, store_id=claim.store_id, repair_order_id=claim.repair_order_id,
        amount_claimed_fen=claim.amount_claimed_fen, submission_count=claim.submission_count,
        precheck_passed=claim.precheck.passed, submitted_at=claim.submitted_at, submitted_by=claim.submitted_by,
        submitted_by_name=claim.submitted_by_name, submitted_by_credential=claim.submitted_by_credential,
    ), subject=claim.id, store_id=claim.store_id, time=claim.submitted_at)


async def _emit_decided(session: AsyncSession, claim: Claim, by: Principal, at: datetime,
                        amount_approved_fen: int) -> None:
    await emit(session, ClaimDecided(
        claim_id=claim.id, store_id=claim.store_id, repair_order_id=claim.repair_order_id, status=claim.status,
        amount_claimed_fen=claim.amount_claimed_fen, amount_approved_fen=amount_approved_fen,
        reason_code=claim.reason_code, decided_by=by.id, decided_by_name=by.name or None,
        decided_by_credential=by.credential or None, submitted_at=claim.submitted_at, decided_at=at,
        submission_count=claim.submission_count,
    ), subject=claim.id, store_id=claim.store_id, time=at)


async def submit(session: AsyncSession, clock: Clock, principal: Principal, store: Store, data: ClaimCreate) -> Claim:
    order = await _order_of_store(session, store, data.repair_order_id)
    chosen = _choose_lines(order, data.line_ids)
    now = clock.now()
    priced, check = _evaluate(order, store, chosen, complaint=data.complaint, cause=data.cause,
                              correction=data.correction, causal_part_no=data.causal_part_no, filed_at=now, now=now)
    check = await _with_campaigns(session, order, store, priced, check)
    claim = Claim(
        id=new_id(), store_id=store.id, repair_order_id=order.id, repair_order_number=order.number, vin=order.vin,
        status="submitted", complaint=data.complaint, cause=data.cause, correction=data.correction,
        causal_part_no=data.causal_part_no, amount_claimed_fen=sum(line.claimed_fen for line in priced),
        precheck=check, submission_count=1, first_submitted_at=now, submitted_at=now, submitted_by=principal.id,
        submitted_by_name=principal.name or None, submitted_by_credential=principal.credential or None,
    )
    session.add(claim)
    await session.flush()
    await _reserve_lines(session, order, claim.id, [line.line_id for line in chosen])
    session.add_all(_line_rows(claim.id, priced))
    session.add(_history(claim, principal, "submitted", now, amount_claimed_fen=claim.amount_claimed_fen,
                         precheck_passed=check.passed))
    await _emit_submitted(session, claim)
    return claim


async def resubmit(session: AsyncSession, clock: Clock, principal: Principal, store: Store, claim: Claim,
                   data: ClaimResubmit) -> Claim:
    if claim.status != "rejected":
        raise InvalidTransition(claim.status, "resubmit")
    if claim.submission_count >= MAX_SUBMISSIONS:
        raise InvalidTransition(claim.status, "resubmit", submission_count=claim.submission_count,
                                detail_reason=f"a claim may be submitted at most {MAX_SUBMISSIONS} times")
    current_lines = (await repository.lines_of(session, [claim.id]))[claim.id]
    current: dict[str, Any] = dict(complaint=claim.complaint, cause=claim.cause, correction=claim.correction,
                                   causal_part_no=claim.causal_part_no,
                                   line_ids=[line.line_id for line in current_lines])
    wanted = {**current, **{name: getattr(data, name) for name in data.model_fields_set}}
    for name in ("complaint", "cause", "correction"):
        if wanted[name] is None:
            raise ValidationFailed(name, "may be changed but not removed")
    changed = sorted(name for name in wanted if wanted[name] != current[name])
    if not changed:
        raise ValidationFailed("body", "a resubmission must change something the rejection was about")
    order = await _order_of_store(session, store, claim.repair_order_id)
    chosen = _choose_lines(order, wanted["line_ids"])
    now = clock.now()
    # The filing date stays the first submission's: answering a rejection is not filing late.
    priced, check = _evaluate(order, store, chosen, complaint=wanted["complaint"], cause=wanted["cause"],
                              correction=wanted["correction"], causal_part_no=wanted["causal_part_no"],
                              filed_at=claim.first_submitted_at, now=now)
    check = await _with_campaigns(session, order, store, priced, check)
    dropped = [line_id for line_id in current["line_ids"] if line_id not in wanted["line_ids"]]
    if dropped:
        await repository.release_lines(session, claim.id, dropped)
    await _reserve_lines(session, order, claim.id,
                         [line.line_id for line in chosen if line.line_id not in current["line_ids"]])
    await repository.delete_lines(session, claim.id)
    session.add_all(_line_rows(claim.id, priced))
    claim.complaint, claim.cause, claim.correction = wanted["complaint"], wanted["cause"], wanted["correction"]
    claim.causal_part_no = wanted["causal_part_no"]
    claim.amount_claimed_fen = sum(line.claimed_fen for line in priced)
    claim.amount_approved_fen = None
    claim.precheck, claim.status = check, "submitted"
    claim.submission_count += 1
    claim.submitted_at, claim.submitted_by = now, principal.id
    claim.submitted_by_name, claim.submitted_by_credential = principal.name or None, principal.credential or None
    claim.decided_at = claim.decided_by = claim.reason_code = claim.decision_note = claim.proposal = None
    claim.decided_by_name = claim.decided_by_credential = None
    claim.version += 1
    session.add(claim)
    session.add(_history(claim, principal, "resubmitted", now, changed=changed,
                         amount_claimed_fen=claim.amount_claimed_fen, precheck_passed=check.passed))
    await _emit_submitted(session, claim)
    return claim


def _approvals(lines: list[ClaimLine], data: ClaimDecision) -> dict[str, LineDecision]:
    """What is approved of each line, by line id. Lines a partial decision leaves out are
    approved as claimed."""
    result = {line.line_id: LineDecision(approved_fen=line.claimed_fen, adjustment_code=None) for line in lines}
    if data.decision == "approve":
        if data.lines:
            raise ValidationFailed("lines",
                                   "an approval takes the claim as it is; adjust lines with a partial decision")
        return result
    if not data.lines:
        raise ValidationFailed("lines", "a partial approval names the lines it adjusts")
    by_id = {line.line_id: line for line in lines}
    allowed = {*AdjustmentCode, *RejectCode}
    seen: set[str] = set()
    for index, item in enumerate(data.lines):
        line = by_id.get(item.line_id)
        if line is None:
            raise ValidationFailed(f"lines.{index}.line_id", "not a line of this claim")
        if item.line_id in seen:
            raise ValidationFailed(f"lines.{index}.line_id", "line given twice")
        seen.add(item.line_id)
        if item.approved_fen > line.claimed_fen:
            raise ValidationFailed(f"lines.{index}.approved_fen", f"more than the {line.claimed_fen} fen claimed")
        if item.approved_fen < line.claimed_fen:
            if item.adjustment_code is None:
                raise ValidationFailed(f"lines.{index}.adjustment_code", "a reduced line needs an adjustment code")
            if item.adjustment_code not in allowed:
                raise ValidationFailed(f"lines.{index}.adjustment_code", f"unknown code {item.adjustment_code}")
        reduced = item.approved_fen < line.claimed_fen
        result[item.line_id] = LineDecision(
            approved_fen=item.approved_fen,
            adjustment_code=line_cut(item.adjustment_code) if reduced and item.adjustment_code else None)
    total = sum(a.approved_fen for a in result.values())
    if total == sum(line.claimed_fen for line in lines):
        raise ValidationFailed("lines", "nothing is reduced; approve the claim instead")
    if total == 0:
        raise ValidationFailed("lines", "nothing is left to pay; reject the claim instead")
    return result


async def _same_person(session: AsyncSession, proposal: Proposal, principal: Principal) -> bool:
    """Whether the second approval comes from whoever gave the first. The principal's id is
    the person, whichever of their keys or sign-ins they use, so ids compare people; a
    machine's key issued to nobody counts as itself. A first approval recorded before keys
    acted as their people holds the key's id: the key's person counts then."""
    if proposal.by == principal.id:
        return True
    key = await keys.get(session, proposal.by)
    return key is not None and key.person_id is not None and key.person_id == principal.id


def _same_approver(claim: Claim, proposal: Proposal, principal: Principal) -> Conflict:
    first = proposal.by_name or proposal.by
    return Conflict(
        f"四眼原则：第二次审批须由另一人作出，{first} 已作第一次审批，同一人换用其他密钥或登录不算。"
        f" Four eyes: the second approval must come from another person than {first}, who gave the first;"
        " another key or sign-in of the same person does not count.",
        current_state=claim.status, first_approved_by=proposal.by, first_approval_credential=proposal.credential,
        credential=principal.credential or None)


def _apply_approvals(claim: Claim, lines: list[ClaimLine], approvals: dict[str, LineDecision]) -> int:
    for line in lines:
        line.approved_fen = approvals[line.line_id].approved_fen
        line.adjustment_code = approvals[line.line_id].adjustment_code
    total = sum(line.approved_fen or 0 for line in lines)
    claim.status = "approved" if total == claim.amount_claimed_fen else "partially_approved"
    claim.amount_approved_fen = total
    return total


async def _reject(session: AsyncSession, claim: Claim, lines: list[ClaimLine], data: ClaimDecision) -> None:
    if data.reason_code not in set(RejectCode):
        raise ValidationFailed("reason_code", f"a rejection needs one of {', '.join(sorted(RejectCode))}")
    for line in lines:
        line.approved_fen, line.adjustment_code = 0, None
    claim.status, claim.amount_approved_fen, claim.reason_code = "rejected", 0, RejectCode(data.reason_code)
    if claim.submission_count >= MAX_SUBMISSIONS:
        # Rejected for good: the lines may be claimed again (e.g. correctly, on a new claim).
        await repository.release_lines(session, claim.id)


async def decide(session: AsyncSession, clock: Clock, principal: Principal, claim: Claim, data: ClaimDecision) -> Claim:
    lines = (await repository.lines_of(session, [claim.id]))[claim.id]
    now = clock.now()
    if data.decision != "reject" and data.reason_code is not None:
        raise ValidationFailed("reason_code",
                               "only a rejection carries a reason code; partial lines carry adjustment codes")
    if claim.status == "submitted":
        if data.decision == "reject":
            await _reject(session, claim, lines, data)
            action = "rejected"
        else:
            approvals = _approvals(lines, data)
            total = sum(a.approved_fen for a in approvals.values())
            if claim.amount_claimed_fen >= policy.policy()["second_approval_threshold_fen"]:
                claim.status = "pending_second_approval"
                claim.proposal = Proposal(decision=data.decision, approvals=approvals, amount_approved_fen=total,
                                          by=principal.id, by_name=principal.name or None,
                                          credential=principal.credential or None, at=now, note=data.note)
                session.add(claim)
                session.add(_history(claim, principal, "first_approval", now, decision=data.decision,
                                     amount_approved_fen=total, note=data.note))
                claim.version += 1
                await _emit_decided(session, claim, principal, now, total)
                return claim
            _apply_approvals(claim, lines, approvals)
            action = "approved" if data.decision == "approve" else "partially_approved"
    elif claim.status == "pending_second_approval":
        proposal = claim.proposal
        if proposal is None:
            raise InvalidTransition(claim.status, "decide", detail_reason="the first approval is missing")
        if await _same_person(session, proposal, principal):
            raise _same_approver(claim, proposal, principal)
        if data.decision == "reject":
            await _reject(session, claim, lines, data)
            action = "rejected"
        elif data.decision == "partial":
            raise ValidationFailed("decision", "a claim awaiting second approval is approved as proposed or rejected")
        else:
            if data.lines:
                raise ValidationFailed("lines", "the second approval confirms the proposed amounts as they are")
            _apply_approvals(claim, lines, proposal.approvals)
            action = "second_approval"
    else:
        raise InvalidTransition(claim.status, "decide")
    session.add_all(lines)
    claim.decided_at, claim.decided_by, claim.decision_note = now, principal.id, data.note or None
    claim.decided_by_name, claim.decided_by_credential = principal.name or None, principal.credential or None
    claim.proposal = None
    claim.version += 1
    session.add(claim)
    session.add(_history(claim, principal, action, now, amount_approved_fen=claim.amount_approved_fen,
                         reason_code=claim.reason_code, note=data.note))
    await part_returns.claim_decided(session, claim, now)
    await _emit_decided(session, claim, principal, now, claim.amount_approved_fen or 0)
    return claim


async def get_visible(session: AsyncSession, principal: Principal, claim_id: str, *, for_update: bool = False) -> Claim:
    claim = await (repository.get_for_update if for_update else repository.get)(session, claim_id)
    if claim is None:
        raise NotFound("claim not found")
    ensure_visible(principal, claim.store_id, "claim")
    return claim


async def submitting_store(session: AsyncSession, principal: Principal) -> Store:
    """Stores submit claims for themselves; HQ reviews them and never submits."""
    if not principal.store_id:
        raise Forbidden("warranty claims are submitted by the store that did the work")
    store = await stores.get_visible(session, principal, principal.store_id)
    if store.status != "active":
        raise Conflict(f"store {store.code} is {store.status}", current_state=store.status)
    return store


async def full_public(session: AsyncSession, clock: Clock, claim: Claim) -> ClaimPublic:
    """A claim with its lines, history, chargebacks and old-part returns, as every answer
    about one claim shows it."""
    lines = (await repository.lines_of(session, [claim.id]))[claim.id]
    answer = public(claim, lines, await repository.history_of(session, claim.id))
    debits = (await repository.chargebacks_of(session, [claim.id]))[claim.id]
    answer.chargebacks = [chargebacks.public(row) for row in debits]
    answer.charged_back_fen = sum(row.amount_fen for row in debits)
    now = clock.now()
    answer.part_returns = [part_returns.public(row, now) for row in await part_returns.repository.of_claim(
        session, claim.id)]
    return answer


async def list_claims(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                      store_id: str | None = None, status: ClaimStatus | None = None,
                      repair_order_id: str | None = None) -> ClaimList:
    """HQ lists every store's claims or one store's; a store lists its own, and naming another
    store finds nothing."""
    if principal.store_id and store_id and store_id != principal.store_id:
        return ClaimList(items=[], next_cursor=None)
    rows, next_cursor = await repository.page(session, limit=limit, cursor=cursor,
                                              store_id=principal.store_id or store_id, status=status,
                                              repair_order_id=repair_order_id)
    lines = await repository.lines_of(session, [r.id for r in rows])
    return ClaimList(items=[public(r, lines[r.id]) for r in rows], next_cursor=next_cursor)


def public(claim: Claim, lines: list[ClaimLine], history: list[ClaimHistory] | None = None) -> ClaimPublic:
    proposal = claim.proposal
    return ClaimPublic(
        **{name: getattr(claim, name) for name in (
            "id", "store_id", "repair_order_id", "repair_order_number", "vin", "status", "complaint", "cause",
            "correction", "causal_part_no", "amount_claimed_fen", "amount_approved_fen",
            "submission_count", "first_submitted_at", "submitted_at", "submitted_by", "decided_at", "decided_by",
            "reason_code", "decision_note", "settlement_id", "settled_at", "version")},
        precheck=claim.precheck.model_dump(),
        # A line's cover as stored: members a line no plan covers does not have stay absent.
        lines=[{**line.model_dump(), "coverage": line.coverage.model_dump(mode="json", exclude_unset=True)}
               for line in lines],
        submitter=Who.stored(claim.submitted_by, claim.submitted_by_name, claim.submitted_by_credential),
        decider=(Who.stored(claim.decided_by, claim.decided_by_name, claim.decided_by_credential)
                 if claim.decided_by else None),
        pending_approval=None if proposal is None else {
            **proposal.model_dump(exclude={"approvals"}),
            "approver": Who.stored(proposal.by, proposal.by_name, proposal.credential)},
        history=None if history is None else [
            {**h.model_dump(), "who": Who.stored(h.by, h.by_name, h.by_credential)} for h in history],
    )


async def mark_settled(session: AsyncSession, claims: list[Claim], now: datetime, by: Principal,
                       settlement_id: str) -> None:
    for claim in claims:
        if claim.status not in ("approved", "partially_approved"):
            raise InvalidTransition(claim.status, "settle", claim_id=claim.id)
        claim.status, claim.settled_at = "settled", now
        claim.version += 1
        session.add(claim)
        session.add(_history(claim, by, "settled", now, settlement_id=settlement_id))
