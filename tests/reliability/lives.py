"""The car lives both fault drills send: a customer-paid service, and on every
`WARRANTY_EVERY`-th car a battery under warranty, claimed once the drill is over."""
from __future__ import annotations

from tools.client import OrderPlan

WARRANTY_EVERY = 3


def life(n: int, *, vin_prefix: str, phone_prefix: str) -> OrderPlan:
    """Car `n` of a drill; each drill has its own VIN and phone prefixes, so their cars never meet."""
    labour = [("MNT-0100", "customer")]
    parts = [("XB-15400-001", 1, "customer")]
    if n % WARRANTY_EVERY == 0:
        labour.append(("ELE-0110", "warranty"))
        parts.append(("XB-31500-B60", 1, "warranty"))
    return OrderPlan(vin=f"{vin_prefix}{n:012d}", phone=f"{phone_prefix}{n:08d}", sold_at="2025-03-01",
                     mileage_km=10000 + n, labour=labour, parts=parts)
