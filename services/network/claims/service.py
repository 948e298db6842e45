"""Claims of every kind (warranty, first maintenance, campaign, PDI, goodwill; their rules
in policy.py and kinds.py): submission with an automatic precheck, HQ review with four-eyes
approval for large claims, one resubmission after a rejection. A campaign claim drafts
itself when a closed repair order completes the campaign, and the store submits the draft.

States: draft → submitted (campaign claims);
submitted → approved | partially_approved | rejected | pending_second_approval;
pending_second_approval → approved | partially_approved (as proposed) | rejected;
rejected → submitted (resubmission, once); approved | partially_approved → settled (payment).

A claim is priced and prechecked by the policies in force on its repair date, China's
calendar (the order's opening day; a PDI claim's inspection day): the warranty policy,
labour operations, parts prices and, for a campaign claim, the campaign policy, read from
policies/ by version; the claim keeps their numbers (`policy_versions`)."""
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.network import ClaimDecided, ClaimSubmitted
from services.common.identity import SYSTEM_ROLE, Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.common.stores import ensure_visible, store_zone, within_stores
from services.common.who import Who
from services.network.calendar import HQ_ZONE
from services.network.campaigns import repository as campaigns_repository
from services.network.campaigns import service as campaigns
from services.network.campaigns.models import Campaign
from services.network.claims import chargebacks, kinds, policy, repository
from services.network.claims.codes import AdjustmentCode, KindRejectCode, RejectCode, line_cut, reject_code
from services.network.claims.models import Claim, ClaimedLine, ClaimHistory, ClaimLine, LineDecision, Proposal
from services.network.claims.schemas import (
    ClaimCreate,
    ClaimDecision,
    ClaimList,
    ClaimPublic,
    ClaimResubmit,
    ClaimStatus,
)
from services.network.goodwill import service as goodwill
from services.network.goodwill.models import GoodwillAuthorisation
from services.network.keys import repository as keys
from services.network.part_returns import service as part_returns
from services.network.policies import service as policies
from services.network.policies.bodies import PolicyName
from services.network.regions import service as regions
from services.network.repair_orders import repository as orders
from services.network.repair_orders.models import ClosedRepairOrder
from services.network.repair_orders.schemas import OrderLine
from services.network.repair_orders.service import lines_of
from services.network.stores import service as stores
from services.network.stores.models import Store
from services.network.vehicles import repository as vehicles
from services.network.vehicles.models import PdiInspection

MAX_SUBMISSIONS = 2
# Who drafts a campaign claim: network itself, on the closed order that did the campaign.
NETWORK = Principal(id="network", role=SYSTEM_ROLE, name="network (campaign completed)")


async def _order_of_store(session: AsyncSession, store: Store, repair_order_id: str | None) -> ClosedRepairOrder:
    if repair_order_id is None:
        raise ValidationFailed("repair_order_id", "this kind of claim is for a closed repair order")
    order = await orders.get(session, repair_order_id)
    if order is None or order.store_id != store.id:
        raise ValidationFailed("repair_order_id", "network has not seen this repair order settled or delivered")
    return order


def _choose_lines(order: ClosedRepairOrder, line_ids: list[str] | None, kind: str = "warranty",
                  goodwill_authorisation_id: str | None = None) -> list[OrderLine]:
    """The order's lines of the kind's pay types, or those of them named. A goodwill line
    that names another pre-authorisation is that one's to claim."""
    raw = {line["line_id"]: line for line in order.lines}
    label = kind.replace("_", " ")
    eligible = [line for line in lines_of(order) if line.pay_type in kinds.pay_types(kind)
                and raw[line.line_id].get("goodwill_authorisation_id") in (None, goodwill_authorisation_id)]
    if not eligible:
        raise ValidationFailed("repair_order_id", f"the repair order has no {label} lines")
    if line_ids is None:
        return eligible
    by_id = {line.line_id: line for line in eligible}
    for index, line_id in enumerate(line_ids):
        if line_id not in by_id:
            raise ValidationFailed(f"line_ids.{index}",
                                   f"{line_id} is not a {label} line of repair order {order.number}")
    return [by_id[line_id] for line_id in line_ids]


