"""The insurer's assessment (定损) of an insurance job, and what it does to the money.

Every insurance line is assessed: the insurer approves an amount no more than the line's.
Work on insurance lines waits for the assessment: the customer's yes to them is refused
(409, rule `insurance_assessment_required`) until every one is assessed, so a supplement with
insurance lines goes back to the insurer (PUT again, with the order's version). At settlement
the customer pays the excess (免赔额) on top of any customer-pay lines; the insurer pays the
approved total less the excess (`insurer_due_fen`, the store's receivable from the insurer);
a line's cut (its amount less its approved amount) is the store's write-off, never the
customer's: the customer agreed to an insurance job, not to the store's price."""
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.errors import Conflict, InvalidTransition, ValidationFailed
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.versioning import expected_version
from services.reception.insurance import repository
from services.reception.insurance.models import InsuranceAssessment
from services.reception.insurance.schemas import AssessedLinePublic, AssessmentIn, AssessmentPublic
from services.reception.repair_orders import repository as order_lines
from services.reception.repair_orders.models import RepairOrder, RepairOrderLine
from services.reception.shared.service import Who, check_version, record_change

ASSESSABLE = ("open", "awaiting_approval", "approved", "in_progress")
RULE = "insurance_assessment_required"


def _approved(assessment: InsuranceAssessment | None) -> dict[str, int]:
    return {line["line_id"]: line["approved_fen"] for line in assessment.lines} if assessment else {}


def split(totals: dict[str, Any], lines: Iterable[RepairOrderLine],
          assessment: InsuranceAssessment | None) -> dict[str, Any]:
    """The order's totals with the insurer's share: a line not yet assessed counts at its
    amount until it is (its work cannot start before)."""
    approved = _approved(assessment)
    insured = [line for line in lines if line.pay_type == "insurance"]
    approved_fen = sum(min(approved.get(line.id, line.amount_fen), line.amount_fen) for line in insured)
    excess = min(assessment.excess_fen, approved_fen) if assessment else 0
    return {
        **totals,
        "insurance_approved_fen": approved_fen,
        "insurance_write_off_fen": sum(line.amount_fen for line in insured) - approved_fen,
        "excess_fen": excess,
        "insurer_due_fen": approved_fen - excess,
        "customer_due_fen": totals["customer_due_fen"] + excess,
    }


async def totals(session: AsyncSession, order: RepairOrder, totals: dict[str, Any],
                 lines: Iterable[RepairOrderLine]) -> dict[str, Any]:
    return split(totals, lines, await repository.latest(session, order.id))


async def before_work(session: AsyncSession, pending: list[RepairOrderLine], order: RepairOrder) -> None:
    """The customer's yes cannot start work on insurance lines the insurer has not assessed."""
    waiting = [line.id for line in pending if line.pay_type == "insurance"]
    if not waiting:
        return
    assessed = _approved(await repository.latest(session, order.id))
    waiting = [line_id for line_id in waiting if line_id not in assessed]
    if waiting:
        raise Conflict("保险项目须先经保险公司定损。 Insurance lines wait for the insurer's assessment: record it "
                       "with PUT .../assessment first.", rule=RULE, line_ids=waiting, current_state=order.status)


async def assess_order(session: AsyncSession, now: datetime, principal: Principal, order: RepairOrder,
                       data: AssessmentIn, header_version: int | None) -> InsuranceAssessment:
    """The assessment of the order's lines as they stand."""
    return await assess(session, now, principal, order, await order_lines.lines(session, order.id), data,
                        header_version)


