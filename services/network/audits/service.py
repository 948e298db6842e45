"""Audits against the brand's service standards: a weighted score; below the pass mark every
standard scored below it gets a corrective action due a configurable number of days later.
A passed audit of an outlet in onboarding ticks the checklist's site-audit item.

The standards, their weights and the pass mark are the audit standards' version in force
on the audit day (China's calendar; policies/, seeded from data/audit_standards.json); the
audit keeps that version's number."""
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import InvalidTransition, NotFound, ValidationFailed
from services.common.identity import Principal
from services.common.ids import new_id
from services.network.audits import repository
from services.network.audits.models import Audit, CorrectiveAction
from services.network.audits.schemas import (
    ActionStatus,
    AuditCreate,
    AuditItemOut,
    AuditList,
    AuditPublic,
    CorrectiveActionList,
    CorrectiveActionPublic,
)
from services.network.calendar import HQ_ZONE
from services.network.onboarding import repository as onboarding_repository
from services.network.onboarding import service as onboarding
from services.network.policies import service as policies
from services.network.policies.bodies import PolicyName
from services.network.stores.models import Store


def weighted_score(items: list[AuditItemOut]) -> Decimal:
    """Σ score × weight / Σ weight, to two decimals, half up."""
    total_weight = sum(i.weight for i in items)
    points = sum(i.score * i.weight for i in items)
    return (Decimal(points) / Decimal(total_weight)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _scored_items(data: AuditCreate, standards: dict) -> list[AuditItemOut]:
    known = {s["code"]: s for s in standards["items"]}
    seen: set[str] = set()
    items = []
    for index, item in enumerate(data.items):
        if item.code not in known:
            raise ValidationFailed(f"items.{index}.code", f"unknown standard {item.code}")
        if item.code in seen:
            raise ValidationFailed(f"items.{index}.code", f"standard {item.code} is scored twice")
        seen.add(item.code)
        standard = known[item.code]
        items.append(AuditItemOut(code=item.code, title=standard["title"], weight=standard["weight"], score=item.score,
                                  note=item.note))
    missing = [code for code in known if code not in seen]
    if missing:
        # Every standard is scored: a skipped one would silently raise the average.
        raise ValidationFailed("items", f"every standard must be scored; missing {', '.join(missing)}", missing=missing)
    return items


async def record(session: AsyncSession, clock: Clock, settings, principal: Principal, store: Store,
                 data: AuditCreate) -> tuple[Audit, list[CorrectiveAction]]:
    now = clock.now()
    audited_at = data.audited_at or now
    if audited_at.tzinfo is None:
        raise ValidationFailed("audited_at", "must carry a time zone offset")
    if audited_at > now:
        raise ValidationFailed("audited_at", "an audit cannot be recorded before it happened")
    standards = await policies.in_force(session, PolicyName.AUDIT_STANDARDS, audited_at.astimezone(HQ_ZONE).date())
    items = _scored_items(data, standards.body)
    score = weighted_score(items)
    pass_mark = standards.body["pass_mark"]
    passed = score >= pass_mark
    audit = Audit(id=new_id(), store_id=store.id, audited_at=audited_at, auditor=principal.id,
                  auditor_name=principal.name or principal.id, auditor_credential=principal.credential or None,
                  items=items,
                  score_centi=int(score * 100), pass_mark=pass_mark, passed=passed, standards_version=standards.version,
                  note=data.note, created_at=now)
    session.add(audit)
    actions = []
    if not passed:
        due = audited_at + timedelta(days=settings.corrective_action_due_days)
        for item in items:
            if item.score < pass_mark:
                actions.append(CorrectiveAction(
                    id=new_id(), audit_id=audit.id, store_id=store.id, item_code=item.code, title=item.title,
                    score=item.score, due_at=due, status=ActionStatus.OPEN, opened_at=now,
                ))
        session.add_all(actions)
    elif store.status == "onboarding" and await onboarding_repository.get(
            session, store.id, onboarding.FACILITY_AUDIT_ITEM) is None and onboarding.FACILITY_AUDIT_ITEM in {
            item["code"] for item in await onboarding.checklist_items(session, store)}:
        await session.flush()
        await onboarding.complete_item(session, clock, store, onboarding.FACILITY_AUDIT_ITEM, principal,
                                       f"audit {audit.id} passed with {score}", at=now)
    return audit, actions


def action_public(action: CorrectiveAction, now: datetime) -> CorrectiveActionPublic:
    public = CorrectiveActionPublic.model_validate(action, from_attributes=True)
    public.overdue = action.status == ActionStatus.OPEN and action.due_at < now
    return public


def audit_public(audit: Audit, actions: list[CorrectiveAction], now: datetime) -> AuditPublic:
    return AuditPublic(
        id=audit.id, store_id=audit.store_id, audited_at=audit.audited_at, auditor=audit.auditor,
        auditor_name=audit.auditor_name, auditor_credential=audit.auditor_credential, items=audit.items,
        score=(Decimal(audit.score_centi) / 100).quantize(Decimal("0.01")), pass_mark=audit.pass_mark,
        passed=audit.passed, standards_version=audit.standards_version, note=audit.note,
        corrective_actions=[action_public(a, now) for a in actions],
    )


async def list_audits(session: AsyncSession, clock: Clock, store: Store, *, limit: int,
                      cursor: str | None) -> AuditList:
    rows, next_cursor = await repository.page(session, store.id, limit=limit, cursor=cursor)
    actions = await repository.actions_of(session, [r.id for r in rows])
    now = clock.now()
    return AuditList(items=[audit_public(r, [a for a in actions if a.audit_id == r.id], now) for r in rows],
                     next_cursor=next_cursor)


async def get_audit(session: AsyncSession, clock: Clock, store: Store, audit_id: str) -> AuditPublic:
    audit = await repository.get(session, audit_id)
    if audit is None or audit.store_id != store.id:
        raise NotFound("audit not found")
    return audit_public(audit, await repository.actions_of(session, [audit.id]), clock.now())


async def list_corrective_actions(session: AsyncSession, clock: Clock, store: Store, *, limit: int,
                                  cursor: str | None, status: ActionStatus | None = None) -> CorrectiveActionList:
    rows, next_cursor = await repository.actions_page(session, store.id, limit=limit, cursor=cursor, status=status)
    now = clock.now()
    return CorrectiveActionList(items=[action_public(r, now) for r in rows], next_cursor=next_cursor)


async def close_action(session: AsyncSession, clock: Clock, principal: Principal, store: Store, action_id: str,
                       resolution: str) -> CorrectiveAction:
    action = await repository.action_for_update(session, action_id)
    if action is None or action.store_id != store.id:
        raise NotFound("corrective action not found")
    if action.status != ActionStatus.OPEN:
        raise InvalidTransition(action.status, "close")
    action.status, action.closed_at, action.closed_by = ActionStatus.CLOSED, clock.now(), principal.id
    action.closed_by_name, action.closed_by_credential = principal.name or principal.id, principal.credential or None
    action.resolution = resolution
    action.version += 1
    session.add(action)
    return action