def campaign_lines(order: ClosedRepairOrder, campaign: Campaign) -> list[OrderLine]:
    """The order's `campaign` lines that carry out this campaign: those naming its code, and
    those naming none that are its operation or one of its parts."""
    raw = {line["line_id"]: line for line in order.lines}
    parts = {part["part_no"] for part in campaign.parts}

    def ours(line: OrderLine) -> bool:
        code = raw[line.line_id].get("campaign_code")
        if code is not None:
            return code == campaign.code
        return (line.kind == "labor" and line.op_code == campaign.op_code) or (
            line.kind == "part" and line.part_no in parts)

    return [line for line in lines_of(order) if line.pay_type == "campaign" and ours(line)]


def campaign_terms(campaign: Campaign) -> kinds.CampaignTerms:
    paid: dict[str, Decimal] = {}
    for part in campaign.parts:
        paid[part["part_no"]] = paid.get(part["part_no"], Decimal(0)) + Decimal(str(part["quantity"]))
    return kinds.CampaignTerms(campaign_id=campaign.id, code=campaign.code, op_code=campaign.op_code,
                               flat_hours=Decimal(campaign.flat_hours), parts=paid)


@dataclass
class Source:
    """What a claim is for: a closed repair order (with, for a campaign or goodwill claim,
    its campaign or pre-authorisation), or, for a PDI claim, a PDI sheet."""

    kind: str
    vin: str
    order: ClosedRepairOrder | None = None
    campaign: Campaign | None = None
    authorisation: GoodwillAuthorisation | None = None
    sheet: PdiInspection | None = None

    @property
    def key(self) -> str:
        """What claimed_lines keys its lines by: the order, or the PDI sheet."""
        if self.order is not None:
            return self.order.id
        assert self.sheet is not None
        return self.sheet.id

    @property
    def number(self) -> str:
        if self.order is not None:
            return self.order.number
        assert self.sheet is not None
        return f"PDI {self.sheet.inspected_on}"

    @property
    def repair_day(self) -> date:
        """The day whose policies price the claim, on China's calendar as policies take effect."""
        if self.order is not None:
            return policy.repair_date(self.order.opened_at, HQ_ZONE)
        assert self.sheet is not None
        return self.sheet.inspected_on

    @property
    def closed_at(self) -> datetime:
        """When the filing deadline starts: the order's settlement, or the PDI sheet's recording."""
        if self.order is not None:
            return self.order.settled_at
        assert self.sheet is not None
        return self.sheet.recorded_at

    def columns(self) -> dict[str, Any]:
        return dict(kind=self.kind, vin=self.vin, repair_order_id=self.order.id if self.order else None,
                    repair_order_number=self.order.number if self.order else None,
                    campaign_id=self.campaign.id if self.campaign else None,
                    pdi_inspection_id=self.sheet.id if self.sheet else None,
                    goodwill_authorisation_id=self.authorisation.id if self.authorisation else None)


@dataclass
class Evaluation:
    lines: list[policy.PricedLine]
    check: policy.PrecheckResult
    pricing: dict[str, Any] = field(default_factory=dict)
    policy_versions: dict[str, int] = field(default_factory=dict)

    @property
    def amount_fen(self) -> int:
        return sum(line.claimed_fen for line in self.lines)


def _already_claimed(source: Source, taken: list[ClaimedLine]) -> Conflict:
    findings = [policy.finding(RejectCode.LINE_ALREADY_CLAIMED, f"already in claim {row.claim_id}", row.line_id)
                for row in taken]
    return Conflict(f"{len(findings)} line(s) of {source.number} are already claimed",
                    findings=findings, claim_ids=sorted({row.claim_id for row in taken}))


def _claimed_meanwhile(source: Source, line_ids: list[str]) -> Conflict:
    findings = [policy.finding(RejectCode.LINE_ALREADY_CLAIMED, "claimed by another submission at the same moment",
                               line_id) for line_id in line_ids]
    return Conflict(f"lines of {source.number} were claimed at the same moment; look up its claims",
                    findings=findings, claim_ids=[])


