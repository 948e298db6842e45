"""Request bodies and events for reception tests, built by factories rather than copied dicts."""
from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from services.common.events.catalogue.workshop import RepairOrderReady, RepairOrderWorkStarted
from services.common.events.envelope import CloudEvent
from tests.support.events import envelope_for

_serial = itertools.count(1)


def vin(n: int | None = None) -> str:
    """A well-formed VIN (17 characters, no I, O or Q), different on every call."""
    return f"LSVAU2180N{(n if n is not None else next(_serial)):07d}"


def customer(**over: Any) -> dict:
    return {"name": "Zhang Wei", "phone": "13800138000", **over}


def vehicle(**over: Any) -> dict:
    return {"vin": vin(), "plate": "沪A12345", "model": "Sedan 2.0T", "sold_at": "2025-03-15", **over}


def inspection(**over: Any) -> dict:
    return {
        "fuel_level": "half",
        "exterior_damage": [{"position": "rear_bumper", "kind": "scratch", "note": "10 cm, left side"}],
        "warning_lights": ["tyre_pressure"],
        "valuables": ["sunglasses"],
        "notes": "customer waits in the lounge",
        **over,
    }


def appointment(scheduled_at: datetime, **over: Any) -> dict:
    return {"customer": customer(), "vehicle": vehicle(), "service_type": "maintenance",
            "scheduled_at": scheduled_at.isoformat(), "note": "oil change", **over}


def check_in(**over: Any) -> dict:
    body = {"mileage_km": 12000, "complaint": "squeal from the front brakes", "inspection": inspection(), **over}
    if "appointment_id" not in body:
        body.setdefault("customer", customer())
        body.setdefault("vehicle", vehicle())
    return body


def labour(op_code: str = "BRK-0210", **over: Any) -> dict:
    return {"kind": "labor", "op_code": op_code, **over}


def part(part_no: str = "XB-45022-F10", **over: Any) -> dict:
    return {"kind": "part", "part_no": part_no, **over}


def roadside(**over: Any) -> dict:
    return {"customer": customer(), "vehicle": vehicle(),
            "location": {"lat": "31.230416", "lng": "121.473701", "address": "Yan'an Elevated Rd, km 12"},
            "problem": "engine stalled, will not restart", **over}


def work_started(order: dict, at: datetime) -> CloudEvent:
    return envelope_for(RepairOrderWorkStarted(repair_order_id=order["id"], store_id=order["store_id"], started_at=at),
                        subject=order["id"], store_id=order["store_id"], time=at)


def ready(order: dict, at: datetime) -> CloudEvent:
    return envelope_for(RepairOrderReady(repair_order_id=order["id"], store_id=order["store_id"], ready_at=at, jobs=1,
                                         clocked_hours="1.2", flat_rate_hours="1.0"),
                        subject=order["id"], store_id=order["store_id"], time=at)
