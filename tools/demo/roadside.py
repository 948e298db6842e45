"""Roadside assistance: the call, the van, and the car towed in that becomes a repair order."""
from __future__ import annotations

import random
from datetime import date
from typing import TYPE_CHECKING

from tools.client import Api
from tools.demo.agenda import FREE
from tools.demo.catalogue import ROADSIDE_ADDRESSES, ROADSIDE_CALLS
from tools.demo.clock import GRID, HOUR, ceil_grid
from tools.demo.fleet import Vehicle
from tools.demo.records import Order
from tools.demo.summary import Tally
from tools.demo.work import Work, claimed, covered, labour, part

if TYPE_CHECKING:
    from tools.demo.store import StoreSim


class Roadside:
    def __init__(self, store: StoreSim) -> None:
        self.store = store
        self.demo = store.demo

    async def call(self, vehicle: Vehicle, day: date, rng: random.Random) -> None:
        """A customer stranded: some are helped on the phone, the others get the van."""
        store = self.store
        api = store.front_desk
        trouble = rng.choice(ROADSIDE_CALLS)
        outcome = trouble.outcome
        request = await api.post("/api/reception/v1/roadside-requests", {
            "customer": vehicle.customer.as_payload(), "vehicle": vehicle.as_payload(),
            "location": {"lat": f"{30.5 + rng.random():.6f}", "lng": f"{120.5 + rng.random():.6f}",
                         "address": rng.choice(ROADSIDE_ADDRESSES)},
            "problem": trouble.problem, "mileage_km": vehicle.mileage((day - self.demo.first_day).days)})
        self.demo.count(Tally.ROADSIDE_REQUESTS)
        path = f"/api/reception/v1/roadside-requests/{request['id']}"
        key = f"roadside:{request['id']}"
        if outcome in ("referred", "customer_cancelled"):
            notes = "locksmith partner sent" if outcome == "referred" else "customer found fuel nearby"
            await api.post(f"{path}/resolve", {"outcome": outcome, "notes": notes})
            vehicle.busy_until = None
            return
        await api.post(f"{path}/dispatch", {"responder": f"Rescue van {rng.randint(1, 2)}",
                                            "eta_minutes": rng.choice([30, 40, 45, 60])})
        store.at(self.demo.tick + rng.choice([1, 1, 2]) * GRID, "roadside arrival",
                 lambda: self.arrive(api, path, vehicle, outcome, day), FREE, key)

    async def arrive(self, api: Api, path: str, vehicle: Vehicle, outcome: str, day: date) -> None:
        """Fixed on the spot, or towed in: then reception holds a repair order for the car."""
        store = self.store
        await api.post(f"{path}/arrive", {"notes": "customer safe, car on the hard shoulder"})
        if outcome == "repaired_on_site":
            await api.post(f"{path}/resolve", {"outcome": outcome, "notes": "jump-started / wheel changed"})
            vehicle.busy_until = None
            return
        resolved = await api.post(f"{path}/resolve", {"outcome": "towed", "notes": "towed to the store",
                                                       "complaint": "Towed in: engine will not run"})
        self.demo.count(Tally.ROADSIDE_TOWED)
        index = (day - self.demo.first_day).days
        diag = "warranty" if covered(vehicle, "diagnosis", day, index) else "customer"
        pay = "warranty" if covered(vehicle, "electrical", day, index) else "customer"
        work = Work("tow_in", "repair", "Towed in: engine will not run",
                    [labour("DIAG-0100", diag), labour("ELE-0110", pay), part("XB-31500-B60", 1, pay)],
                    warning_lights=["check_engine", "battery"],
                    claim=claimed(pay, "Vehicle stranded, no start", "Battery internal short circuit",
                                  "Towed in, diagnosed, replaced battery", "XB-31500-B60"))
        order = store.new_order(vehicle, day, work=work, key=f"{store.code}:roadside:{day.isoformat()}")
        order.roadside = True
        order.id = resolved["repair_order_id"]
        store.orders[resolved["repair_order_id"]] = order
        self.demo.count(Tally.ORDERS_OPENED)
        store.at(store.work_slot(ceil_grid(self.demo.tick + GRID, HOUR)), "tow-in", lambda: self.tow_in(order),
                 FREE, order.key)

    async def tow_in(self, order: Order) -> None:
        """The towed car's walk-around on arrival, then the usual quote (by phone)."""
        reception = self.store.reception
        current = await self.store.advisor_of(order).call(
            "PUT", f"/api/reception/v1/repair-orders/{order.id}/inspection", reception.inspection(order),
            expect=(200,))
        order.number = current["number"]
        reception.write_up(order, "phone")
