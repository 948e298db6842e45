"""Targets: HQ sets each dealer store's year before the replay, the store's manager splits
it into months; at the end, the attainment of the last month replayed."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.demo.runner import Demo
    from tools.demo.store import StoreSim

# What a delivered order brings in the demo's catalogue, roughly, in fen; the targets ask a
# little more than the store's pace gives, so attainment sits around and below 100 %.
LABOUR_PER_ORDER_FEN = 30_000
PARTS_PER_ORDER_FEN = 50_000
STRETCH = 1.05
RATES = {"csi": 4500, "callback_sla": 900, "first_time_fix": 970}


def _year(store: StoreSim) -> dict[str, int]:
    orders = round(store.rate * 365 * STRETCH)
    return {"repair_orders": orders, "labour_revenue_fen": orders * LABOUR_PER_ORDER_FEN,
            "parts_revenue_fen": orders * PARTS_PER_ORDER_FEN, **RATES}


def _months(year: dict[str, int]) -> list[dict]:
    """Even months, the remainder in December, so the twelve add up to the year."""
    additive = ("repair_orders", "labour_revenue_fen", "parts_revenue_fen")
    months = [{"month": m, **{k: year[k] // 12 for k in additive}} for m in range(1, 13)]
    for k in additive:
        months[11][k] += year[k] - year[k] // 12 * 12
    return months


async def set_targets(demo: Demo, first_day: date, last_day: date) -> None:
    for store in (s for s in demo.stores if not s.outlet and s.id):
        year = _year(store)
        for y in range(first_day.year, last_day.year + 1):
            await demo.hq_api.call("PUT", f"/api/network/v1/stores/{store.id}/targets/{y}", year)
            await store.keys["store_manager"].call("PUT", f"/api/network/v1/stores/{store.id}/targets/{y}/months",
                                                   {"months": _months(year)})


async def attainment(demo: Demo, period: str) -> dict:
    return await demo.hq_api.get("/api/network/v1/targets/attainment", period=period)
