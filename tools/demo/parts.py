"""The parts counter: opening stock and reorder points, parts issued to the cars, the
evening reorder and the deliveries that fill backorders first in, first out."""
from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta
from typing import TYPE_CHECKING

from tools.client import until_known
from tools.demo.agenda import DESK
from tools.demo.catalogue import STOCK
from tools.demo.records import Order
from tools.demo.summary import Tally

if TYPE_CHECKING:
    from tools.demo.store import StoreSim


class PartsCounter:
    def __init__(self, store: StoreSim) -> None:
        self.store = store
        self.demo = store.demo

    async def stock_shelves(self) -> None:
        """Opening stock and the reorder policy; an outlet keeps half a dealer's shelf."""
        store, config = self.store, self.demo.config
        factor = max(1.0, config.scale) * (0.5 if store.outlet else 1.0)
        lines = [{"part_no": part_no, "qty": max(1, int(stock.opening * factor))} for part_no, stock in STOCK.items()]
        await until_known(lambda: store.parts_clerk.post("/api/workshop/v1/stock/receipts", {
            "reference": f"OPENING-{store.code}", "lines": lines}), config.timeout)
        for part_no, stock in STOCK.items():
            if stock.reorder_point is not None and stock.reorder_quantity is not None:
                await store.parts_clerk.call("PUT", f"/api/workshop/v1/stock/{part_no}/reorder-policy", {
                    "reorder_point": max(1, int(stock.reorder_point * factor)),
                    "reorder_quantity": max(1, int(stock.reorder_quantity * factor))}, expect=(200,))

    async def issue(self, order: Order) -> None:
        """Every reserved part of the order goes to the car."""
        ready = [r for r, status in order.reservations.items() if status == "reserved"]
        await asyncio.gather(*(self.store.parts_clerk.post(f"/api/workshop/v1/reservations/{r}/issue") for r in ready))
        for reservation_id in ready:
            order.reservations[reservation_id] = "issued"
        self.store.workshop.maybe_ready(order)

    async def reorder(self, day: date) -> None:
        """The evening run: what the reorder suggestions say, delivered two days later,
        now and then in two parts."""
        store = self.store
        await store.workshop.take_in()
        suggestions = await store.parts_clerk.get("/api/workshop/v1/reorder-suggestions")
        lines = [{"part_no": s["part_no"], "qty": s["suggested_quantity"]} for s in suggestions["items"]
                 if s["suggested_quantity"] > 0]
        if not lines:
            return
        lines.sort(key=lambda line: line["part_no"])
        po = await store.parts_clerk.post("/api/workshop/v1/purchase-orders",
                                          {"supplier": "brand", "lines": lines, "note": "daily replenishment"})
        self.demo.count(Tally.PURCHASE_ORDERS)
        key = f"po:{po['number']}"
        if len(lines) > 1 and random.Random(f"{self.demo.config.seed}:{key}").random() < 0.15:
            half = len(lines) // 2
            store.at(store.local(day + timedelta(days=2), 9), "receive part of a delivery",
                     lambda: self.receive(po, lines[:half], "DN-A"), DESK, key)
            store.at(store.local(day + timedelta(days=3), 9), "receive the rest of a delivery",
                     lambda: self.receive(po, lines[half:], "DN-B"), DESK, key)
        else:
            store.at(store.local(day + timedelta(days=2), 9), "receive delivery",
                     lambda: self.receive(po, lines, "DN"), DESK, key)

    async def receive(self, po: dict, lines: list[dict], ref: str) -> None:
        """A delivery fills backorders first in, first out; their cars can be worked."""
        store, workshop = self.store, self.store.workshop
        await workshop.take_in()
        answer = await store.parts_clerk.post(f"/api/workshop/v1/purchase-orders/{po['id']}/receive",
                                              {"reference": f"{ref}-{po['number']}", "lines": lines})
        self.demo.count(Tally.DELIVERIES_RECEIVED)
        filled = {workshop.by_reservation[r].key: workshop.by_reservation[r]
                  for r in answer["receipt"].get("filled_reservations", []) if r in workshop.by_reservation}
        for order_key in sorted(filled):
            order = filled[order_key]
            view = await store.manager.get(f"/api/workshop/v1/repair-orders/{order.id}")
            workshop.learn(order, view)
            if order.backordered():
                continue
            if not order.dispatched:
                await self.demo.all(f"{store.code}: dispatch {order.label}", workshop.dispatch(order))
            elif order.started:
                await self.issue(order)
