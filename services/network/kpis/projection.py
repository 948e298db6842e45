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

from services.common.events.catalogue import crm, network, reception, workshop
from services.common.events.envelope import CloudEvent, Event
from services.network.kpis import repository
from services.network.kpis.broadcaster import note_change
from services.network.kpis.models import KpiEntity, KpiFact

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PAY_TYPES = ("customer", "warranty", "insurance", "internal", "goodwill", "first_maintenance", "campaign")
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
    REVENUE_FIRST_MAINTENANCE_FEN = "revenue_first_maintenance_fen"  # the brand pays the free first service
    REVENUE_CAMPAIGN_FEN = "revenue_campaign_fen"  # the brand pays recall and service campaign work
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
    # For the monthly appraisal of each role (services/network/appraisals), each credited to
    # the person the event names as having done the work.
    CSI_ORDER_SUM = "csi_order_sum"  # surveys of an order, kept on the order so its advisor is credited
    CSI_ORDER_COUNT = "csi_order_count"
    PROMISED_DELIVERED = "promised_delivered"  # orders delivered that had a promised time
    READY_ON_TIME = "ready_on_time"  # of them, ready by the promise (reception's `ready_on_time`)
    COUNTER_SALES = "counter_sales"  # accessories sold over the counter, credited to `sold_by`
    COUNTER_ACCESSORIES_FEN = "counter_accessories_fen"
    TECH_JOBS = "tech_jobs"  # jobs that passed quality check
    TECH_REWORKS = "tech_reworks"  # quality checks those jobs failed before they passed
    CB_CALLS = "cb_calls"  # call attempts of the callbacks closed (completed or unreachable)
    CLAIMS_FIRST_DECIDED = "claims_first_decided"  # first submissions decided for good
    CLAIMS_FIRST_APPROVED = "claims_first_approved"  # of them, approved in full or in part
    CLAIMS_REJECTED_FEN = "claims_rejected_fen"  # claimed less approved, by a claim's latest final decision
    RETURNS_SHIPPED = "returns_shipped"  # old parts shipped back to HQ
    RETURNS_ON_TIME = "returns_on_time"  # of them, shipped by their ship-by time
    # An advisor's customer base as CRM last counted it in the month: one fact per advisor and
    # month, so a month's sum is that count (not a KPI of a window of several months).
    BASE_VEHICLES = "base_vehicles"
    BASE_RETAINED = "base_retained"


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
    PART_RETURN = "part_return"
    COUNTER_SALE = "counter_sale"
    CUSTOMER_BASE = "customer_base"  # one per store, advisor and local month


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
    # A moment whose local month (in the store's zone) completes the key: one entity per month.
    month_of: str | None = None


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
                "approved_fen": e.amount_approved_fen, "claimed_fen": e.amount_claimed_fen,
                "submission": e.submission_count}
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


def _callback_completed(e: crm.CallbackCompleted) -> list[Touch]:
    touches = [_callback(e, completed_at=_iso(e.completed_at), overall=e.overall, agent=e.agent, attempts=e.attempts)]
    if e.repair_order_id and e.overall is not None:
        # The survey is also kept on the order it is about, so the order's advisor is credited with it.
        touches.append(Touch(f"ro:{e.repair_order_id}", EntityKind.REPAIR_ORDER, e.store_id, {
            f"survey:{e.callback_id}": {"at": _iso(e.completed_at), "overall": e.overall}}))
    return touches


