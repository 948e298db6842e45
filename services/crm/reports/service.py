"""Weekly (ISO week) and monthly reports of one store, over the store's own days.

Figures are computed from what CRM keeps: surveys recorded in the period, callbacks due
in it, complaints opened, resolved, closed, reopened and escalated in it (and, from
their history, which were still open or overdue when it ended), churn episodes, and the
customers' own words where they scored low. The schedule generates last week's report
from Monday and last month's from the 3rd (store time) and keeps it as generated."""
from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.errors import NotFound
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.stores import ensure_visible, get_store
from services.common.tables import KnownStore
from services.common.who import Who
from services.crm.callbacks import repository as callbacks
from services.crm.callbacks.models import Callback
from services.crm.churn import repository as churn
from services.crm.complaints import repository as complaints
from services.crm.complaints.service import SATISFIED_FROM, departments
from services.crm.localtime import (
    Period,
    add_months,
    iso_week,
    local_date,
    local_midnight,
    month,
    month_of,
    week_of,
    zone_of,
)
from services.crm.reports import people, repository
from services.crm.reports.models import Report
from services.crm.reports.schemas import (
    CallbackFigures,
    Callbacks,
    Churn,
    Complaints,
    DailyTally,
    Outcomes,
    ReportBody,
    ReportPublic,
    Satisfaction,
    Score,
    Verbatim,
)
from services.crm.who import columns

SCHEDULE = "schedule"