async def assess(session: AsyncSession, now: datetime, principal: Principal, order: RepairOrder,
                 lines: list[RepairOrderLine], data: AssessmentIn, header_version: int | None) -> InsuranceAssessment:
    if order.status not in ASSESSABLE:
        raise InvalidTransition(order.status, "record the insurer's assessment")
    previous = await repository.latest(session, order.id)
    # A supplementary assessment replaces one the advisor has read: it names the version it saw.
    check_version(order.version, expected_version(header_version, data.version, required=previous is not None))
    insured = {line.id: line for line in lines if line.pay_type == "insurance"}
    seen: set[str] = set()
    assessed: list[dict[str, Any]] = []
    for i, given in enumerate(data.lines):
        line = insured.get(given.line_id)
        if line is None:
            raise ValidationFailed(f"lines.{i}.line_id", "不是本工单的保险项目。 Not an insurance line of this order.")
        if given.line_id in seen:
            raise ValidationFailed(f"lines.{i}.line_id", "重复。 This line is assessed twice.")
        seen.add(given.line_id)
        if given.approved_fen > line.amount_fen:
            raise ValidationFailed(f"lines.{i}.approved_fen", f"核定金额不得超过项目金额 {line.amount_fen} 分。 "
                                                                f"More than the line's amount ({line.amount_fen} fen).")
        assessed.append({"line_id": line.id, "amount_fen": line.amount_fen, "approved_fen": given.approved_fen})
    missing = [line_id for line_id in insured if line_id not in seen]
    if missing:
        raise ValidationFailed("lines", "每个保险项目都须定损。 Every insurance line is assessed; missing: "
                                        + ", ".join(missing), line_ids=missing)
    total = sum(line["approved_fen"] for line in assessed)
    if data.approved_total_fen != total:
        raise ValidationFailed("approved_total_fen", f"各项核定金额合计 {total} 分。 The lines' approved amounts "
                                                     f"add up to {total} fen.")
    if data.excess_fen > total:
        raise ValidationFailed("excess_fen", "免赔额不得超过核定总额。 The excess cannot exceed the approved total.")
    who = Who.of(principal)
    assessment = InsuranceAssessment(
        id=new_id(), repair_order_id=order.id, store_id=order.store_id, round=previous.round + 1 if previous else 1,
        insurer=data.insurer, claim_no=data.claim_no, assessor=data.assessor.model_dump(mode="json"),
        lines=assessed, approved_fen=total, excess_fen=data.excess_fen, recorded_by=who.as_dict(), recorded_at=now,
    )
    session.add(assessment)
    # The claim on the order is the insurer's as it assessed it.
    order.insurance = {**(order.insurance or {}), "insurer": data.insurer, "claim_no": data.claim_no}
    # The totals already carry the last round's excess in customer_due_fen: split from the order's own.
    before = {**order.totals, "customer_due_fen": order.totals["customer_due_fen"] - order.totals.get("excess_fen", 0)}
    order.totals = split(before, lines, assessment)
    record_change(session, aggregate="repair_order", aggregate_id=order.id, store_id=order.store_id,
                  action="assess", from_status=order.status, to_status=order.status, by=who, at=now,
                  detail={"round": assessment.round, "approved_fen": total, "excess_fen": data.excess_fen})
    order.version += 1
    session.add(order)
    return assessment


async def view(session: AsyncSession, order: RepairOrder, lines: list[RepairOrderLine]) -> AssessmentPublic | None:
    assessment = await repository.latest(session, order.id)
    if assessment is None:
        return None
    assessed = _approved(assessment)
    return AssessmentPublic(
        round=assessment.round, insurer=assessment.insurer, claim_no=assessment.claim_no,
        assessor=assessment.assessor,
        lines=[AssessedLinePublic(**line, cut_fen=line["amount_fen"] - line["approved_fen"])
               for line in assessment.lines],
        approved_total_fen=assessment.approved_fen, excess_fen=assessment.excess_fen,
        insurer_due_fen=assessment.approved_fen - assessment.excess_fen,
        write_off_fen=sum(line["amount_fen"] - line["approved_fen"] for line in assessment.lines),
        recorded_by=assessment.recorded_by, recorded_at=assessment.recorded_at,
        waiting_line_ids=[line.id for line in lines if line.pay_type == "insurance" and line.id not in assessed],
    )