EXTRACTORS: dict[str, Callable[[Any], Touch | list[Touch] | None]] = {
    "reception.repair_order.opened": lambda e: _ro(e, opened_at=_iso(e.opened_at)),
    "reception.repair_order.settled": lambda e: _ro(e, opened_at=_iso(e.opened_at), settled_at=_iso(e.settled_at),
                                                    **_revenue(e.lines)),
    # Delivery repeats the settlement's lines: a consumer that missed `settled` still counts them.
    "reception.repair_order.delivered": lambda e: _ro(e, opened_at=_iso(e.opened_at), settled_at=_iso(e.settled_at),
                                                      delivered_at=_iso(e.delivered_at), **_revenue(e.lines),
                                                      promised_at=_iso(e.promised_at), ready_on_time=e.ready_on_time),
    "reception.counter_sale.completed": lambda e: Touch(
        f"cs:{e.counter_sale_id}", EntityKind.COUNTER_SALE, e.store_id, {
        "completed_at": _iso(e.completed_at), "sold_by": e.sold_by.id,
        "accessories_fen": sum(line.amount_fen for line in e.lines if line.kind == "accessory")}),
    "reception.appointment.booked": lambda e: _appt(e),
    "reception.appointment.cancelled": lambda e: _appt(e, cancelled=True),
    "reception.appointment.no_show": lambda e: _appt(e, no_show=True),
    "reception.appointment.checked_in": lambda e: _appt(e, checked_in=True),
    "reception.roadside.resolved": lambda e: Touch(f"rsa:{e.roadside_id}", EntityKind.ROADSIDE, e.store_id, {
        "requested_at": _iso(e.requested_at), "arrived_at": _iso(e.arrived_at)}),
    "workshop.job.qc_passed": lambda e: Touch(f"job:{e.job_id}", EntityKind.JOB, e.store_id, {
        "passed_at": _iso(e.passed_at), "flat_uh": micro_hours(e.flat_rate_hours),
        "clocked_uh": micro_hours(e.clocked_hours), "technician_id": e.technician_id,
        "technician_person_id": e.technician_person_id, "reworks": e.rework_count}),
    "workshop.reservation.backordered": lambda e: Touch(f"rsv:{e.reservation_id}", EntityKind.RESERVATION, e.store_id, {
        "backordered_at": _iso(e.backordered_at), "backordered": True}),
    "workshop.reservation.issued": _reservation_issued,
    "workshop.order.costed": _costed,
    "workshop.comeback.detected": lambda e: Touch(f"cmb:{e.comeback_id}", EntityKind.COMEBACK, e.store_id, {
        "detected_at": _iso(e.detected_at), "technician_id": e.original_technician_id,
        "technician_person_id": e.original_technician_person_id}),
    "crm.callback.created": lambda e: _callback(e),
    "crm.callback.completed": _callback_completed,
    "crm.callback.unreachable": lambda e: _callback(e, unreachable_at=_iso(e.marked_at), marked_by=e.marked_by,
                                                    attempts=e.attempts),
    "crm.complaint.opened": lambda e: _complaint(e, opened_at=_iso(e.opened_at), due_at=_iso(e.due_at)),
    "crm.complaint.escalated": lambda e: _complaint(e, due_at=_iso(e.due_at)),
    "crm.complaint.closed": lambda e: _complaint(e, opened_at=_iso(e.opened_at), closed_at=_iso(e.closed_at),
                                                 closed_by=e.closed_by),
    "crm.customer_base.changed": lambda e: Touch(
        f"base:{e.store_id}:{e.advisor_id}", EntityKind.CUSTOMER_BASE, e.store_id, {
            "advisor_id": e.advisor_id, "counted_at": _iso(e.counted_at), "vehicles": e.vehicles,
            "retained": e.retained}, month_of=_iso(e.counted_at)),
    "network.claim.submitted": lambda e: Touch(f"clm:{e.claim_id}", EntityKind.CLAIM, e.store_id, {
        f"submitted:{e.submission_count}": _iso(e.submitted_at), f"submitter:{e.submission_count}": e.submitted_by}),
    "network.claim.decided": _claim_decided,
    "network.part_return.shipped": lambda e: Touch(f"prt:{e.part_return_id}", EntityKind.PART_RETURN, e.store_id, {
        "shipped_at": _iso(e.shipped_at), "ship_by": _iso(e.ship_by), "shipped_by": e.shipped_by}),
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
    if v.get("promised_at"):
        f.add("promised", Metric.PROMISED_DELIVERED, v.get("delivered_at"), 1, advisor)
        on_time = int(v.get("ready_on_time") is True)
        f.add("ready_on_time", Metric.READY_ON_TIME, v.get("delivered_at"), on_time, advisor)
    for name, survey in v.items():
        if name.startswith("survey:"):
            f.add(f"{name}:sum", Metric.CSI_ORDER_SUM, survey["at"], survey["overall"], advisor)
            f.add(f"{name}:count", Metric.CSI_ORDER_COUNT, survey["at"], 1, advisor)


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


def _technician(v: dict) -> str | None:
    # The staff-directory person the technician record works under, so their targets meet their
    # figures; events from before workshop named the person (or a record with nobody) keep the record id.
    return v.get("technician_person_id") or v.get("technician_id")


def _job(v: dict, f: _Facts) -> None:
    technician = _technician(v)
    f.add("flat", Metric.TECH_FLAT_UH, v.get("passed_at"), v.get("flat_uh", 0), technician)
    f.add("clocked", Metric.TECH_CLOCKED_UH, v.get("passed_at"), v.get("clocked_uh", 0), technician)
    f.add("jobs", Metric.TECH_JOBS, v.get("passed_at"), 1, technician)
    f.add("reworks", Metric.TECH_REWORKS, v.get("passed_at"), v.get("reworks") or 0, technician)


def _reservation(v: dict, f: _Facts) -> None:
    made = v.get("reserved_at") or v.get("backordered_at") or v.get("issued_at")
    f.add("reserved", Metric.PARTS_RESERVED, made, 1)
    if v.get("filled_from_stock") and not v.get("backordered"):
        f.add("filled", Metric.PARTS_FILLED, made, 1)


def _comeback(v: dict, f: _Facts) -> None:
    # The technician of the first repair, whose job came back.
    f.add("detected", Metric.COMEBACKS, v.get("detected_at"), 1, _technician(v))


def _callback_facts(v: dict, f: _Facts) -> None:
    due, completed = v.get("due_at"), v.get("completed_at")
    # The information clerk who closed it (recorded the survey, or made the last unanswered
    # attempt) is credited with it, its due date and its calls; an open callback with nobody.
    closer = v.get("agent") if completed else v.get("marked_by") if v.get("unreachable_at") else None
    f.add("due", Metric.CB_DUE, due, 1, closer)
    if completed:
        if due and _dt(completed) <= _dt(due):
            f.add("on_time", Metric.CB_ON_TIME, due, 1, closer)
        f.add("reached", Metric.CB_REACHED, completed, 1, closer)
        f.add("closed", Metric.CB_CLOSED, completed, 1, closer)
        f.add("calls", Metric.CB_CALLS, completed, v.get("attempts") or 0, closer)
        if v.get("overall") is not None:
            f.add("csi_sum", Metric.CSI_SUM, completed, v["overall"])
            f.add("csi_count", Metric.CSI_COUNT, completed, 1)
    elif v.get("unreachable_at"):
        f.add("closed", Metric.CB_CLOSED, v["unreachable_at"], 1, closer)
        f.add("calls", Metric.CB_CALLS, v["unreachable_at"], v.get("attempts") or 0, closer)


def _complaint_facts(v: dict, f: _Facts) -> None:
    opened, closed, due = v.get("opened_at"), v.get("closed_at"), v.get("due_at")
    f.add("opened", Metric.COMPLAINTS_OPENED, opened, 1)
    f.add("closed", Metric.COMPLAINTS_CLOSED, closed, 1, v.get("closed_by"))
    # Overdue from its due time until it is closed; closed in time, it never was.
    if due and not (closed and _dt(closed) <= _dt(due)):
        f.add("overdue_from", Metric.COMPLAINTS_OVERDUE_FROM, due, 1)
        f.add("overdue_until", Metric.COMPLAINTS_OVERDUE_UNTIL, closed, 1)


def _submission_of(v: dict, decision: dict) -> int | None:
    """Which submission a decision decides: the event says so; one sent before it did is
    matched by its submission time."""
    if decision.get("submission"):
        return int(decision["submission"])
    return next((int(k.split(":", 1)[1]) for k in v if k.startswith("submitted:")
                 and _dt(v[k]) == _dt(decision["submitted_at"])), None)


def _claim(v: dict, f: _Facts) -> None:
    submissions = {int(k.split(":", 1)[1]): v[k] for k in v if k.startswith("submitted:")}
    if submissions:
        first = min(submissions)
        f.add("submitted", Metric.CLAIMS_SUBMITTED, submissions[first], 1, v.get(f"submitter:{first}"))
    decisions = [(name, d) for name, d in v.items() if name.startswith("decision:")]
    for name, decision in decisions:
        at = decision["decided_at"]
        f.add(f"{name}:decided", Metric.CLAIMS_DECIDED, at, 1)
        f.add(f"{name}:cycle", Metric.CLAIM_CYCLE_US, at,
              max(0, micros(_dt(at)) - micros(_dt(decision["submitted_at"]))))
        approved = decision["status"] in ("approved", "partially_approved")
        if approved:
            f.add(f"{name}:approved", Metric.CLAIMS_APPROVED_FEN, at, decision["approved_fen"])
        # The warranty clerk's appraisal: each submission's filer answers for its decision.
        number = _submission_of(v, decision)
        filer = v.get(f"submitter:{number}") if number else None
        if number == 1:
            f.add(f"{name}:first", Metric.CLAIMS_FIRST_DECIDED, at, 1, filer)
            f.add(f"{name}:first_approved", Metric.CLAIMS_FIRST_APPROVED, at, int(approved), filer)
    last = max((d for _, d in decisions), key=lambda d: _dt(d["submitted_at"]), default=None)
    if last is not None and "claimed_fen" in last:
        # What the brand did not pay is the latest decision's cut: a rejection made good on
        # resubmission is no loss. (A decision projected before the claimed amount was kept has none.)
        number = _submission_of(v, last)
        cut = last["claimed_fen"] - last["approved_fen"]
        f.add("rejected_fen", Metric.CLAIMS_REJECTED_FEN, last["decided_at"], cut,
              v.get(f"submitter:{number}") if number else None)


def _part_return(v: dict, f: _Facts) -> None:
    shipped, ship_by = v.get("shipped_at"), v.get("ship_by")
    f.add("shipped", Metric.RETURNS_SHIPPED, shipped, 1, v.get("shipped_by"))
    if shipped and ship_by and _dt(shipped) <= _dt(ship_by):
        f.add("on_time", Metric.RETURNS_ON_TIME, shipped, 1, v.get("shipped_by"))


def _counter_sale(v: dict, f: _Facts) -> None:
    f.add("sale", Metric.COUNTER_SALES, v.get("completed_at"), 1, v.get("sold_by"))
    f.add("accessories_fen", Metric.COUNTER_ACCESSORIES_FEN, v.get("completed_at"), v.get("accessories_fen", 0),
          v.get("sold_by"))


def _customer_base(v: dict, f: _Facts) -> None:
    f.add("vehicles", Metric.BASE_VEHICLES, v.get("counted_at"), v.get("vehicles", 0), v.get("advisor_id"))
    f.add("retained", Metric.BASE_RETAINED, v.get("counted_at"), v.get("retained", 0), v.get("advisor_id"))


DERIVERS: dict[EntityKind, Callable[[dict, _Facts], None]] = {
    EntityKind.REPAIR_ORDER: _order_facts, EntityKind.APPOINTMENT: _appointment, EntityKind.ROADSIDE: _roadside,
    EntityKind.JOB: _job, EntityKind.RESERVATION: _reservation, EntityKind.COMEBACK: _comeback,
    EntityKind.CALLBACK: _callback_facts, EntityKind.COMPLAINT: _complaint_facts, EntityKind.CLAIM: _claim,
    EntityKind.PART_RETURN: _part_return, EntityKind.COUNTER_SALE: _counter_sale,
    EntityKind.CUSTOMER_BASE: _customer_base,
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
    touched = extractor(event) if extractor else None
    if touched is None:
        return False
    changed = False
    for touch in touched if isinstance(touched, list) else [touched]:
        changed = await _apply(session, touch, envelope) or changed
    return changed


async def _apply(session: AsyncSession, touch: Touch, envelope: CloudEvent) -> bool:
    stamp = [micros(envelope.time), envelope.id]
    if touch.month_of is not None:
        local = _dt(touch.month_of).astimezone(await repository.store_zone(session, touch.store_id))
        touch.key = f"{touch.key}:{local:%Y-%m}"
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