def _mean(values: list[int]) -> float | None:
    if not values:
        return None
    return float((Decimal(sum(values)) / Decimal(len(values))).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _rate(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def _low_mark(code: str) -> int:
    rules = reference.survey()
    return rules["overall_low_score"] if code == "overall" else rules["low_score"]


def _score(pairs: list[tuple[str, int]]) -> Score:
    return Score(answers=len(pairs), average=_mean([s for _, s in pairs]),
                 low=sum(1 for code, s in pairs if s <= _low_mark(code)))


def _callback_figures(due: list[Callback]) -> CallbackFigures:
    on_time = sum(1 for c in due if c.status == "completed" and c.on_time)
    return CallbackFigures(
        due=len(due), completed_on_time=on_time,
        completed_late=sum(1 for c in due if c.status == "completed" and not c.on_time),
        unreachable=sum(1 for c in due if c.status == "unreachable"),
        cancelled=sum(1 for c in due if c.status == "cancelled"),
        pending=sum(1 for c in due if c.status == "pending"),
        sla_rate=_rate(on_time, len(due)),
    )


async def compute(session: AsyncSession, store_id: str, period: Period) -> tuple[ReportBody, datetime, datetime, str]:
    zone = await zone_of(session, store_id)
    start, end = period.bounds(zone)
    questions = {q["code"]: q for q in reference.survey()["questions"]}

    surveys = await callbacks.surveys_between(session, store_id, start, end)
    first = [s for s in surveys if s.kind == "first"]
    by_department = {d: _score([(c, s.answers[c]) for s in first for c in s.answers
                                if questions.get(c, {}).get("department") == d]) for d in departments()}
    by_question = {code: _score([(code, s.answers[code]) for s in first if code in s.answers]) for code in questions}
    satisfaction = Satisfaction(surveys=len(first), csi_average=_mean([s.overall for s in first if s.overall]),
                                by_department=by_department, by_question=by_question)

    due = await callbacks.due_between(session, store_id, start, end)
    ended = await callbacks.closed_between(session, store_id, start, end)
    reached = sum(1 for c in ended if c.status == "completed")
    callback_figures = Callbacks(
        first=_callback_figures([c for c in due if c.kind == "first"]),
        follow_up=_callback_figures([c for c in due if c.kind == "follow_up"]),
        closed=len(ended), reached=reached, reach_rate=_rate(reached, len(ended)),
    )

    known = await complaints.store_complaints_during(session, store_id, start, end)
    steps = await complaints.store_steps_during(session, store_id, start, end)
    state_at_end = {}
    for step in steps:  # oldest first: the last one before the end is the state at the end
        state_at_end[step.complaint_id] = step
    in_period = [s for s in steps if s.at >= start]
    opened = [c for c in known if c.opened_at >= start]
    open_at_end = [s for s in state_at_end.values() if s.status in complaints.OPEN_STATES]
    escalated = Counter(e.reason for e in await complaints.store_escalations_between(session, store_id, start, end))
    complaint_figures = Complaints(
        opened=len(opened),
        opened_by_department=dict(sorted(Counter(c.department for c in opened).items())),
        opened_by_severity=dict(sorted(Counter(c.severity for c in opened).items())),
        opened_by_source=dict(sorted(Counter(c.source for c in opened).items())),
        resolved=sum(1 for s in in_period if s.action == "resolved"),
        closed=sum(1 for s in in_period if s.action == "closed"),
        reopened=sum(1 for s in in_period if s.action == "reopened"),
        escalated={"critical": escalated.get("critical", 0), "overdue": escalated.get("overdue", 0)},
        open_at_end=len(open_at_end),
        overdue_at_end=sum(1 for s in open_at_end if s.due_at < end),
        outcomes=Outcomes(
            closed=sum(1 for c in opened if c.status == "closed"),
            awaiting_follow_up=sum(1 for c in opened if c.status == "resolved"),
            in_progress=sum(1 for c in opened if c.status in complaints.OPEN_STATES),
            reopened=sum(1 for c in opened if c.reopened > 0),
        ),
    )

    episodes = await churn.episodes_during(session, store_id, start, end)
    still_away = [e for e in episodes if e.ended_at is None or e.ended_at >= end]
    lost_at_end = sum(1 for e in still_away if e.lost_at is not None and e.lost_at < end)
    customers = await repository.customers_on_file(session, store_id, end)
    churn_figures = Churn(
        detected=sum(1 for e in episodes if e.detected_at >= start),
        became_lost=sum(1 for e in episodes if e.lost_at is not None and start <= e.lost_at < end),
        came_back=sum(1 for e in episodes if e.ended_at is not None and start <= e.ended_at < end),
        at_risk_at_end=len(still_away) - lost_at_end, lost_at_end=lost_at_end, customers_at_end=customers,
        rate=_rate(len(still_away), customers), lost_rate=_rate(lost_at_end, customers),
    )

    verbatims = []
    for s in surveys:
        low = s.low_answers if s.kind == "first" else (
            {"store": {"overall": s.overall}} if s.overall is not None and s.overall < SATISFIED_FROM else {})
        if low and s.verbatim and s.verbatim.strip():
            verbatims.append(Verbatim(callback_id=s.callback_id, kind=s.kind, repair_order_id=s.repair_order_id,
                                      customer_id=s.customer_id, recorded_at=s.recorded_at, low_answers=low,
                                      verbatim=s.verbatim))
    body = ReportBody(satisfaction=satisfaction, callbacks=callback_figures, complaints=complaint_figures,
                      churn=churn_figures, verbatims=verbatims,
                      problem_customers=await people.rows_for(session, opened))
    return body, start, end, zone.key


def _public(store_id: str, kind: str, label: str, body: ReportBody, start: datetime, end: datetime, zone: str,
            generated_at: datetime, report: Report | None = None) -> ReportPublic:
    return ReportPublic(**body.model_dump(), id=report.id if report else None, store_id=store_id, kind=kind,
                        period=label, starts_at=start, ends_at=end, timezone=zone, generated_at=generated_at,
                        stored=report is not None, trigger=report.trigger if report else None)


def stored_public(report: Report) -> ReportPublic:
    return _public(report.store_id, report.kind, report.period, ReportBody.model_validate(report.body),
                   report.starts_at, report.ends_at, report.timezone, report.generated_at, report)


async def report_for(session: AsyncSession, principal: Principal, store_id: str, period: Period, now: datetime,
                     fresh: bool) -> ReportPublic:
    """The stored report of the period when there is one (unless `fresh`); otherwise computed now."""
    ensure_visible(principal, store_id, "store")
    await get_store(session, store_id)
    if not fresh:
        kept = await repository.stored(session, store_id, period.kind, period.label)
        if kept is not None:
            return stored_public(kept)
    body, start, end, zone = await compute(session, store_id, period)
    return _public(store_id, period.kind, period.label, body, start, end, zone, now)


async def generate(session: AsyncSession, store: KnownStore, period: Period, now: datetime, trigger: str,
                   by: Who) -> Report | None:
    """Store the period's report once; None when it is stored already."""
    if await repository.stored(session, store.id, period.kind, period.label) is not None:
        return None
    body, start, end, zone = await compute(session, store.id, period)
    report = Report(id=new_id(), store_id=store.id, kind=period.kind, period=period.label, starts_at=start, ends_at=end,
                    timezone=zone, generated_at=now, trigger=trigger, **columns("generated_by", by),
                    body=body.model_dump(mode="json"))
    session.add(report)
    await session.flush()
    return report


def last_week(today) -> Period:
    return week_of(today - timedelta(days=7))


def last_month(today) -> Period:
    """From the 3rd, last month; before it, the month before (late callbacks of the month's
    last deliveries are still coming in on the 1st and 2nd)."""
    return month_of(add_months(today.replace(day=1), -1 if today.day >= 3 else -2))


async def weekly_job(session: AsyncSession, store: KnownStore, now: datetime, trigger: str, by: Who) -> dict:
    period = last_week(local_date(now, await zone_of(session, store.id)))
    report = await generate(session, store, period, now, trigger, by)
    return {"period": period.label, "generated": 1 if report else 0}


async def monthly_job(session: AsyncSession, store: KnownStore, now: datetime, trigger: str, by: Who) -> dict:
    period = last_month(local_date(now, await zone_of(session, store.id)))
    report = await generate(session, store, period, now, trigger, by)
    return {"period": period.label, "generated": 1 if report else 0}


async def visible_report(session: AsyncSession, principal: Principal, report_id: str) -> Report:
    report = await repository.get(session, report_id)
    if report is None:
        raise NotFound("report not found")
    ensure_visible(principal, report.store_id, "report")
    return report


async def list_reports(session: AsyncSession, principal: Principal, *, store_id: str | None, kind: str | None,
                       period: str | None, limit: int, cursor: str | None):
    # A store's caller sees its own reports, whatever store it names; HQ the one it names, or all.
    return await repository.page(session, store_id=principal.store_id or store_id, kind=kind, period=period,
                                 limit=limit, cursor=cursor)


def _flatten(prefix: str, value, rows: list[tuple[str, str, str]], section: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, rows, section)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(f"{prefix}.{index}" if prefix else str(index), item, rows, section)
    else:
        rows.append((section, prefix, "" if value is None else str(value)))


def to_csv(report: ReportPublic) -> str:
    """One row per figure: section, metric (a dotted path), value. Starts with a UTF-8 byte
    order mark so spreadsheet programs read Chinese names and words right."""
    data = report.model_dump(mode="json")
    rows: list[tuple[str, str, str]] = []
    for key in ("store_id", "kind", "period", "starts_at", "ends_at", "timezone", "generated_at", "stored"):
        rows.append(("report", key, str(data[key])))
    for section in ("satisfaction", "callbacks", "complaints", "churn", "verbatims"):
        _flatten("", data[section], rows, section)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "metric", "value"])
    writer.writerows(rows)
    return "\ufeff" + out.getvalue()


async def default_period(session: AsyncSession, store_id: str, kind: str, now: datetime) -> Period:
    """The last complete week or month in the store's own calendar."""
    today = local_date(now, await zone_of(session, store_id))
    return last_week(today) if kind == "weekly" else month_of(add_months(today.replace(day=1), -1))


async def asked_period(session: AsyncSession, store_id: str, kind: str, label: str | None, now: datetime) -> Period:
    """The week (2026-W05) or month (2026-02) the caller names; by default the last complete one."""
    if label:
        return iso_week(label) if kind == "weekly" else month(label)
    return await default_period(session, store_id, kind, now)


async def daily_tally(session: AsyncSession, principal: Principal, store_id: str, day: date | None,
                      now: datetime) -> DailyTally:
    """The store day's problem customers (complaints opened), counted per department and named."""
    ensure_visible(principal, store_id, "store")
    await get_store(session, store_id)
    zone = await zone_of(session, store_id)
    day = day or local_date(now, zone)
    start, end = local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)
    rows = await people.rows_for(session, await people.opened_between(session, store_id, start, end))
    return DailyTally(store_id=store_id, day=day, timezone=zone.key, by_department=people.tally(rows),
                      problem_customers=rows)