async def _reserve_lines(session: AsyncSession, source: Source, claim_id: str, line_ids: list[str]) -> None:
    """Claim the lines, or answer 409 with R05. The primary key of claimed_lines decides
    when two submissions race; the read before it only gives the friendlier answer."""
    if not line_ids:
        return
    key = source.key
    taken = sorted((row for row in await repository.claimed(session, key, line_ids) if row.claim_id != claim_id),
                   key=lambda row: line_ids.index(row.line_id))
    if taken:
        raise _already_claimed(source, taken)
    session.add_all([ClaimedLine(repair_order_id=key, line_id=line_id, claim_id=claim_id) for line_id in line_ids])
    refused = _claimed_meanwhile(source, line_ids)  # built now: a failed flush expires every loaded object
    try:
        await session.flush()
    except IntegrityError as exc:
        raise refused from exc


async def rules_on(session: AsyncSession, day: date, kind: str) -> policy.Rules:
    """The policies in force on `day` that price a claim of `kind`, with their version numbers."""
    names = [PolicyName.WARRANTY_POLICY, PolicyName.LABOUR_OPERATIONS, PolicyName.PARTS_PRICES]
    if kind == "campaign":
        names.append(PolicyName.CAMPAIGN_POLICY)
    found = {name: await policies.in_force(session, name, day) for name in names}
    campaign = found.get(PolicyName.CAMPAIGN_POLICY)
    return policy.Rules.of(found[PolicyName.WARRANTY_POLICY].body, found[PolicyName.LABOUR_OPERATIONS].body,
                           found[PolicyName.PARTS_PRICES].body, campaign.body if campaign else None,
                           {str(name): row.version for name, row in found.items()})


def _evaluate(order: ClosedRepairOrder, store: Store, chosen: list[OrderLine], rules: policy.Rules, *,
              complaint: str, cause: str, correction: str, causal_part_no: str | None, filed_at: datetime,
              now: datetime) -> tuple[list[policy.PricedLine], policy.PrecheckResult]:
    # Cover counts the store's own days; which policy applies is the brand's (China's) day.
    day = policy.repair_date(order.opened_at, store_zone(store))
    priced = [policy.price_line(line, day, order.sold_at, order.mileage_km, rules) for line in chosen]
    check = policy.precheck(lines=priced, complaint=complaint, cause=cause, correction=correction,
                            causal_part_no=causal_part_no, closed_at=order.settled_at, filed_at=filed_at,
                            checked_at=now, rules=rules)
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


async def _emit_submitted(session: AsyncSession, claim: Claim, now: datetime) -> None:
    # A PDI claim has no repair order: the event's repair_order_id is empty then.
    await emit(session, ClaimSubmitted(
        claim_id=claim.id, store_id=claim.store_id, repair_order_id=claim.repair_order_id or "", kind=claim.kind,
        amount_claimed_fen=claim.amount_claimed_fen, submission_count=claim.submission_count,
        precheck_passed=claim.precheck.passed, submitted_at=now, submitted_by=claim.submitted_by,
        submitted_by_name=claim.submitted_by_name, submitted_by_credential=claim.submitted_by_credential,
    ), subject=claim.id, store_id=claim.store_id, time=now)


async def _emit_decided(session: AsyncSession, claim: Claim, by: Principal, at: datetime,
                        amount_approved_fen: int) -> None:
    await emit(session, ClaimDecided(
        claim_id=claim.id, store_id=claim.store_id, repair_order_id=claim.repair_order_id or "", kind=claim.kind,
        status=claim.status,
        amount_claimed_fen=claim.amount_claimed_fen, amount_approved_fen=amount_approved_fen,
        reason_code=claim.reason_code, decided_by=by.id, decided_by_name=by.name or None,
        decided_by_credential=by.credential or None, submitted_at=claim.submitted_at or at, decided_at=at,
        submission_count=claim.submission_count,
    ), subject=claim.id, store_id=claim.store_id, time=at)


async def _pdi_sheet(session: AsyncSession, store: Store, vin: str | None, sheet_id: str | None) -> PdiInspection:
    if sheet_id is None:
        raise ValidationFailed("pdi_inspection_id", "a pdi claim names the PDI sheet whose fixed defects it claims")
    if vin is None:
        raise ValidationFailed("vin", "a pdi claim names the car of its PDI sheet")
    sheet = next((s for s in await vehicles.pdi_sheets(session, vin.upper()) if s.id == sheet_id), None)
    if sheet is None or sheet.store_id != store.id:
        raise ValidationFailed("pdi_inspection_id", f"no PDI sheet of this store for {vin}")
    return sheet


