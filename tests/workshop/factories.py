"""Factories for reception's events as the workshop receives them, and small helpers for
reading what the workshop wrote to its outbox."""
from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from typing import Any

from sqlmodel import select

from services.common.events.catalogue.reception import (
    Customer, Principal, RepairOrderApproved, RepairOrderCancelled, RepairOrderDelivered, RepairOrderLine,
    RepairOrderOpened, RepairOrderPromiseMoved, Vehicle,
)
from services.common.events.envelope import CloudEvent
from services.common.ids import new_id
from services.common.tables import OutboxMessage
from tests.support.events import envelope_for
from tests.support.platform import Caller, identity

_numbers = itertools.count(1)


def labor(op_code: str = "BRK-0210", *, line_id: str | None = None, pay_type: str = "customer",
          flat_rate_hours: str | None = None, quantity: str = "1.0", supplement: bool = False) -> RepairOrderLine:
    return RepairOrderLine(line_id=line_id or new_id(), kind="labor", op_code=op_code, description=f"labour {op_code}",
                           quantity=quantity, unit_price_fen=30000, amount_fen=30000, pay_type=pay_type,
                           flat_rate_hours=flat_rate_hours, supplement=supplement)


def part(part_no: str = "XB-45022-F10", quantity: str = "1", *, line_id: str | None = None,
         pay_type: str = "customer") -> RepairOrderLine:
    return RepairOrderLine(line_id=line_id or new_id(), kind="part", part_no=part_no, description=f"part {part_no}",
                           quantity=quantity, unit_price_fen=68000, amount_fen=68000, pay_type=pay_type)


def fee(description: str = "environmental fee") -> RepairOrderLine:
    return RepairOrderLine(line_id=new_id(), kind="fee", description=description, quantity="1", unit_price_fen=2000,
                           amount_fen=2000, pay_type="customer")


def sublet(description: str = "windscreen replaced by Huaxin Glass", *, amount_fen: int = 52000,
           pay_type: str = "customer") -> RepairOrderLine:
    return RepairOrderLine(line_id=new_id(), kind="sublet", description=description, quantity="1",
                           unit_price_fen=amount_fen, amount_fen=amount_fen, pay_type=pay_type)


def vehicle(vin: str = "LSVAB4BR1NN000001") -> Vehicle:
    return Vehicle(vin=vin, plate="沪A12345", model="Sedan X")


def approved(store_id: str, lines: list[RepairOrderLine], *, repair_order_id: str | None = None,
             vin: str = "LSVAB4BR1NN000001", approved_at: datetime | None = None, supplement: bool = False,
             number: str | None = None, promised_at: datetime | None = None) -> CloudEvent:
    order_id = repair_order_id or new_id()
    when = approved_at or datetime.now(timezone.utc)
    # promised_at goes in as reception sends it: a field the catalogue may not declare yet.
    promise = {"promised_at": promised_at} if promised_at else {}
    event = RepairOrderApproved(
        repair_order_id=order_id, number=number or f"SH-20260302-{next(_numbers):04d}", store_id=store_id,
        customer=Customer(name="Wang Fang", phone="13800000000"), vehicle=vehicle(vin), mileage_km=42000,
        advisor=Principal(id="advisor-1", name="Advisor Zhao", role="service_advisor"), approved_by="Wang Fang",
        channel="in_person", approved_at=when, supplement=supplement, lines=lines, **promise,
    )
    return envelope_for(event, subject=order_id, store_id=store_id, time=when)


def opened(store_id: str, *, repair_order_id: str | None = None, opened_at: datetime,
           vin: str = "LSVAB4BR1NN000001", number: str | None = None) -> CloudEvent:
    order_id = repair_order_id or new_id()
    event = RepairOrderOpened(
        repair_order_id=order_id, number=number or f"SH-20260302-{next(_numbers):04d}", store_id=store_id,
        customer=Customer(name="Wang Fang", phone="13800000000"), vehicle=vehicle(vin), mileage_km=42000,
        complaint="brakes squeal", advisor=Principal(id="advisor-1", name="Advisor Zhao", role="service_advisor"),
        opened_at=opened_at,
    )
    return envelope_for(event, subject=order_id, store_id=store_id, time=opened_at)


def promise_moved(store_id: str, repair_order_id: str, *, promised_at: datetime, moved_at: datetime) -> CloudEvent:
    event = RepairOrderPromiseMoved(repair_order_id=repair_order_id, number="SH-X", store_id=store_id,
                                    promised_at=promised_at, moved_at=moved_at, reason="parts arrive tomorrow")
    return envelope_for(event, subject=repair_order_id, store_id=store_id, time=moved_at)


def cancelled(store_id: str, repair_order_id: str, *, when: datetime | None = None) -> CloudEvent:
    when = when or datetime.now(timezone.utc)
    event = RepairOrderCancelled(repair_order_id=repair_order_id, number="SH-X", store_id=store_id,
                                 previous_status="approved", cancelled_at=when, reason="customer withdrew")
    return envelope_for(event, subject=repair_order_id, store_id=store_id, time=when)


def delivered(store_id: str, repair_order_id: str, lines: list[RepairOrderLine], *, vin: str = "LSVAB4BR1NN000001",
              delivered_at: datetime, number: str = "SH-20260302-0001") -> CloudEvent:
    event = RepairOrderDelivered(
        repair_order_id=repair_order_id, number=number, store_id=store_id,
        customer=Customer(name="Wang Fang", phone="13800000000"), vehicle=vehicle(vin), mileage_km=42000,
        advisor=Principal(id="advisor-1", name="Advisor Zhao", role="service_advisor"), delivered_by="advisor-1",
        opened_at=delivered_at, settled_at=delivered_at, delivered_at=delivered_at, lines=lines, totals={},
    )
    return envelope_for(event, subject=repair_order_id, store_id=store_id, time=delivered_at)


async def outbox(app, event_type: str | None = None, subject: str | None = None) -> list[dict[str, Any]]:
    """Envelopes the service has written to its outbox, oldest first."""
    async with app.state.db.transaction() as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if event_type:
            stmt = stmt.where(OutboxMessage.event_type == event_type)
        if subject:
            stmt = stmt.where(OutboxMessage.key == subject)
        rows = (await session.exec(stmt)).all()
    return [json.loads(r.payload) for r in rows]


async def put(caller: Caller, url: str, json_body: Any) -> Any:
    headers = identity(caller.role, caller.store_id, caller.principal_id)
    return await caller.client.put(url, json=json_body, headers=headers)
