"""Factories for network's tests: request bodies, and the events other services (and
network itself) publish, built from the shared catalogue."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from services.common.events.catalogue import crm, network, reception, workshop
from services.common.events.envelope import CloudEvent, Event
from services.common.ids import new_id
from tests.support.events import envelope_for

T0 = datetime(2026, 12, 10, 2, 0, tzinfo=timezone.utc)


def application_body(**overrides: Any) -> dict:
    body = {
        "company_name": "Kunshan Quick Fix Auto Service Co., Ltd.",
        "license_no": f"91320583MA{new_id()[-8:].upper()}",
        "contact": {"name": "Wang Lei", "phone": "+86 138 0000 1234", "email": "wang.lei@example.cn"},
        "address": {"province": "Jiangsu", "city": "Kunshan", "line": "88 Qianjin Road"},
        "bays": 6,
        "technicians": 9,
        "certifications": ["ASE", "Brand level 1"],
        "requested_services": ["maintenance", "brakes", "electrical"],
    }
    body.update(overrides)
    return body


def store_body(code: str | None = None, kind: str = "dealer_store", timezone_name: str = "Asia/Shanghai") -> dict:
    return {"code": code or f"S-{new_id()[-6:].upper()}", "name": "Test store", "kind": kind, "region": "East",
            "city": "Shanghai", "timezone": timezone_name}


def person_body(assignments: list[tuple[str, str]], **overrides: Any) -> dict:
    """A staff member with a role in each (store id, role) given; a fresh employee number."""
    body = {"name": "Zhang Wei", "phone": "13912345678", "employee_no": f"E-{new_id()[-8:].upper()}",
            "assignments": [{"store_id": store_id, "role": role} for store_id, role in assignments]}
    body.update(overrides)
    return body


# ---- repair order lines -------------------------------------------------------------

def labour(op_code: str, hours: str, unit_price_fen: int = 26000, pay_type: str = "warranty", **kw) -> dict:
    from decimal import Decimal

    amount = int(Decimal(hours) * unit_price_fen)
    return {"line_id": kw.pop("line_id", new_id()), "kind": "labor", "op_code": op_code, "description": op_code,
            "quantity": hours, "unit_price_fen": unit_price_fen, "amount_fen": amount, "pay_type": pay_type, **kw}


def part(part_no: str, quantity: int, unit_price_fen: int, pay_type: str = "warranty", **kw) -> dict:
    return {"line_id": kw.pop("line_id", new_id()), "kind": "part", "part_no": part_no, "description": part_no,
            "quantity": str(quantity), "unit_price_fen": unit_price_fen, "amount_fen": quantity * unit_price_fen,
            "pay_type": pay_type, **kw}


def fee(amount_fen: int, pay_type: str = "warranty") -> dict:
    return {"line_id": new_id(), "kind": "fee", "description": "environmental fee", "quantity": "1",
            "unit_price_fen": amount_fen, "amount_fen": amount_fen, "pay_type": pay_type}


def _totals(lines: list[dict]) -> dict:
    totals = {f"{p}_fen": 0 for p in ("customer", "warranty", "insurance", "internal", "goodwill")}
    for line in lines:
        totals[f"{line['pay_type']}_fen"] += line["amount_fen"]
    totals["customer_due_fen"] = totals["customer_fen"]
    return totals


def _order_common(store_id: str, repair_order_id: str | None, vin: str, sold_at: date | None, mileage_km: int,
                  number: str | None) -> dict:
    rid = repair_order_id or new_id()
    return dict(repair_order_id=rid, number=number or f"RO-{rid[-6:]}", store_id=store_id,
                customer={"name": "Li Na", "phone": "13900001111"},
                vehicle={"vin": vin, "plate": "沪A12345", "model": "Sedan X", "sold_at": sold_at},
                mileage_km=mileage_km, advisor={"id": "advisor-1", "name": "Zhang", "role": "service_advisor"})


def order_settled(store_id: str, lines: list[dict], *, repair_order_id: str | None = None, vin: str = "LSVAB4180E2100001",
                  sold_at: date | None = date(2025, 6, 1), mileage_km: int = 20000, opened_at: datetime | None = None,
                  settled_at: datetime | None = None, number: str | None = None) -> CloudEvent:
    settled_at = settled_at or T0 - timedelta(days=2)
    opened_at = opened_at or settled_at - timedelta(hours=6)
    common = _order_common(store_id, repair_order_id, vin, sold_at, mileage_km, number)
    event = reception.RepairOrderSettled(**common, opened_at=opened_at, settled_at=settled_at, invoice_no="INV-1",
                                         lines=lines, totals=_totals(lines),
                                         payments=[{"method": "card", "amount_fen": _totals(lines)["customer_due_fen"]}])
    return envelope_for(event, subject=common["repair_order_id"], store_id=store_id, time=settled_at)


def order_delivered(store_id: str, lines: list[dict], *, repair_order_id: str, delivered_at: datetime,
                    settled_at: datetime, opened_at: datetime, vin: str = "LSVAB4180E2100001",
                    sold_at: date | None = date(2025, 6, 1), mileage_km: int = 20000) -> CloudEvent:
    common = _order_common(store_id, repair_order_id, vin, sold_at, mileage_km, None)
    event = reception.RepairOrderDelivered(**common, delivered_by="advisor-1", opened_at=opened_at,
                                           settled_at=settled_at, delivered_at=delivered_at, lines=lines,
                                           totals=_totals(lines))
    return envelope_for(event, subject=repair_order_id, store_id=store_id, time=delivered_at)


def order_opened(store_id: str, *, repair_order_id: str, opened_at: datetime) -> CloudEvent:
    common = _order_common(store_id, repair_order_id, "LSVAB4180E2100001", None, 20000, None)
    event = reception.RepairOrderOpened(**common, complaint="noise", opened_at=opened_at)
    return envelope_for(event, subject=repair_order_id, store_id=store_id, time=opened_at)


# ---- everything else the KPIs read --------------------------------------------------

def _appointment(cls, store_id: str, appointment_id: str, scheduled_at: datetime, at: datetime, **fields) -> CloudEvent:
    event = cls(appointment_id=appointment_id, store_id=store_id, customer={"name": "Li Na", "phone": "13900001111"},
                vehicle={"vin": "LSVAB4180E2100001"}, service_type="maintenance", scheduled_at=scheduled_at, **fields)
    return envelope_for(event, subject=appointment_id, store_id=store_id, time=at)


def appointment_booked(store_id, appointment_id, scheduled_at, at):
    return _appointment(reception.AppointmentBooked, store_id, appointment_id, scheduled_at, at, booked_at=at)


def appointment_cancelled(store_id, appointment_id, scheduled_at, at):
    return _appointment(reception.AppointmentCancelled, store_id, appointment_id, scheduled_at, at, cancelled_at=at)


def appointment_no_show(store_id, appointment_id, scheduled_at, at):
    return _appointment(reception.AppointmentNoShow, store_id, appointment_id, scheduled_at, at, marked_at=at)


def appointment_checked_in(store_id, appointment_id, scheduled_at, at):
    return _appointment(reception.AppointmentCheckedIn, store_id, appointment_id, scheduled_at, at,
                        repair_order_id=new_id(), checked_in_at=at)


def roadside_resolved(store_id, roadside_id, requested_at, arrived_at, resolved_at):
    event = reception.RoadsideResolved(roadside_id=roadside_id, store_id=store_id, outcome="towed",
                                       requested_at=requested_at, dispatched_at=requested_at, arrived_at=arrived_at,
                                       resolved_at=resolved_at)
    return envelope_for(event, subject=roadside_id, store_id=store_id, time=resolved_at)


def job_qc_passed(store_id, job_id, passed_at, flat_rate_hours: str, clocked_hours: str):
    event = workshop.JobQcPassed(job_id=job_id, store_id=store_id, repair_order_id=new_id(), line_id=new_id(),
                                 op_code="BRK-0500", inspector="qc-1", flat_rate_hours=flat_rate_hours,
                                 clocked_hours=clocked_hours, passed_at=passed_at)
    return envelope_for(event, subject=job_id, store_id=store_id, time=passed_at)


def reservation_backordered(store_id, reservation_id, at):
    event = workshop.ReservationBackordered(reservation_id=reservation_id, store_id=store_id, repair_order_id=new_id(),
                                            part_no="XB-57450-S01", quantity=1, short_quantity=1, backordered_at=at)
    return envelope_for(event, subject=reservation_id, store_id=store_id, time=at)


def reservation_issued(store_id, reservation_id, reserved_at, issued_at, filled_from_stock: bool = True):
    event = workshop.ReservationIssued(reservation_id=reservation_id, store_id=store_id, repair_order_id=new_id(),
                                       part_no="XB-57450-S01", quantity=1, filled_from_stock=filled_from_stock,
                                       reserved_at=reserved_at, issued_at=issued_at)
    return envelope_for(event, subject=reservation_id, store_id=store_id, time=issued_at)


def comeback_detected(store_id, comeback_id, at):
    event = workshop.ComebackDetected(comeback_id=comeback_id, store_id=store_id, vin="LSVAB4180E2100001",
                                      op_code="BRK-0500", repair_order_id=new_id(), original_repair_order_id=new_id(),
                                      original_delivered_at=at - timedelta(days=10), detected_at=at)
    return envelope_for(event, subject=comeback_id, store_id=store_id, time=at)


def callback_created(store_id, callback_id, due_at, at):
    event = crm.CallbackCreated(callback_id=callback_id, store_id=store_id, kind="first", due_at=due_at, created_at=at)
    return envelope_for(event, subject=callback_id, store_id=store_id, time=at)


def callback_completed(store_id, callback_id, due_at, completed_at, overall: int | None = 5):
    event = crm.CallbackCompleted(callback_id=callback_id, store_id=store_id, kind="first", due_at=due_at,
                                  completed_at=completed_at, agent="agent-1", on_time=completed_at <= due_at,
                                  answers={"q1": overall or 3}, overall=overall, attempts=1)
    return envelope_for(event, subject=callback_id, store_id=store_id, time=completed_at)


def callback_unreachable(store_id, callback_id, due_at, marked_at):
    event = crm.CallbackUnreachable(callback_id=callback_id, store_id=store_id, kind="first", due_at=due_at,
                                    attempts=3, marked_at=marked_at)
    return envelope_for(event, subject=callback_id, store_id=store_id, time=marked_at)


def complaint_opened(store_id, complaint_id, opened_at, due_at):
    event = crm.ComplaintOpened(complaint_id=complaint_id, store_id=store_id, department="service", severity="major",
                                source="manual", due_at=due_at, opened_at=opened_at)
    return envelope_for(event, subject=complaint_id, store_id=store_id, time=opened_at)


def complaint_escalated(store_id, complaint_id, due_at, at):
    event = crm.ComplaintEscalated(complaint_id=complaint_id, store_id=store_id, department="service",
                                   severity="major", reason="overdue", due_at=due_at, escalated_at=at)
    return envelope_for(event, subject=complaint_id, store_id=store_id, time=at)


def complaint_closed(store_id, complaint_id, opened_at, closed_at):
    event = crm.ComplaintClosed(complaint_id=complaint_id, store_id=store_id, department="service", severity="major",
                                resolution="fixed", opened_at=opened_at, closed_at=closed_at)
    return envelope_for(event, subject=complaint_id, store_id=store_id, time=closed_at)


def claim_submitted(store_id, claim_id, submitted_at, amount_fen: int = 50000, submission_count: int = 1):
    event = network.ClaimSubmitted(claim_id=claim_id, store_id=store_id, repair_order_id=new_id(),
                                   amount_claimed_fen=amount_fen, submission_count=submission_count,
                                   precheck_passed=True, submitted_at=submitted_at)
    return envelope_for(event, subject=claim_id, store_id=store_id, time=submitted_at)


def claim_decided(store_id, claim_id, status, submitted_at, decided_at, claimed_fen=50000, approved_fen=50000):
    event = network.ClaimDecided(claim_id=claim_id, store_id=store_id, repair_order_id=new_id(), status=status,
                                 amount_claimed_fen=claimed_fen, amount_approved_fen=approved_fen, decided_by="hq-1",
                                 submitted_at=submitted_at, decided_at=decided_at,
                                 reason_code="R06" if status == "rejected" else None)
    return envelope_for(event, subject=claim_id, store_id=store_id, time=decided_at)


def store_event(cls: type[Event], store_id: str, at: datetime, **fields) -> CloudEvent:
    event = cls(store_id=store_id, code="SH-PD-01", name="Store", kind="dealer_store", status=fields.pop("status", "active"),
                **fields)
    return envelope_for(event, subject=store_id, store_id=store_id, time=at)
