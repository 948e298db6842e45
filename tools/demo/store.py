"""A store of the network as the demo lives it: who works there, its customers, its
day's plan and its half hour. The work itself is done by its desks: reception, the
workshop, the parts counter, roadside, the callback desk, complaints and warranty."""
from __future__ import annotations

import asyncio
import math
import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx

from tools.client import Api
from tools.demo.accounts import FleetDesk
from tools.demo.agenda import DESK, FREE, Actor, Planned
from tools.demo.bodyshop import Assessor, SubletDesk
from tools.demo.claims import WarrantyDesk
from tools.demo.clock import GRID, local_time
from tools.demo.crm import CallbackDesk, ComplaintDesk
from tools.demo.fate import Fate
from tools.demo.fleet import CustomerBase, Vehicle
from tools.demo.parts import PartsCounter
from tools.demo.reception import Reception
from tools.demo.records import Advisor, ComplaintOwner, Order
from tools.demo.roadside import Roadside
from tools.demo.sales import NewCarSales
from tools.demo.work import Work, choose_work
from tools.demo.workshop import Workshop

if TYPE_CHECKING:
    from tools.demo.runner import Demo

# Repair orders a store opens on an ordinary day at --scale 1 (appointments and walk-ins).
DEALER_ORDERS_PER_DAY = 1.5
# Of a dealer's, about so many are fleet cars (accounts.py: each of two fleets every other day,
# with a chance of 0.4 x scale) and accident repairs (bodyshop.py: every third day, 0.5 x scale);
# the private customers bring the rest, so the volume (and the demo's run time) stays as it was.
FLEET_AND_ACCIDENT_ORDERS_PER_DAY = 0.55
OUTLET_ORDERS_PER_DAY = 0.6
# New cars a dealer store sells on an ordinary day at --scale 1 (partner outlets sell none).
SALES_PER_DAY = 0.5