async def _new_source(session: AsyncSession, store: Store, data: ClaimCreate) -> Source:
    kind = data.kind
    if kind == "campaign":
        raise ValidationFailed("kind", "a campaign claim drafts itself when the order that did the campaign "
                                       "closes; submit the draft (POST /v1/claims/{id}/submit)")
    if kind != "pdi" and data.pdi_inspection_id is not None:
        raise ValidationFailed("pdi_inspection_id", "only a pdi claim names a PDI sheet")
    if kind != "goodwill" and data.goodwill_authorisation_id is not None:
        raise ValidationFailed("goodwill_authorisation_id", "only a goodwill claim names a pre-authorisation")
    if kind == "pdi":
        if data.repair_order_id is not None:
            raise ValidationFailed("repair_order_id", "a pdi claim is for a PDI sheet's defects, not a repair order")
        sheet = await _pdi_sheet(session, store, data.vin, data.pdi_inspection_id)
        return Source(kind, vin=sheet.vin, sheet=sheet)
    order = await _order_of_store(session, store, data.repair_order_id)
    authorisation = None
    if kind == "goodwill":
        authorisation = await goodwill.for_claim(session, data.goodwill_authorisation_id, store=store,
                                                 vin=order.vin, opened_at=order.opened_at)
        used = await repository.by_goodwill_authorisation(session, authorisation.id)
        if used is not None:
            raise Conflict(f"the pre-authorisation pays for claim {used.id} already", claim_id=used.id)
    return Source(kind, vin=order.vin, order=order, authorisation=authorisation)


async def _source_of(session: AsyncSession, store: Store, claim: Claim) -> Source:
    """What an existing claim is for, read again to price it again."""
    if claim.kind == "pdi":
        sheet = await _pdi_sheet(session, store, claim.vin, claim.pdi_inspection_id)
        return Source(claim.kind, vin=claim.vin, sheet=sheet)
    order = await _order_of_store(session, store, claim.repair_order_id)
    campaign = await campaigns_repository.get(session, claim.campaign_id) if claim.campaign_id else None
    authorisation = None
    if claim.goodwill_authorisation_id:
        authorisation = await goodwill.for_claim(session, claim.goodwill_authorisation_id, store=store,
                                                 vin=order.vin, opened_at=order.opened_at)
    return Source(claim.kind, vin=order.vin, order=order, campaign=campaign, authorisation=authorisation)


def _picked(lines: list[policy.PricedLine], line_ids: list[str] | None, what: str) -> list[policy.PricedLine]:
    if line_ids is None:
        return lines
    by_id = {line.line_id: line for line in lines}
    for index, line_id in enumerate(line_ids):
        if line_id not in by_id:
            raise ValidationFailed(f"line_ids.{index}", f"{line_id} is not a line of {what}")
    return [by_id[line_id] for line_id in line_ids]


