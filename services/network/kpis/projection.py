"""From events to KPI facts.

Each event that feeds a KPI touches one entity (`appt:<id>`, `ro:<id>`, ...) and sets some
of its fields. Every field keeps the (time, id) of the event that set it and only a later
event overwrites it, so the entity's state does not depend on how often or in which order
events arrive; a live consumer and a rebuild may even apply the same events at once.
From the state, a pure function derives the entity's facts (metric, store, local day,
integer amount); the difference to the facts stored before is applied to the per-store
daily figures. Amounts are integers: counts, fen, microseconds, micro-hours."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.events.catalogue import crm, network, reception, workshop
from services.common.events.envelope import CloudEvent, Event
from services.network.kpis import repository
from services.network.kpis.broadcaster import note_change
from services.network.kpis.models import KpiEntity, KpiFact

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
PAY_TYPES = ("customer", "warranty", "insurance", "internal", "goodwill")
FINAL_DECISIONS = ("approved", "partially_approved", "rejected")
MICRO = Decimal(1_000_000)

# Counters summed over the window's days.
WINDOW_METRICS = (
    "ro_opened", "ro_delivered", *(f"revenue_{p}_fen" for p in PAY_TYPES), "cp_labour_fen", "cp_labour_uh",
    "appt_scheduled", "appt_checked_in", "comebacks", "cb_due", "cb_on_time", "csi_sum", "csi_count", "cb_reached",
    "cb_closed", "claims_submitted", "claims_decided", "claims_approved_fen", "claim_cycle_us", "parts_reserved",
    "parts_filled", "rsa_arrivals", "rsa_response_us", "tech_flat_uh", "tech_clocked_uh",
)
# Counters summed over every day up to the window's end (states at the end of the window).
SNAPSHOT_METRICS = ("complaints_opened", "complaints_closed", "complaints_overdue_from", "complaints_overdue_until")


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def micro_hours(text: str | None) -> int:
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        return 0
    return int((value * MICRO).quantize(Decimal(1), ROUND_HALF_UP)) if value.is_finite() else 0


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass
class Touch:
    key: str
    kind: str
    store_id: str
    fields: dict[str, Any]


def _revenue(lines: list[reception.RepairOrderLine]) -> dict[str, Any]:
    revenue = {p: 0 for p in PAY_TYPES}
    labour_fen = labour_uh = 0
    for line in lines:
        revenue[line.pay_type] += line.amount_fen
        if line.kind == "labor" and line.pay_type == "customer":
            labour_fen += line.amount_fen
            labour_uh += micro_hours(line.quantity)
    return {"revenue": revenue, "cp_labour_fen": labour_fen, "cp_labour_uh": labour_uh}


def _ro(e, **fields) -> Touch:
    return Touch(f"ro:{e.repair_order_id}", "repair_order", e.store_id, fields)


def _appt(e, **fields) -> Touch:
    return Touch(f"appt:{e.appointment_id}", "appointment", e.store_id, {"scheduled_at": _iso(e.scheduled_at), **fields})


def _callback(e, **fields) -> Touch:
    return Touch(f"cb:{e.callback_id}", "callback", e.store_id, {"due_at": _iso(e.due_at), **fields})


def _complaint(e, **fields) -> Touch:
    return Touch(f"cmp:{e.complaint_id}", "complaint", e.store_id, fields)


def _claim_decided(e: network.ClaimDecided) -> Touch | None:
    if e.status not in FINAL_DECISIONS:
        return None  # a first approval awaiting the second is not a decision yet
    decision = {"submitted_at": _iso(e.submitted_at), "decided_at": _iso(e.decided_at), "status": e.status,
                "approved_fen": e.amount_approved_fen}
    return Touch(f"clm:{e.claim_id}", "claim", e.store_id, {f"decision:{micros(e.submitted_at)}": decision})


def _reservation_issued(e: workshop.ReservationIssued) -> Touch:
    return Touch(f"rsv:{e.reservation_id}", "reservation", e.store_id, {
        "issued_at": _iso(e.issued_at), "reserved_at": _iso(e.reserved_at), "filled_from_stock": e.filled_from_stock})


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
    "reception.roadside.resolved": lambda e: Touch(f"rsa:{e.roadside_id}", "roadside", e.store_id, {
        "requested_at": _iso(e.requested_at), "arrived_at": _iso(e.arrived_at)}),
    "workshop.job.qc_passed": lambda e: Touch(f"job:{e.job_id}", "job", e.store_id, {
        "passed_at": _iso(e.passed_at), "flat_uh": micro_hours(e.flat_rate_hours), "clocked_uh": micro_hours(e.clocked_hours)}),
    "workshop.reservation.backordered": lambda e: Touch(f"rsv:{e.reservation_id}", "reservation", e.store_id, {
        "backordered_at": _iso(e.backordered_at), "backordered": True}),
    "workshop.reservation.issued": _reservation_issued,
    "workshop.comeback.detected": lambda e: Touch(f"cmb:{e.comeback_id}", "comeback", e.store_id, {
        "detected_at": _iso(e.detected_at)}),
    "crm.callback.created": lambda e: _callback(e),
    "crm.callback.completed": lambda e: _callback(e, completed_at=_iso(e.completed_at), overall=e.overall),
    "crm.callback.unreachable": lambda e: _callback(e, unreachable_at=_iso(e.marked_at)),
    "crm.complaint.opened": lambda e: _complaint(e, opened_at=_iso(e.opened_at), due_at=_iso(e.due_at)),
    "crm.complaint.escalated": lambda e: _complaint(e, due_at=_iso(e.due_at)),
    "crm.complaint.closed": lambda e: _complaint(e, opened_at=_iso(e.opened_at), closed_at=_iso(e.closed_at)),
    "network.claim.submitted": lambda e: Touch(f"clm:{e.claim_id}", "claim", e.store_id, {
        f"submitted:{e.submission_count}": _iso(e.submitted_at)}),
    "network.claim.decided": _claim_decided,
}
KPI_EVENT_TYPES = tuple(EXTRACTORS)

Facts = dict[str, tuple[str, date, int]]  # fact suffix -> (metric, local day, amount)


class _Facts:
    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.out: Facts = {}

    def add(self, suffix: str, metric: str, moment: str | None, value: int) -> None:
        if moment is not None and value:
            self.out[suffix] = (metric, _dt(moment).astimezone(self.zone).date(), value)


def _repair_order(v: dict, f: _Facts) -> None:
    f.add("opened", "ro_opened", v.get("opened_at"), 1)
    f.add("delivered", "ro_delivered", v.get("delivered_at"), 1)
    for pay_type, amount in (v.get("revenue") or {}).items():
        f.add(f"revenue_{pay_type}", f"revenue_{pay_type}_fen", v.get("settled_at"), amount)
    f.add("cp_labour_fen", "cp_labour_fen", v.get("settled_at"), v.get("cp_labour_fen", 0))
    f.add("cp_labour_uh", "cp_labour_uh", v.get("settled_at"), v.get("cp_labour_uh", 0))


def _appointment(v: dict, f: _Facts) -> None:
    if v.get("cancelled"):
        return
    f.add("scheduled", "appt_scheduled", v.get("scheduled_at"), 1)
    if v.get("checked_in"):
        f.add("checked_in", "appt_checked_in", v.get("scheduled_at"), 1)


def _roadside(v: dict, f: _Facts) -> None:
    if v.get("arrived_at") and v.get("requested_at"):
        f.add("arrival", "rsa_arrivals", v["arrived_at"], 1)
        f.add("response", "rsa_response_us", v["arrived_at"],
              max(0, micros(_dt(v["arrived_at"])) - micros(_dt(v["requested_at"]))))


def _job(v: dict, f: _Facts) -> None:
    f.add("flat", "tech_flat_uh", v.get("passed_at"), v.get("flat_uh", 0))
    f.add("clocked", "tech_clocked_uh", v.get("passed_at"), v.get("clocked_uh", 0))


def _reservation(v: dict, f: _Facts) -> None:
    made = v.get("reserved_at") or v.get("backordered_at") or v.get("issued_at")
    f.add("reserved", "parts_reserved", made, 1)
    if v.get("filled_from_stock") and not v.get("backordered"):
        f.add("filled", "parts_filled", made, 1)


def _comeback(v: dict, f: _Facts) -> None:
    f.add("detected", "comebacks", v.get("detected_at"), 1)


def _callback_facts(v: dict, f: _Facts) -> None:
    due, completed = v.get("due_at"), v.get("completed_at")
    f.add("due", "cb_due", due, 1)
    if completed:
        if due and _dt(completed) <= _dt(due):
            f.add("on_time", "cb_on_time", due, 1)
        f.add("reached", "cb_reached", completed, 1)
        f.add("closed", "cb_closed", completed, 1)
        if v.get("overall") is not None:
            f.add("csi_sum", "csi_sum", completed, v["overall"])
            f.add("csi_count", "csi_count", completed, 1)
    elif v.get("unreachable_at"):
        f.add("closed", "cb_closed", v["unreachable_at"], 1)


def _complaint_facts(v: dict, f: _Facts) -> None:
    opened, closed, due = v.get("opened_at"), v.get("closed_at"), v.get("due_at")
    f.add("opened", "complaints_opened", opened, 1)
    f.add("closed", "complaints_closed", closed, 1)
    # Overdue from its due time until it is closed; closed in time, it never was.
    if due and not (closed and _dt(closed) <= _dt(due)):
        f.add("overdue_from", "complaints_overdue_from", due, 1)
        f.add("overdue_until", "complaints_overdue_until", closed, 1)


def _claim(v: dict, f: _Facts) -> None:
    submissions = [v[k] for k in v if k.startswith("submitted:")]
    if submissions:
        f.add("submitted", "claims_submitted", min(submissions, key=lambda s: _dt(s)), 1)
    for name, decision in v.items():
        if not name.startswith("decision:"):
            continue
        at = decision["decided_at"]
        f.add(f"{name}:decided", "claims_decided", at, 1)
        f.add(f"{name}:cycle", "claim_cycle_us", at,
              max(0, micros(_dt(at)) - micros(_dt(decision["submitted_at"]))))
        if decision["status"] in ("approved", "partially_approved"):
            f.add(f"{name}:approved", "claims_approved_fen", at, decision["approved_fen"])


DERIVERS: dict[str, Callable[[dict, _Facts], None]] = {
    "repair_order": _repair_order, "appointment": _appointment, "roadside": _roadside, "job": _job,
    "reservation": _reservation, "comeback": _comeback, "callback": _callback_facts, "complaint": _complaint_facts,
    "claim": _claim,
}


def derive(kind: str, values: dict, zone: ZoneInfo) -> Facts:
    facts = _Facts(zone)
    DERIVERS[kind](values, facts)
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
        entity = KpiEntity(key=touch.key, kind=touch.kind, store_id=touch.store_id, state=state, updated_at=envelope.time)
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

    def bump(day: date, metric: str, amount: int) -> None:
        k = (entity.store_id, day, metric)
        deltas[k] = deltas.get(k, 0) + amount

    for key, fact in existing.items():
        if key not in wanted:
            bump(fact.day, fact.metric, -fact.value)
            await session.delete(fact)
    for key, (metric, day, value) in wanted.items():
        old = existing.get(key)
        if old is None:
            session.add(KpiFact(key=key, entity_key=entity.key, store_id=entity.store_id, day=day, metric=metric, value=value))
            bump(day, metric, value)
        elif (old.metric, old.day, old.value) != (metric, day, value):
            bump(old.day, old.metric, -old.value)
            bump(day, metric, value)
            old.metric, old.day, old.value = metric, day, value
            session.add(old)
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return False
    await session.flush()
    for (store_id, day, metric), amount in deltas.items():
        await repository.add_to_daily(session, store_id, day, metric, amount)
        note_change(session, store_id, day)
    return True