def poisson(rng: random.Random, lam: float) -> int:
    """How many of something happen in a day, drawn from the story's own stream (Knuth's
    method: a library's sampler would draw from another generator and change the story)."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class StoreSim(Actor):
    def __init__(self, demo: Demo, index: int, spec: dict) -> None:
        super().__init__(demo)
        self.index, self.spec = index, spec
        self.code = self.name = spec["code"]
        self.outlet = spec["kind"] == "partner_outlet"
        self.zone = ZoneInfo(spec.get("timezone") or "Asia/Shanghai")
        seed = demo.config.seed
        # Store quality colours the surveys and audits: one dealer lags behind, as in any group.
        self.quality = 0.72 if (not self.outlet and index == 2) else random.Random(
            f"{seed}:{self.code}:store").uniform(0.86, 0.97)
        self.rate = demo.config.scale * (OUTLET_ORDERS_PER_DAY if self.outlet
                                         else DEALER_ORDERS_PER_DAY - FLEET_AND_ACCIDENT_ORDERS_PER_DAY)
        self.id: str | None = None
        self.operating = False
        self.http: httpx.AsyncClient | None = None
        self.keys: dict[str, Api] = {}
        self.principals: dict[str, str] = {}
        self.advisors: list[Advisor] = []
        self.customers = CustomerBase()
        self.orders: dict[str, Order] = {}  # by the platform's id
        self.order_seq = 0
        self.reception = Reception(self)
        self.workshop = Workshop(self)
        self.parts = PartsCounter(self)
        self.roadside = Roadside(self)
        self.callbacks = CallbackDesk(self)
        self.complaints = ComplaintDesk(self)
        self.warranty = WarrantyDesk(self)
        self.sales = NewCarSales(self)
        self.fleets = FleetDesk(self)
        self.assessor = Assessor(self)
        self.sublets = SubletDesk(self)

    # -- a half hour in the store
    async def run_due(self, tick: datetime) -> None:
        self.running = True
        lanes: dict[str, list[Planned]] = defaultdict(list)
        for planned in self.agenda.pop(tick, []):
            lanes[planned.lane].append(planned)
        await asyncio.gather(*(self.run_lane(lane, lanes[lane]) for lane in sorted(lanes)))
        calls = self.workshop.plan_bays()
        await asyncio.gather(self.demo.all(f"{self.code}: assignments", calls), self.reception.send_approvals())
        if self.workshop.approving:
            self.at(tick + GRID, "take approved orders in", self.workshop.take_in, FREE, "~take-in")

    async def run_lane(self, lane: str, entries: list[Planned]) -> None:
        entries.sort(key=lambda p: (p.step, p.key, p.what, p.seq))
        if lane == FREE:
            await asyncio.gather(*(self.demo.attempt(f"{self.code}: {p.what}", p.action) for p in entries))
        else:
            for planned in entries:
                await self.demo.attempt(f"{self.code}: {planned.what}", planned.action)

    # -- who does what. An outlet's own system does everything with its one key; HQ's
    #    customer care centre makes its callbacks, since outlets only read CRM.
    @property
    def manager(self) -> Api:
        return self.keys["outlet_api"] if self.outlet else self.keys["store_manager"]

    @property
    def parts_clerk(self) -> Api:
        return self.keys["outlet_api"] if self.outlet else self.keys["parts_clerk"]

    @property
    def front_desk(self) -> Api:
        """Who answers the phone when the store as a whole is called."""
        return self.keys["outlet_api"] if self.outlet else self.advisors[0].api

    @property
    def callback_desk(self) -> Api:
        return self.demo.hq_care if self.outlet else self.keys["crm_agent"]

    @property
    def complaint_owner(self) -> ComplaintOwner:
        if self.outlet:
            return ComplaintOwner(self.demo.hq_care, self.demo.hq_care_id)
        return ComplaintOwner(self.keys["store_manager"], self.principals["store_manager"])

    def for_desk(self) -> dict:
        """HQ's care centre names the outlet it acts for; a store's own staff need not."""
        return {"store_id": self.id} if self.outlet else {}

    def advisor_of(self, order: Order) -> Api:
        if self.outlet:
            return self.keys["outlet_api"]
        return self.advisors[order.advisor % len(self.advisors)].api

    def advisor_name_of(self, order: Order) -> str:
        return "front desk" if self.outlet else self.advisors[order.advisor % len(self.advisors)].name

    # -- the store's time
    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return local_time(self.zone, day, hour, minute)

    def local_day(self, t: datetime) -> date:
        return t.astimezone(self.zone).date()

    def work_slot(self, t: datetime) -> datetime:
        """The next moment the workshop is open (08:00-19:00)."""
        local = t.astimezone(self.zone)
        if local.hour < 8:
            return self.local(local.date(), 8)
        if local.hour >= 19:
            return self.local(local.date() + timedelta(days=1), 8)
        return t

    # -- the customer base
    def draw_customers(self, count: int, first_day: date) -> None:
        self.customers = CustomerBase.draw(random.Random(f"{self.demo.config.seed}:{self.code}:vehicles"),
                                           count=count, store_index=self.index, city=self.spec.get("city", ""),
                                           first_day=first_day)

    def new_order(self, vehicle: Vehicle, day: date, *, work: Work | None = None, key: str | None = None) -> Order:
        """The order's own random stream and fate are fixed here, when it is planned."""
        if key is None:
            self.order_seq += 1
            key = f"{self.code}:{self.order_seq:06d}"
        rng = random.Random(f"{self.demo.config.seed}:{key}")
        day_index = (day - self.demo.first_day).days
        chosen = work or choose_work(rng, vehicle, day, day_index, self.demo.features.claim_kinds)
        fate = Fate.draw(rng, self.quality)
        vehicle.busy_until = day + timedelta(days=14)  # until handover
        return Order(key, vehicle, chosen, fate, rng, day_index, advisor=rng.randrange(2))

    # -- the day's plan
    def plan_day(self, day_index: int, day: date) -> None:
        if not self.operating:
            return
        seed = self.demo.config.seed
        rng = random.Random(f"{seed}:{self.code}:day:{day_index}")
        rate = self.rate * (1.15 if day.weekday() >= 5 else 1.0)
        # Customers phone in bookings for the coming days; others just drive in.
        for _ in range(poisson(rng, rate * 0.7)):
            self.reception.plan_booking(rng, day, ahead=rng.randint(1, 6))
        # Owners of cars in the recall answer the letter and book.
        for _ in range(poisson(rng, rate * 0.1)):
            recalled = self.customers.pick_recalled(rng, day)
            if recalled:
                self.reception.plan_booking(rng, day, ahead=rng.randint(1, 6), vehicle=recalled)
        for _ in range(poisson(rng, rate * 0.3)):
            vehicle = self.customers.pick(rng, day)
            if vehicle:
                order = self.new_order(vehicle, day)
                self.at(self.local(day, rng.randint(8, 15)), "walk-in",
                        partial(self.reception.check_in, order, walk_in=True), DESK, order.key)
        if rng.random() < min(0.5, 0.06 * self.demo.config.scale * (0.5 if self.outlet else 1)):
            stranded = self.customers.pick(rng, day)
            if stranded:
                stranded.busy_until = day + timedelta(days=10)
                roadside_rng = random.Random(f"{seed}:{self.code}:{day_index}:roadside")
                self.at(self.local(day, rng.randint(7, 20)), "roadside",
                        partial(self.roadside.call, stranded, day, roadside_rng), FREE, f"roadside:{day_index}")
        if rng.random() < 1 / 35:
            complaint_rng = random.Random(f"{seed}:{self.code}:{day_index}:complaint")
            self.at(self.local(day, rng.randint(9, 16)), "manual complaint",
                    partial(self.complaints.phoned_in, complaint_rng), FREE, f"complaint:{day_index}")
        if not self.outlet:
            self.fleets.plan_day(day_index, day)
            self.assessor.plan_day(day_index, day)
            sales = random.Random(f"{seed}:{self.code}:sales:{day_index}")
            for _ in range(poisson(sales, SALES_PER_DAY * self.demo.config.scale * (1.6 if day.weekday() >= 5 else 1))):
                self.sales.sell(sales, day_index, day)
        self.at(self.local(day, 10), "send reminders", self.callbacks.send_reminders, FREE, "reminders")
        self.at(self.local(day, 17), "reorder parts", lambda: self.parts.reorder(day), DESK, "reorder")
        self.at(self.local(day, 21), "the day's callbacks", self.callbacks.collect, FREE, "callbacks")