async def _evaluate_source(session: AsyncSession, store: Store, source: Source, line_ids: list[str] | None, *,
                           complaint: str, cause: str, correction: str, causal_part_no: str | None,
                           filed_at: datetime, now: datetime, claim_id: str | None = None) -> Evaluation:
    """The claim's lines priced by its kind's rule, and the precheck HQ sees, by the policies
    in force on its repair date."""
    kind, order = source.kind, source.order
    rules = await rules_on(session, source.repair_day, kind)
    if kind == "warranty":
        assert order is not None
        chosen = _choose_lines(order, line_ids)
        priced, check = _evaluate(order, store, chosen, rules, complaint=complaint, cause=cause,
                                  correction=correction, causal_part_no=causal_part_no, filed_at=filed_at, now=now)
        return Evaluation(priced, await _with_campaigns(session, order, store, priced, check),
                          policy_versions=rules.versions)
    found: list[policy.Finding] = []
    if kind == "pdi":
        assert source.sheet is not None
        priced, pricing = kinds.price_pdi(source.sheet.defects, rules)
        priced = _picked(priced, line_ids, f"the fixed defects of {source.number}")
        if not priced:
            raise ValidationFailed("pdi_inspection_id", "the PDI sheet has no defect fixed before delivery")
    elif kind == "campaign":
        assert order is not None and source.campaign is not None
        priced, pricing = kinds.price_campaign(campaign_lines(order, source.campaign), campaign_terms(source.campaign),
                                               rules)
        priced = _picked(priced, line_ids, f"campaign {source.campaign.code} on repair order {order.number}")
    elif kind == "goodwill":
        authorisation = source.authorisation
        assert order is not None and authorisation is not None
        assert authorisation.amount_limit_fen is not None and authorisation.brand_share_percent is not None
        chosen = _choose_lines(order, line_ids, "goodwill", authorisation.id)
        priced, pricing = kinds.price_goodwill(chosen, authorisation.amount_limit_fen,
                                               authorisation.brand_share_percent, rules)
    else:
        assert order is not None
        chosen = _choose_lines(order, line_ids, kind)
        registration = await vehicles.registration(session, order.vin)
        car = kinds.FirstMaintenanceCar(
            model=(registration.model if registration is not None and registration.model else order.model),
            delivered_on=registration.delivery_date if registration is not None else None)
        day = policy.repair_date(order.opened_at, store_zone(store))
        priced, found, pricing = kinds.price_first_maintenance(chosen, car, day, order.mileage_km, rules)
        earlier = await repository.first_maintenance_claims(session, order.vin, exclude=claim_id)
        if earlier:
            found.append(policy.finding(
                KindRejectCode.FIRST_MAINTENANCE_CLAIMED_BEFORE,
                f"claim {earlier[0].id} (repair order {earlier[0].repair_order_number}) claims it"))
    check = kinds.precheck_kind(kind, lines=priced, claim_findings=found, complaint=complaint, cause=cause,
                                correction=correction, causal_part_no=causal_part_no, closed_at=source.closed_at,
                                filed_at=filed_at, checked_at=now, policies=rules)
    return Evaluation(priced, check, pricing, rules.versions)


def _submitted_by(claim: Claim, principal: Principal, now: datetime) -> None:
    claim.submitted_at, claim.submitted_by = now, principal.id
    claim.submitted_by_name, claim.submitted_by_credential = principal.name or None, principal.credential or None


async def _replace_lines(session: AsyncSession, source: Source, claim: Claim, current: list[str],
                         evaluation: Evaluation) -> None:
    wanted = [line.line_id for line in evaluation.lines]
    dropped = [line_id for line_id in current if line_id not in wanted]
    if dropped:
        await repository.release_lines(session, claim.id, dropped)
    await _reserve_lines(session, source, claim.id, [line_id for line_id in wanted if line_id not in current])
    await repository.delete_lines(session, claim.id)
    session.add_all(_line_rows(claim.id, evaluation.lines))


async def submit(session: AsyncSession, clock: Clock, principal: Principal, store: Store, data: ClaimCreate) -> Claim:
    source = await _new_source(session, store, data)
    now = clock.now()
    evaluation = await _evaluate_source(session, store, source, data.line_ids, complaint=data.complaint,
                                        cause=data.cause, correction=data.correction,
                                        causal_part_no=data.causal_part_no, filed_at=now, now=now)
    claim = Claim(
        id=new_id(), store_id=store.id, **source.columns(), pricing=evaluation.pricing,
        policy_versions=evaluation.policy_versions, status="submitted", complaint=data.complaint, cause=data.cause,
        correction=data.correction,
        causal_part_no=data.causal_part_no, amount_claimed_fen=evaluation.amount_fen,
        precheck=evaluation.check, submission_count=1, first_submitted_at=now,
    )
    _submitted_by(claim, principal, now)
    session.add(claim)
    await session.flush()
    await _reserve_lines(session, source, claim.id, [line.line_id for line in evaluation.lines])
    session.add_all(_line_rows(claim.id, evaluation.lines))
    session.add(_history(claim, principal, "submitted", now, amount_claimed_fen=claim.amount_claimed_fen,
                         precheck_passed=evaluation.check.passed))
    await _emit_submitted(session, claim, now)
    return claim


