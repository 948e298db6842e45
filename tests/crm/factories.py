"""Reception's events as CRM receives them, with sensible defaults: one call per fact."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from services.common.events.catalogue import network as nw
from services.common.events.catalogue import reception as rx
from services.common.events.envelope import CloudEvent
from services.common.ids import new_id
from tests.support.events import envelope_for

_numbers = itertools.count(1)


def person(name: str = "王先生", phone: str = "13800138000") -> rx.Customer:
    return rx.Customer(name=name, phone=phone)


def car(vin: str = "LSVAA4182E2100001", sold_at: date | None = date(2025, 1, 10), plate: str = "沪A12345",
        model: str = "Lavida") -> rx.Vehicle:
    return rx.Vehicle(vin=vin, plate=plate, model=model, sold_at=sold_at)


def advisor(advisor_id: str = "advisor-li") -> rx.Principal:
    return rx.Principal(id=advisor_id, name="李顾问", role="service_advisor")


def labour(op_code: str = "MNT-0100", description: str = "periodic maintenance", hours: str = "1.0",
           amount_fen: int = 30000, pay_type: str = "customer") -> rx.RepairOrderLine:
    return rx.RepairOrderLine(line_id=new_id(), kind="labor", op_code=op_code, description=description,
                              quantity=hours, unit_price_fen=amount_fen, amount_fen=amount_fen, pay_type=pay_type)


def part(part_no: str = "P-OIL-5W30", description: str = "engine oil 5W-30", quantity: str = "4",
         unit_price_fen: int = 8000, pay_type: str = "customer") -> rx.RepairOrderLine:
    return rx.RepairOrderLine(line_id=new_id(), kind="part", part_no=part_no, description=description,
                              quantity=quantity, unit_price_fen=unit_price_fen,
                              amount_fen=unit_price_fen * int(quantity), pay_type=pay_type)


def delivered(store_id: str, delivered_at: datetime, *, repair_order_id: str | None = None,
              customer: rx.Customer | None = None, vehicle: rx.Vehicle | None = None, advisor_id: str = "advisor-li",
              mileage_km: int = 12000, lines: list[rx.RepairOrderLine] | None = None,
              opened_at: datetime | None = None) -> CloudEvent:
    ro_id = repair_order_id or new_id()
    lines = lines if lines is not None else [labour(), part()]
    subtotal = sum(line.amount_fen for line in lines if line.pay_type == "customer")
    tax = subtotal * 13 // 100
    opened = opened_at or delivered_at - timedelta(hours=5)
    event = rx.RepairOrderDelivered(
        repair_order_id=ro_id, number=f"RO-{next(_numbers):05d}", store_id=store_id, customer=customer or person(),
        vehicle=vehicle or car(), mileage_km=mileage_km, advisor=advisor(advisor_id), delivered_by=advisor_id,
        opened_at=opened, settled_at=delivered_at - timedelta(minutes=20), delivered_at=delivered_at, lines=lines,
        totals=rx.Totals(customer_fen=subtotal, tax_fen=tax, customer_due_fen=subtotal + tax),
    )
    return envelope_for(event, subject=ro_id, store_id=store_id, time=delivered_at)


def opened(store_id: str, opened_at: datetime, *, repair_order_id: str | None = None,
           customer: rx.Customer | None = None, vehicle: rx.Vehicle | None = None, mileage_km: int = 12000,
           appointment_id: str | None = None, advisor_id: str = "advisor-li") -> CloudEvent:
    ro_id = repair_order_id or new_id()
    event = rx.RepairOrderOpened(
        repair_order_id=ro_id, number=f"RO-{next(_numbers):05d}", store_id=store_id, appointment_id=appointment_id,
        customer=customer or person(), vehicle=vehicle or car(), mileage_km=mileage_km, complaint="maintenance",
        advisor=advisor(advisor_id), opened_at=opened_at,
    )
    return envelope_for(event, subject=ro_id, store_id=store_id, time=opened_at)


def cancelled_order(store_id: str, repair_order_id: str, at: datetime) -> CloudEvent:
    event = rx.RepairOrderCancelled(repair_order_id=repair_order_id, number="RO-X", store_id=store_id,
                                    previous_status="open", cancelled_at=at)
    return envelope_for(event, subject=repair_order_id, store_id=store_id, time=at)


def _appointment(cls, store_id: str, at: datetime, scheduled_at: datetime, appointment_id: str | None,
                 customer: rx.Customer | None, vehicle: rx.Vehicle | None, **extra) -> CloudEvent:
    aid = appointment_id or new_id()
    event = cls(appointment_id=aid, store_id=store_id, customer=customer or person(), vehicle=vehicle or car(),
                service_type="maintenance", scheduled_at=scheduled_at, **extra)
    return envelope_for(event, subject=aid, store_id=store_id, time=at)


def booked(store_id: str, booked_at: datetime, *, scheduled_at: datetime | None = None,
           appointment_id: str | None = None, customer: rx.Customer | None = None,
           vehicle: rx.Vehicle | None = None) -> CloudEvent:
    return _appointment(rx.AppointmentBooked, store_id, booked_at, scheduled_at or booked_at + timedelta(days=3),
                        appointment_id, customer, vehicle, booked_at=booked_at)


def booking_cancelled(store_id: str, at: datetime, appointment_id: str, scheduled_at: datetime, **kw) -> CloudEvent:
    return _appointment(rx.AppointmentCancelled, store_id, at, scheduled_at, appointment_id, kw.get("customer"),
                        kw.get("vehicle"), cancelled_at=at)


def no_show(store_id: str, at: datetime, appointment_id: str, scheduled_at: datetime, **kw) -> CloudEvent:
    return _appointment(rx.AppointmentNoShow, store_id, at, scheduled_at, appointment_id, kw.get("customer"),
                        kw.get("vehicle"), marked_at=at)


def checked_in(store_id: str, at: datetime, appointment_id: str, scheduled_at: datetime, **kw) -> CloudEvent:
    return _appointment(rx.AppointmentCheckedIn, store_id, at, scheduled_at, appointment_id, kw.get("customer"),
                        kw.get("vehicle"), repair_order_id=new_id(), checked_in_at=at)


# --- network's staff directory, as its person events tell CRM --------------------------

def _staff(cls, person_id: str, at: datetime, store_ids: list[str], status: str, hq_role: str | None,
           **fields) -> CloudEvent:
    event = cls(person_id=person_id, employee_no=f"E-{person_id[-6:].upper()}", name="周敏", status=status,
                assignments=[nw.PersonAssignment(store_id=s, role="crm_agent") for s in store_ids], hq_role=hq_role,
                **fields)
    return envelope_for(event, subject=person_id, store_id=None, time=at)


def staff_registered(person_id: str, at: datetime, store_ids: list[str], hq_role: str | None = None) -> CloudEvent:
    return _staff(nw.PersonRegistered, person_id, at, store_ids, "active", hq_role, registered_by="hq-admin",
                  registered_at=at)


def staff_reassigned(person_id: str, at: datetime, store_ids: list[str]) -> CloudEvent:
    return _staff(nw.PersonAssignmentsChanged, person_id, at, store_ids, "active", None, reason="moved",
                  changed_by="hq-admin", changed_at=at)


def staff_left(person_id: str, at: datetime, store_ids: list[str]) -> CloudEvent:
    return _staff(nw.PersonLeft, person_id, at, store_ids, "left", None, left_on=at.date(), recorded_by="hq-admin",
                  left_at=at)
