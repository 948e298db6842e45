"""From events to KPI facts.

Each event that feeds a KPI touches one entity (`appt:<id>`, `ro:<id>`, ...) and sets some
of its fields. Every field keeps the (time, id) of the event that set it and only a later
event overwrites it, so the entity's state does not depend on how often or in which order
events arrive; a live consumer and a rebuild may even apply the same events at once.
From the state, a pure function derives the entity's facts (metric, store, local day,
integer amount); the difference to the facts stored before is applied to the per-store
daily figures. Amounts are integers: counts, fen, microseconds, micro-hours."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.events.catalogue import network, reception, workshop
from services.common.events.envelope import CloudEvent, Event
from services.network.kpis import repository
from services.network.kpis.broadcaster import note_change
from services.network.kpis.models import KpiEntity, KpiFact

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PAY_TYPES = ("customer", "warranty", "insurance", "internal", "goodwill")
FINAL_DECISIONS = ("approved", "partially_approved", "rejected")
MICRO = Decimal(1_000_000)


class Metric(StrEnum):
    """The per-store daily counters the KPIs are computed from (kpi_facts.metric, kpi_daily.metric)."""

    RO_OPENED = "ro_opened"
    RO_DELIVERED = "ro_delivered"
    REVENUE_CUSTOMER_FEN = "revenue_customer_fen"
    REVENUE_WARRANTY_FEN = "revenue_warranty_fen"
    REVENUE_INSURANCE_FEN = "revenue_insurance_fen"
    REVENUE_INTERNAL_FEN = "revenue_internal_fen"
    REVENUE_GOODWILL_FEN = "revenue_goodwill_fen"
    CP_LABOUR_FEN = "cp_labour_fen"  # customer-pay labour revenue
    CP_LABOUR_UH = "cp_labour_uh"  # customer-pay labour hours sold, in micro-hours
    LABOUR_FEN = "labour_fen"  # labour revenue of every payer (targets' labour revenue)
    PARTS_FEN = "parts_fen"  # parts revenue of every payer (targets' parts revenue)
    ACCESSORIES_FEN = "accessories_fen"  # accessory lines sold on repair orders (customer-paid), before tax
    APPT_SCHEDULED = "appt_scheduled"
    APPT_CHECKED_IN = "appt_checked_in"
    COMEBACKS = "comebacks"
    CB_DUE = "cb_due"
    CB_ON_TIME = "cb_on_time"
    CSI_SUM = "csi_sum"
    CSI_COUNT = "csi_count"
    CB_REACHED = "cb_reached"
    CB_CLOSED = "cb_closed"
    CLAIMS_SUBMITTED = "claims_submitted"
    CLAIMS_DECIDED = "claims_decided"
    CLAIMS_APPROVED_FEN = "claims_approved_fen"
    CLAIM_CYCLE_US = "claim_cycle_us"
    PARTS_RESERVED = "parts_reserved"
    PARTS_FILLED = "parts_filled"
    RSA_ARRIVALS = "rsa_arrivals"
    RSA_RESPONSE_US = "rsa_response_us"
    TECH_FLAT_UH = "tech_flat_uh"
    TECH_CLOCKED_UH = "tech_clocked_uh"
    COMPLAINTS_OPENED = "complaints_opened"
    COMPLAINTS_CLOSED = "complaints_closed"
    COMPLAINTS_OVERDUE_FROM = "complaints_overdue_from"
    COMPLAINTS_OVERDUE_UNTIL = "complaints_overdue_until"
    # Gross margin, on the local day the order was delivered, once both its revenue (reception)
    # and its cost (workshop.order.costed) are known; credited to the order's advisor.
    GM_ORDERS = "gm_orders"  # orders with a margin
    GM_INCOMPLETE = "gm_incomplete"  # of them, costed with something missing (workshop's `missing`)
    GM_REVENUE_FEN = "gm_revenue_fen"  # their revenue, every payer, before tax
    GM_COST_FEN = "gm_cost_fen"
    GM_PARTS_COST_FEN = "gm_parts_cost_fen"
    GM_LABOUR_COST_FEN = "gm_labour_cost_fen"
    GM_SUBLET_COST_FEN = "gm_sublet_cost_fen"
    GM_CUSTOMER_FEN = "gm_customer_fen"  # margin of customer-pay work
    GM_WARRANTY_FEN = "gm_warranty_fen"
    GM_INTERNAL_FEN = "gm_internal_fen"
    GM_OTHER_FEN = "gm_other_fen"  # insurance, goodwill, parts over the counter, cost sent without a payer split


REVENUE_METRICS = {pay_type: Metric(f"revenue_{pay_type}_fen") for pay_type in PAY_TYPES}
# Margin is shown by payer: customer-pay apart from warranty and internal work; the rest together.
MARGIN_METRICS = {"customer": Metric.GM_CUSTOMER_FEN, "warranty": Metric.GM_WARRANTY_FEN,
                  "internal": Metric.GM_INTERNAL_FEN, "other": Metric.GM_OTHER_FEN}
# Counters summed over every day up to the window's end (states at the end of the window).
SNAPSHOT_METRICS = (Metric.COMPLAINTS_OPENED, Metric.COMPLAINTS_CLOSED, Metric.COMPLAINTS_OVERDUE_FROM,
                    Metric.COMPLAINTS_OVERDUE_UNTIL)
# Counters summed over the window's days.
WINDOW_METRICS = tuple(m for m in Metric if m not in SNAPSHOT_METRICS)


class EntityKind(StrEnum):
    """What a KPI entity is (kpi_entities.kind); each kind has its way to derive facts."""

    REPAIR_ORDER = "repair_order"
    APPOINTMENT = "appointment"
    ROADSIDE = "roadside"
    JOB = "job"
    RESERVATION = "reservation"
    COMEBACK = "comeback"
    CALLBACK = "callback"
    COMPLAINT = "complaint"
    CLAIM = "claim"


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def micro_hours(text: str | None) -> int:
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        return 0
    return int((value * MICRO).quantize(Decimal(1), ROUND_HALF_UP)) if value.is_finite() else 0


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class Touch:
    key: str
    kind: EntityKind
    store_id: str
    fields: dict[str, Any]


def _revenue(lines: list[reception.RepairOrderLine]) -> dict[str, Any]:
    revenue = {p: 0 for p in PAY_TYPES}
    labour_fen = labour_uh = all_labour_fen = parts_fen = accessories_fen = 0
    for line in lines:
        revenue[line.pay_type] += line.amount_fen
        if line.kind == "labor":
            all_labour_fen += line.amount_fen
        elif line.kind == "part":
            parts_fen += line.amount_fen
        elif line.kind == "accessory":
            accessories_fen += line.amount_fen
        if line.kind == "labor" and line.pay_type == "customer":
            labour_fen += line.amount_fen
            labour_uh += micro_hours(line.quantity)
    return {"revenue": revenue, "cp_labour_fen": labour_fen, "cp_labour_uh": labour_uh, "labour_fen": all_labour_fen,
            "parts_fen": parts_fen, "accessories_fen": accessories_fen}


def _ro(e, **fields) -> Touch:
    # The advisor on the order is who its count and revenue are credited to (targets per person).
    return Touch(f"ro:{e.repair_order_id}", EntityKind.REPAIR_ORDER, e.store_id, {"advisor_id": e.advisor.id, **fields})


def _appt(e, **fields) -> Touch:
    return Touch(f"appt:{e.appointment_id}", EntityKind.APPOINTMENT, e.store_id,
                 {"scheduled_at": _iso(e.scheduled_at), **fields})


def _callback(e, **fields) -> Touch:
    return Touch(f"cb:{e.callback_id}", EntityKind.CALLBACK, e.store_id, {"due_at": _iso(e.due_at), **fields})


def _complaint(e, **fields) -> Touch:
    return Touch(f"cmp:{e.complaint_id}", EntityKind.COMPLAINT, e.store_id, fields)


def _claim_decided(e: network.ClaimDecided) -> Touch | None:
    if e.status not in FINAL_DECISIONS:
        return None  # a first approval awaiting the second is not a decision yet
    decision = {"submitted_at": _iso(e.submitted_at), "decided_at": _iso(e.decided_at), "status": e.status,
                "approved_fen": e.amount_approved_fen}
    return Touch(f"clm:{e.claim_id}", EntityKind.CLAIM, e.store_id, {f"decision:{micros(e.submitted_at)}": decision})


def _reservation_issued(e: workshop.ReservationIssued) -> Touch:
    return Touch(f"rsv:{e.reservation_id}", EntityKind.RESERVATION, e.store_id, {
        "issued_at": _iso(e.issued_at), "reserved_at": _iso(e.reserved_at), "filled_from_stock": e.filled_from_stock})


def _costed(e: workshop.OrderCosted) -> Touch:
    # On the order's own entity, beside reception's revenue: the margin is counted once both
    # are there, whichever event came first. One field, so a redelivery changes nothing.
    if e.by_pay_type is not None:
        by_payer: dict[str, int] = {}
        for part in e.by_pay_type:
            group = part.pay_type if part.pay_type in MARGIN_METRICS else "other"
            by_payer[group] = by_payer.get(group, 0) + part.parts_cost_fen + part.labor_cost_fen + part.sublet_cost_fen
    else:
        by_payer = {"other": e.total_cost_fen}
    return Touch(f"ro:{e.repair_order_id}", EntityKind.REPAIR_ORDER, e.store_id, {"cost": {
        "costed_at": _iso(e.costed_at), "delivered_at": _iso(e.delivered_at), "total": e.total_cost_fen,
        "parts": e.parts_cost_fen, "labour": e.labor_cost_fen, "sublet": e.sublet_cost_fen, "by_payer": by_payer,
        "incomplete": bool(e.missing)}})


EXTRACTORS: dict[str, Callable[[Any], Touch | None]] = {
    "reception.repair_order.opened": lambda e: _ro(e, opened_at=_iso(e.opened_at)),
    "reception.repair_order.settled": lambda e: _ro(e, opened_at=_iso(e.opened_at), settled_at=_iso(e.settled_at),
                                                    **_revenue(e.lines)),
    # Delivery repeats the settlement's lines: a consumer that missed `settled` still counts them.
    "reception.repair_order.delivered": lambda e: _ro(e, opened_at=_iso(e.opened_at), settled_at=_iso(e.settled_at),
                                                      delivered_at=_iso(e.delivered_at), **_revenue(e.lines)),
    "reception.appointment.booked": lambda e: _appt(e),
    "reception.appointment.cancelled": lambda e: _appt(e, cancelled=True),
    "reception.appointment.no_show": lambda e: _appt(e, no_show=True),
    "reception.appointment.checked_in": lambda e: _appt(e, checked_in=True),
    "reception.roadside.resolved": lambda e: Touch(f"rsa:{e.roadside_id}", EntityKind.ROADSIDE, e.store_id, {
        "requested_at": _iso(e.requested_at), "arrived_at": _iso(e.arrived_at)}),
    "workshop.job.qc_passed": lambda e: Touch(f"job:{e.job_id}", EntityKind.JOB, e.store_id, {
        "passed_at": _iso(e.passed_at), "flat_uh": micro_hours(e.flat_rate_hours),
        "clocked_uh": micro_hours(e.clocked_hours)}),
    "workshop.reservation.backordered": lambda e: Touch(f"rsv:{e.reservation_id}", EntityKind.RESERVATION, e.store_id, {
        "backordered_at": _iso(e.backordered_at), "backordered": True}),
    "workshop.reservation.issued": _reservation_issued,
    "workshop.order.costed": _costed,
    "workshop.comeback.detected": lambda e: Touch(f"cmb:{e.comeback_id}", EntityKind.COMEBACK, e.store_id, {
        "detected_at": _iso(e.detected_at)}),
    "crm.callback.created": lambda e: _callback(e),
    "crm.callback.completed": lambda e: _callback(e, completed_at=_iso(e.completed_at), overall=e.overall),
    "crm.callback.unreachable": lambda e: _callback(e, unreachable_at=_iso(e.marked_at)),
    "crm.complaint.opened": lambda e: _complaint(e, opened_at=_iso(e.opened_at), due_at=_iso(e.due_at)),
    "crm.complaint.escalated": lambda e: _complaint(e, due_at=_iso(e.due_at)),
    "crm.complaint.closed": lambda e: _complaint(e, opened_at=_iso(e.opened_at), closed_at=_iso(e.closed_at)),
    "network.claim.submitted": lambda e: Touch(f"clm:{e.claim_id}", EntityKind.CLAIM, e.store_id, {
        f"submitted:{e.submission_count}": _iso(e.submitted_at)}),
    "network.claim.decided": _claim_decided,
}
KPI_EVENT_TYPES = tuple(EXTRACTORS)

# fact suffix -> (metric, local day, amount, the person it is credited to or None)
Facts = dict[str, tuple[Metric, date, int, str | None]]


class _Facts:
    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.out: Facts = {}

    def add(self, suffix: str, metric: Metric, moment: str | None, value: int, person: str | None = None) -> None:
        if moment is not None and value:
            self.out[suffix] = (metric, _dt(moment).astimezone(self.zone).date(), value, person)


def _repair_order(v: dict, f: _Facts) -> None:
    advisor = v.get("advisor_id")
    f.add("opened", Metric.RO_OPENED, v.get("opened_at"), 1)
    f.add("delivered", Metric.RO_DELIVERED, v.get("delivered_at"), 1, advisor)
    for pay_type, amount in (v.get("revenue") or {}).items():
        f.add(f"revenue_{pay_type}", REVENUE_METRICS[pay_type], v.get("settled_at"), amount)
    f.add("cp_labour_fen", Metric.CP_LABOUR_FEN, v.get("settled_at"), v.get("cp_labour_fen", 0))
    f.add("cp_labour_uh", Metric.CP_LABOUR_UH, v.get("settled_at"), v.get("cp_labour_uh", 0))
    f.add("labour_fen", Metric.LABOUR_FEN, v.get("settled_at"), v.get("labour_fen", 0), advisor)
    f.add("parts_fen", Metric.PARTS_FEN, v.get("settled_at"), v.get("parts_fen", 0), advisor)
    f.add("accessories_fen", Metric.ACCESSORIES_FEN, v.get("settled_at"), v.get("accessories_fen", 0), advisor)


def _margin(v: dict, f: _Facts) -> None:
    """Revenue (reception's lines, before tax) less cost (workshop's), per payer group; nothing
    until both are known. Counted on the day the order was delivered."""
    cost, revenue = v.get("cost"), v.get("revenue")
    if not cost or revenue is None:
        return
    advisor = v.get("advisor_id")
    day = v.get("delivered_at") or cost.get("delivered_at") or cost["costed_at"]
    by_payer = {group: 0 for group in MARGIN_METRICS}
    for pay_type, amount in revenue.items():
        by_payer[pay_type if pay_type in MARGIN_METRICS else "other"] += amount
    for group, amount in cost["by_payer"].items():
        by_payer[group] -= amount
    f.add("gm_orders", Metric.GM_ORDERS, day, 1, advisor)
    f.add("gm_incomplete", Metric.GM_INCOMPLETE, day, int(cost["incomplete"]), advisor)
    f.add("gm_revenue", Metric.GM_REVENUE_FEN, day, sum(revenue.values()), advisor)
    f.add("gm_cost", Metric.GM_COST_FEN, day, cost["total"], advisor)
    f.add("gm_parts_cost", Metric.GM_PARTS_COST_FEN, day, cost["parts"], advisor)
    f.add("gm_labour_cost", Metric.GM_LABOUR_COST_FEN, day, cost["labour"], advisor)
    f.add("gm_sublet_cost", Metric.GM_SUBLET_COST_FEN, day, cost["sublet"], advisor)
    for group, amount in by_payer.items():
        f.add(f"gm_{group}", MARGIN_METRICS[group], day, amount, advisor)


def _order_facts(v: dict, f: _Facts) -> None:
    _repair_order(v, f)
    _margin(v, f)


def _appointment(v: dict, f: _Facts) -> None:
    if v.get("cancelled"):
        return
    f.add("scheduled", Metric.APPT_SCHEDULED, v.get("scheduled_at"), 1)
    if v.get("checked_in"):
        f.add("checked_in", Metric.APPT_CHECKED_IN, v.get("scheduled_at"), 1)


def _roadside(v: dict, f: _Facts) -> None:
    if v.get("arrived_at") and v.get("requested_at"):
        f.add("arrival", Metric.RSA_ARRIVALS, v["arrived_at"], 1)
        f.add("response", Metric.RSA_RESPONSE_US, v["arrived_at"],
              max(0, micros(_dt(v["arrived_at"])) - micros(_dt(v["requested_at"]))))


def _job(v: dict, f: _Facts) -> None:
    f.add("flat", Metric.TECH_FLAT_UH, v.get("passed_at"), v.get("flat_uh", 0))
    f.add("clocked", Metric.TECH_CLOCKED_UH, v.get("passed_at"), v.get("clocked_uh", 0))


def _reservation(v: dict, f: _Facts) -> None:
    made = v.get("reserved_at") or v.get("backordered_at") or v.get("issued_at")
    f.add("reserved", Metric.PARTS_RESERVED, made, 1)
    if v.get("filled_from_stock") and not v.get("backordered"):
        f.add("filled", Metric.PARTS_FILLED, made, 1)


def _comeback(v: dict, f: _Facts) -> None:
    f.add("detected", Metric.COMEBACKS, v.get("detected_at"), 1)


def _callback_facts(v: dict, f: _Facts) -> None:
    due, completed = v.get("due_at"), v.get("completed_at")
    f.add("due", Metric.CB_DUE, due, 1)
    if completed:
        if due and _dt(completed) <= _dt(due):
            f.add("on_time", Metric.CB_ON_TIME, due, 1)
        f.add("reached", Metric.CB_REACHED, completed, 1)
        f.add("closed", Metric.CB_CLOSED, completed, 1)
        if v.get("overall") is not None:
            f.add("csi_sum", Metric.CSI_SUM, completed, v["overall"])
            f.add("csi_count", Metric.CSI_COUNT, completed, 1)
    elif v.get("unreachable_at"):
        f.add("closed", Metric.CB_CLOSED, v["unreachable_at"], 1)


def _complaint_facts(v: dict, f: _Facts) -> None:
    opened, closed, due = v.get("opened_at"), v.get("closed_at"), v.get("due_at")
    f.add("opened", Metric.COMPLAINTS_OPENED, opened, 1)
    f.add("closed", Metric.COMPLAINTS_CLOSED, closed, 1)
    # Overdue from its due time until it is closed; closed in time, it never was.
    if due and not (closed and _dt(closed) <= _dt(due)):
        f.add("overdue_from", Metric.COMPLAINTS_OVERDUE_FROM, due, 1)
        f.add("overdue_until", Metric.COMPLAINTS_OVERDUE_UNTIL, closed, 1)


def _claim(v: dict, f: _Facts) -> None:
    submissions = [v[k] for k in v if k.startswith("submitted:")]
    if submissions:
        f.add("submitted", Metric.CLAIMS_SUBMITTED, min(submissions, key=_dt), 1)
    for name, decision in v.items():
        if not name.startswith("decision:"):
            continue
        at = decision["decided_at"]
        f.add(f"{name}:decided", Metric.CLAIMS_DECIDED, at, 1)
        f.add(f"{name}:cycle", Metric.CLAIM_CYCLE_US, at,
              max(0, micros(_dt(at)) - micros(_dt(decision["submitted_at"]))))
        if decision["status"] in ("approved", "partially_approved"):
            f.add(f"{name}:approved", Metric.CLAIMS_APPROVED_FEN, at, decision["approved_fen"])


DERIVERS: dict[EntityKind, Callable[[dict, _Facts], None]] = {
    EntityKind.REPAIR_ORDER: _order_facts, EntityKind.APPOINTMENT: _appointment, EntityKind.ROADSIDE: _roadside,
    EntityKind.JOB: _job, EntityKind.RESERVATION: _reservation, EntityKind.COMEBACK: _comeback,
    EntityKind.CALLBACK: _callback_facts, EntityKind.COMPLAINT: _complaint_facts, EntityKind.CLAIM: _claim,
}


def derive(kind: str, values: dict, zone: ZoneInfo) -> Facts:
    facts = _Facts(zone)
    DERIVERS[EntityKind(kind)](values, facts)
    return facts.out


def merge(state: dict, fields: dict[str, Any], stamp: list) -> tuple[dict, bool]:
    """Last writer wins per field, by (event time, event id)."""
    values, stamps = dict(state.get("v", {})), dict(state.get("t", {}))
    changed = False
    for name, value in fields.items():
        previous = stamps.get(name)
        if previous is None or stamp > previous:
            if values.get(name) != value or previous is None:
                changed = True
            values[name], stamps[name] = value, stamp
    return {"v": values, "t": stamps}, changed


async def project(session: AsyncSession, event: Event, envelope: CloudEvent) -> bool:
    """Apply one event to the KPI projection; True when a figure changed."""
    extractor = EXTRACTORS.get(envelope.type)
    touch = extractor(event) if extractor else None
    if touch is None:
        return False
    stamp = [micros(envelope.time), envelope.id]
    entity = await repository.entity_for_update(session, touch.key)
    if entity is None:
        state, _ = merge({}, touch.fields, stamp)
        entity = KpiEntity(key=touch.key, kind=touch.kind, store_id=touch.store_id, state=state,
                           updated_at=envelope.time)
        session.add(entity)
        await session.flush()  # a concurrent projector of the same entity fails here and retries
    else:
        state, changed = merge(entity.state, touch.fields, stamp)
        if not changed:
            entity.state = state  # newer stamps, same values: nothing to count
            session.add(entity)
            return False
        entity.state, entity.updated_at = state, max(entity.updated_at, envelope.time)
        session.add(entity)
    zone = await repository.store_zone(session, entity.store_id)
    wanted = {f"{entity.key}:{suffix}": fact for suffix, fact in derive(entity.kind, state["v"], zone).items()}
    existing = {fact.key: fact for fact in await repository.facts_of(session, entity.key)}
    deltas: dict[tuple[str, date, str], int] = {}
    person_deltas: dict[tuple[str, date, str], int] = {}

    def bump(day: date, metric: str, amount: int, person: str | None) -> None:
        k = (entity.store_id, day, metric)
        deltas[k] = deltas.get(k, 0) + amount
        if person is not None:
            p = (person, day, metric)
            person_deltas[p] = person_deltas.get(p, 0) + amount

    for key, fact in existing.items():
        if key not in wanted:
            bump(fact.day, fact.metric, -fact.value, fact.person_id)
            await session.delete(fact)
    for key, (metric, day, value, person) in wanted.items():
        old = existing.get(key)
        if old is None:
            session.add(KpiFact(key=key, entity_key=entity.key, store_id=entity.store_id, day=day, metric=metric,
                                value=value, person_id=person))
            bump(day, metric, value, person)
        elif (old.metric, old.day, old.value, old.person_id) != (metric, day, value, person):
            bump(old.day, old.metric, -old.value, old.person_id)
            bump(day, metric, value, person)
            old.metric, old.day, old.value, old.person_id = metric, day, value, person
            session.add(old)
    deltas = {k: v for k, v in deltas.items() if v}
    person_deltas = {k: v for k, v in person_deltas.items() if v}
    if not deltas and not person_deltas:
        return False
    await session.flush()
    for (store_id, day, counter), amount in deltas.items():
        await repository.add_to_daily(session, store_id, day, counter, amount)
        note_change(session, store_id, day)
    for (person, day, counter), amount in person_deltas.items():
        await repository.add_to_person_daily(session, entity.store_id, person, day, counter, amount)
    return True