async def draft_campaign_claim(session: AsyncSession, now: datetime, order: ClosedRepairOrder,
                               campaign: Campaign) -> Claim | None:
    """The store's claim for a campaign its closed order carried out, as a draft the store
    submits. None when the order has no `campaign` lines for it (the work was paid another
    way), when network does not know the store, or when it was drafted before."""
    store = await session.get(Store, order.store_id)
    if store is None or not campaign_lines(order, campaign):
        return None
    if await repository.campaign_claim(session, campaign.id, order.id) is not None:
        return None
    source = Source("campaign", vin=order.vin, order=order, campaign=campaign)
    complaint = f"{campaign.code}: {campaign.title_zh} / {campaign.title_en}"
    evaluation = await _evaluate_source(session, store, source, None, complaint=complaint, cause="", correction="",
                                        causal_part_no=None, filed_at=now, now=now)
    claim = Claim(id=new_id(), store_id=store.id, **source.columns(), pricing=evaluation.pricing,
                  policy_versions=evaluation.policy_versions, status="draft",
                  complaint=complaint, cause="", correction="", amount_claimed_fen=evaluation.amount_fen,
                  precheck=evaluation.check, submission_count=0)
    session.add(claim)
    await session.flush()
    await _reserve_lines(session, source, claim.id, [line.line_id for line in evaluation.lines])
    session.add_all(_line_rows(claim.id, evaluation.lines))
    session.add(_history(claim, NETWORK, "drafted", now, campaign_code=campaign.code,
                         amount_claimed_fen=claim.amount_claimed_fen, precheck_passed=evaluation.check.passed))
    return claim


async def submit_draft(session: AsyncSession, clock: Clock, principal: Principal, store: Store,
                       claim: Claim) -> Claim:
    """The store submits a claim that drafted itself; it is priced and prechecked again as of now."""
    if claim.status != "draft":
        raise InvalidTransition(claim.status, "submit")
    source = await _source_of(session, store, claim)
    now = clock.now()
    current = [line.line_id for line in (await repository.lines_of(session, [claim.id]))[claim.id]]
    evaluation = await _evaluate_source(session, store, source, None, complaint=claim.complaint, cause=claim.cause,
                                        correction=claim.correction, causal_part_no=claim.causal_part_no,
                                        filed_at=now, now=now, claim_id=claim.id)
    await _replace_lines(session, source, claim, current, evaluation)
    claim.pricing, claim.amount_claimed_fen = evaluation.pricing, evaluation.amount_fen
    claim.policy_versions = evaluation.policy_versions
    claim.precheck = evaluation.check
    claim.status, claim.submission_count, claim.first_submitted_at = "submitted", 1, now
    _submitted_by(claim, principal, now)
    claim.version += 1
    session.add(claim)
    session.add(_history(claim, principal, "submitted", now, amount_claimed_fen=claim.amount_claimed_fen,
                         precheck_passed=evaluation.check.passed))
    await _emit_submitted(session, claim, now)
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
    source = await _source_of(session, store, claim)
    now = clock.now()
    # The filing date stays the first submission's: answering a rejection is not filing late.
    evaluation = await _evaluate_source(session, store, source, wanted["line_ids"], complaint=wanted["complaint"],
                                        cause=wanted["cause"], correction=wanted["correction"],
                                        causal_part_no=wanted["causal_part_no"],
                                        filed_at=claim.first_submitted_at or now, now=now, claim_id=claim.id)
    await _replace_lines(session, source, claim, current["line_ids"], evaluation)
    claim.complaint, claim.cause, claim.correction = wanted["complaint"], wanted["cause"], wanted["correction"]
    claim.causal_part_no = wanted["causal_part_no"]
    claim.amount_claimed_fen, claim.pricing = evaluation.amount_fen, evaluation.pricing
    claim.policy_versions = evaluation.policy_versions
    claim.amount_approved_fen = None
    claim.precheck, claim.status = evaluation.check, "submitted"
    claim.submission_count += 1
    _submitted_by(claim, principal, now)
    claim.decided_at = claim.decided_by = claim.reason_code = claim.decision_note = claim.proposal = None
    claim.decided_by_name = claim.decided_by_credential = None
    claim.version += 1
    session.add(claim)
    session.add(_history(claim, principal, "resubmitted", now, changed=changed,
                         amount_claimed_fen=claim.amount_claimed_fen, precheck_passed=evaluation.check.passed))
    await _emit_submitted(session, claim, now)
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
    allowed = {*AdjustmentCode, *RejectCode, *KindRejectCode}
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
    codes = {*RejectCode, *KindRejectCode}
    code = data.reason_code
    if code is None or code not in codes:
        raise ValidationFailed("reason_code", f"a rejection needs one of {', '.join(sorted(codes))}")
    for line in lines:
        line.approved_fen, line.adjustment_code = 0, None
    claim.status, claim.amount_approved_fen, claim.reason_code = "rejected", 0, reject_code(code)
    if claim.submission_count >= MAX_SUBMISSIONS:
        # Rejected for good: the lines may be claimed again (e.g. correctly, on a new claim).
        await repository.release_lines(session, claim.id)


async def decide(session: AsyncSession, clock: Clock, principal: Principal, claim: Claim, data: ClaimDecision) -> Claim:
    if principal.role == regions.REGION_MANAGER:
        # A region manager decides its stores' claims up to the region's limit; above it, HQ.
        limit = await regions.claim_review_limit(session, await stores.get_visible(session, principal, claim.store_id))
        if claim.amount_claimed_fen > limit:
            raise Forbidden(f"索赔金额超出大区审批权限 {limit} 分，由总部审核 the claim is above the region's review "
                            f"limit ({limit} fen): HQ decides it", field="amount_claimed_fen")
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
            # Four eyes is how HQ reviews today: the threshold in force on the day of the decision.
            warranty = await policies.in_force(session, PolicyName.WARRANTY_POLICY, now.astimezone(HQ_ZONE).date())
            if claim.amount_claimed_fen >= warranty.body["second_approval_threshold_fen"]:
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
                      repair_order_id: str | None = None, kind: str | None = None,
                      region_id: str | None = None) -> ClaimList:
    """HQ lists every store's claims, one store's or one region's (the stores in it now, as a
    region manager acts on them); a store lists its own, and naming another store finds
    nothing. A region the caller does not see is refused as one that does not exist."""
    if region_id is not None:
        try:
            await regions.get_visible(session, principal, region_id)
        except NotFound:
            raise ValidationFailed("region_id", "没有这个大区 no such region") from None
    if principal.store_id and store_id and store_id != principal.store_id:
        return ClaimList(items=[], next_cursor=None)
    rows, next_cursor = await repository.page(session, limit=limit, cursor=cursor,
                                              store_id=principal.store_id or store_id, status=status,
                                              repair_order_id=repair_order_id, kind=kind,
                                              within=within_stores(principal), region_id=region_id)
    lines = await repository.lines_of(session, [r.id for r in rows])
    return ClaimList(items=[public(r, lines[r.id]) for r in rows], next_cursor=next_cursor)


def public(claim: Claim, lines: list[ClaimLine], history: list[ClaimHistory] | None = None) -> ClaimPublic:
    proposal = claim.proposal
    return ClaimPublic(
        **{name: getattr(claim, name) for name in (
            "id", "store_id", "kind", "repair_order_id", "repair_order_number", "campaign_id", "pdi_inspection_id",
            "goodwill_authorisation_id", "pricing", "policy_versions", "vin", "status", "complaint", "cause",
            "correction", "causal_part_no", "amount_claimed_fen", "amount_approved_fen",
            "submission_count", "first_submitted_at", "submitted_at", "submitted_by", "decided_at", "decided_by",
            "reason_code", "decision_note", "settlement_id", "settled_at", "version")},
        precheck=claim.precheck.model_dump(),
        # A line's cover as stored: members a line no plan covers does not have stay absent.
        lines=[{**line.model_dump(), "coverage": line.coverage.model_dump(mode="json", exclude_unset=True)}
               for line in lines],
        submitter=(Who.stored(claim.submitted_by, claim.submitted_by_name, claim.submitted_by_credential)
                   if claim.submitted_by else None),
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
