"""A dealer store's fleet accounts (车队大客户) and the money they owe it (回款).

Each dealer store has two companies on contract: a logistics firm whose orders above
1,500 CNY wait for its fleet manager's yes through the approval link, and a ride-hailing
firm with a small credit limit that it keeps running into, so the service manager
overrides its credit stop. Their cars come in on alternate days, settle on account, and
the store's cashier matches the money they send against the open items: the logistics
firm pays every other day what it was invoiced before, holding back half of the newest
invoice until its driver has signed the job sheet (a partial payment); the ride-hailing
firm pays everything open the day after an override (one payment across its orders). The
store manager takes each fleet's statement on the first of the month."""
from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING

import httpx

from tools.client import ApiError, until_known
from tools.demo.agenda import DESK, FREE
from tools.demo.catalogue import MODELS, PLATE_PREFIX, VIN_CHARS
from tools.demo.fleet import Customer, Vehicle, random_name
from tools.demo.summary import Tally
from tools.demo.work import Work, labour, part

if TYPE_CHECKING:
    from tools.demo.records import Order
    from tools.demo.store import StoreSim


@dataclass(frozen=True)
class FleetTerms:
    name: str
    manager_title: str
    contract: dict
    pays: str  # "every_other_day" (half of the newest held back) or "after_override" (everything open)


FLEETS = (
    FleetTerms("顺达物流 Shunda Logistics", "车队经理 fleet manager",
               {"labour_discount_percent": "10.00", "parts_discount_percent": "5.00", "approval_limit_fen": 150000,
                "credit_limit_fen": 10000000, "payment_terms_days": 30}, "every_other_day"),
    FleetTerms("安心出行 Anxin Ride-hailing", "运营主管 operations lead",
               {"labour_discount_percent": "15.00", "parts_discount_percent": "8.00", "approval_limit_fen": 500000,
                "credit_limit_fen": 120000, "payment_terms_days": 15}, "after_override"),
)
VEHICLES_PER_FLEET = 4


@dataclass
class FleetAccount:
    number: int  # 1 or 2 within the store
    terms: FleetTerms
    manager: Customer
    vehicles: list[Vehicle]
    id: str | None = None
    manager_contact_id: str | None = None
    visits: int = 0
    # What the demo settled on account, by repair order id: (fen, the store's day, the order's key).
    on_account: dict[str, tuple[int, date, str]] = field(default_factory=dict)
    paid: dict[str, int] = field(default_factory=dict)  # by repair order id
    overridden_on: date | None = None  # the day the manager last let an order past its credit stop
    statements: dict[str, dict] = field(default_factory=dict)  # month -> the statement's totals as taken
    # Each fleet order's stay at the store by its key: (VIN, check-in day, the day it left or None).
    stays: dict[str, tuple[str, date, date | None]] = field(default_factory=dict)

    def open_fen(self, order_id: str) -> int:
        return self.on_account[order_id][0] - self.paid.get(order_id, 0)

    def owed_fen(self) -> int:
        return sum(self.open_fen(order_id) for order_id in self.on_account)

    def days_off_road(self, first: date, last: date) -> int:
        """The cars' store days between check-in and leaving (one still in counts to `last`),
        a day counted once per car however many orders it had."""
        days: dict[str, set[date]] = {}
        for vin, came, left in self.stays.values():
            day, end = max(came, first), min(left or last, last)
            while day <= end:
                days.setdefault(vin, set()).add(day)
                day += timedelta(days=1)
        return sum(len(d) for d in days.values())

    def by_month(self) -> dict[str, int]:
        months: dict[str, int] = {}
        for fen, day, _ in self.on_account.values():
            months[day.strftime("%Y-%m")] = months.get(day.strftime("%Y-%m"), 0) + fen
        return months


def fleet_work(rng: random.Random, first_of_logistics: bool) -> Work:
    """What a fleet car comes in for: mostly servicing, brakes, and now and then a set of tyres."""
    roll = rng.random()
    if first_of_logistics or roll < 0.15:
        return Work("tyres", "tyres", "Van's tyres worn to the wear bars; pulls to the left",
                    [labour("TYR-0100"), part("XB-42751-T18", 4), labour("SUS-0320")])
    if roll < 0.45:
        work = Work("fleet_brakes", "repair", "Driver reports the brakes squeal",
                    [labour("BRK-0210"), part("XB-45022-F10")])
        if rng.random() < 0.4:
            work.supplement = [labour("BRK-0310"), part("XB-45251-D20", 2)]
            work.supplement_note = "Front discs scored below minimum thickness"
        return work
    return Work("maintenance", "maintenance", "Fleet service interval reached",
                [labour("MNT-0100"), part("XB-15400-001"), part("XB-08880-430")])


class FleetDesk:
    def __init__(self, store: StoreSim) -> None:
        self.store = store
        self.demo = store.demo
        self.accounts: list[FleetAccount] = []
        self.payments = 0
        self._anonymous: httpx.AsyncClient | None = None

    def draw(self) -> None:
        """The companies and their cars, drawn from the store's own stream."""
        store = self.store
        rng = random.Random(f"{self.demo.config.seed}:{store.code}:fleets")
        prefix = PLATE_PREFIX.get(store.spec.get("city", ""), "沪")
        for number, terms in enumerate(FLEETS, start=1):
            manager = Customer(random_name(rng), f"139{store.index:02d}{number:02d}{rng.randint(0, 9999):04d}")
            vehicles = []
            for n in range(VEHICLES_PER_FLEET):
                model = rng.choice(MODELS)
                vin = "LXB" + model.vin_code + "".join(rng.choice(VIN_CHARS) for _ in range(12))
                plate = prefix + "FDK"[number] + "".join(rng.choice("0123456789") for _ in range(5))
                phone = f"137{store.index:02d}{number:02d}{n:02d}{rng.randint(0, 99):02d}"
                driver = Customer(random_name(rng) + "师傅", phone)
                age = rng.randint(300, 900)
                vehicles.append(Vehicle(vin, plate, model.name, self.demo.first_day - timedelta(days=age),
                                        int(age * 120), rng.uniform(100, 160), driver, first_service_done=True))
            self.accounts.append(FleetAccount(number, terms, manager, vehicles))

    async def open_accounts(self) -> None:
        """The store manager opens each company's account with its contract, cars and contacts."""
        store = self.store
        for account in self.accounts:
            body = {"name": f"{account.terms.name} ({store.spec.get('city', store.code)})",
                    "contract": account.terms.contract,
                    "contacts": [{"name": account.manager.name, "phone": account.manager.phone,
                                  "title": account.terms.manager_title, "approves": True}],
                    "vehicles": [{"vin": v.vin, "plate": v.plate,
                                  "driver": {"name": v.customer.name, "phone": v.customer.phone}}
                                 for v in account.vehicles]}
            fleet = await until_known(partial(store.manager.post, "/api/reception/v1/fleets", body),
                                      self.demo.config.timeout)
            account.id, account.manager_contact_id = fleet["id"], fleet["contacts"][0]["id"]
            self.demo.count(Tally.FLEET_ACCOUNTS)

    # -- the day's plan
    def plan_day(self, day_index: int, day: date) -> None:
        store, scale = self.store, self.demo.config.scale
        rng = random.Random(f"{self.demo.config.seed}:{store.code}:fleets:{day_index}")
        for account in self.accounts:
            # The two companies' cars come in on alternate days; the first visit always happens.
            if (day_index + account.number) % 2 or (account.visits and rng.random() >= min(1.0, 0.4 * scale)):
                continue
            free = [v for v in account.vehicles if v.free_on(day)]
            if not free:
                continue
            vehicle = free[account.visits % len(free)]
            work = fleet_work(rng, account.number == 1 and account.visits == 0)
            account.visits += 1
            key = f"{store.code}:fleet{account.number}:{account.visits:04d}"
            order = store.new_order(vehicle, day, work=work, key=key)
            order.fleet = account
            store.at(store.local(day, rng.randint(8, 11)), "fleet car", partial(self.check_in, order), DESK, order.key)
        for account in self.accounts:
            store.at(store.local(day, 15), f"payment from fleet {account.number}", partial(self.collect, account, day),
                     FREE, f"fleet-payment:{account.number}")
        if day.day == 1 and day_index > 0:
            month = (day - timedelta(days=1)).strftime("%Y-%m")
            store.at(store.local(day, 10), "monthly statements", partial(self.take_statements, month), FREE,
                     "fleet-statements")

    async def check_in(self, order: Order) -> None:
        await self.store.reception.check_in(order)
        assert order.fleet is not None
        order.fleet.stays[order.key] = (order.vehicle.vin, self.store.local_day(self.demo.tick), None)
        self.demo.count(Tally.FLEET_ORDERS)

    def left(self, order: Order) -> None:
        """The fleet's car left the store (handed over, or the order cancelled)."""
        if order.fleet is not None and order.key in order.fleet.stays:
            vin, came, _ = order.fleet.stays[order.key]
            order.fleet.stays[order.key] = (vin, came, self.store.local_day(self.demo.tick))

    # -- the fleet's side of an order
    async def fleet_approves(self, order: Order) -> None:
        """The order is above the fleet's approval limit: the advisor sends the fleet manager
        the approval link (an SMS), and the manager approves through it, without a key."""
        account = order.fleet
        assert account is not None and order.id is not None
        path = f"/api/reception/v1/repair-orders/{order.id}"
        link = await self.store.advisor_of(order).post(f"{path}/fleet-approval-link",
                                                       {"contact_id": account.manager_contact_id})
        await self.anonymous_post(f"{path}/fleet-approval", {"token": link["token"], "note": "同意维修 approved"})
        self.demo.count(Tally.FLEET_LINK_APPROVALS)

    async def anonymous_post(self, path: str, body: dict) -> dict:
        """What the fleet manager's phone sends: no key, from the manager's own address."""
        if self._anonymous is None:
            self._anonymous = self.demo.client(f"127.0.0.{60 + self.store.index}")
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        for _ in range(12):
            response = await self._anonymous.post(path, json=body, headers=headers)
            if response.status_code == 429:
                await asyncio.sleep(min(float(response.headers.get("Retry-After", "1")), 5.0))
                continue
            if response.status_code != 200:
                raise ApiError("POST", path, response.status_code, response.text)
            return response.json()
        raise ApiError("POST", path, 429, "the fleet manager's link kept being refused")

    async def override(self, order: Order) -> None:
        """The fleet is at its credit limit: the service manager lets this order go ahead."""
        await self.store.manager.post(f"/api/reception/v1/repair-orders/{order.id}/credit-override",
                                      {"reason": "车队已承诺本周付款 the fleet promised payment this week"})
        if order.fleet is not None:
            order.fleet.overridden_on = self.store.local_day(self.demo.tick)
        self.demo.count(Tally.CREDIT_OVERRIDES)

    def on_account(self, order: Order, amount_fen: int) -> None:
        account = order.fleet
        assert account is not None and order.id is not None
        account.on_account[order.id] = (amount_fen, self.store.local_day(self.demo.tick), order.key)
        self.demo.count(Tally.ON_ACCOUNT_FEN, amount_fen)

    # -- money received
    async def collect(self, account: FleetAccount, day: date) -> None:
        """The fleet's bank transfer arrives; the cashier matches it to the items it pays."""
        index = (day - self.demo.first_day).days
        if account.terms.pays == "every_other_day":
            if index == 0 or index % 2:
                return
        elif account.overridden_on is None or account.overridden_on >= day:
            return
        due = sorted((entry[1], entry[2], order_id) for order_id, entry in account.on_account.items()
                     if entry[1] < day and account.open_fen(order_id) > 0)
        if not due:
            return
        amounts = {order_id: account.open_fen(order_id) for _, _, order_id in due}
        if account.terms.pays == "every_other_day":
            newest = due[-1][2]
            amounts[newest] = max(1, amounts[newest] // 2)
        cashier = self.store.keys["cashier"]
        listed = await cashier.get("/api/reception/v1/receivables", payer_kind="fleet", payer_id=account.id)
        items = {item["source_id"]: item["id"] for item in listed["items"]}
        self.payments += 1
        total = sum(amounts.values())
        await cashier.post("/api/reception/v1/receivables/payments", {
            "payer_kind": "fleet", "payer_id": account.id, "amount_fen": total, "received_on": day.isoformat(),
            "method": "bank_transfer", "reference": f"{self.store.code}-F{account.number}-{day:%Y%m%d}",
            "allocations": [{"receivable_id": items[order_id], "amount_fen": fen}
                            for order_id, fen in amounts.items()]})
        for order_id, fen in amounts.items():
            account.paid[order_id] = account.paid.get(order_id, 0) + fen
        account.overridden_on = None
        self.demo.count(Tally.FLEET_PAYMENTS)
        self.demo.count(Tally.FLEET_PAID_FEN, total)
        if len(amounts) > 1:
            self.demo.count(Tally.PAYMENTS_ACROSS_ORDERS)
        if any(account.open_fen(order_id) for order_id in amounts):
            self.demo.count(Tally.PARTIAL_PAYMENTS)

    async def take_statements(self, month: str) -> None:
        for account in self.accounts:
            statement = await self.store.manager.get(f"/api/reception/v1/fleets/{account.id}/statements/{month}")
            account.statements[month] = statement["totals"]
            self.demo.count(Tally.FLEET_STATEMENTS)

    async def figures(self, first_day: date, last_day: date) -> list[dict]:
        """Each fleet as the platform answers it at the end, beside what the demo made: the
        balance, what the ledger holds open, and every month's statement."""
        months = sorted({(first_day + timedelta(days=d)).strftime("%Y-%m")
                         for d in range((last_day - first_day).days + 1)})
        out = []
        for account in self.accounts:
            if account.id is None:
                continue
            fleet = await self.demo.hq_api.get(f"/api/reception/v1/fleets/{account.id}")
            ledger = await self.demo.hq_api.get("/api/reception/v1/receivables", payer_kind="fleet",
                                                payer_id=account.id)
            uptime = await self.demo.hq_api.get(f"/api/reception/v1/fleets/{account.id}/uptime",
                                                **{"from": first_day.isoformat(), "to": last_day.isoformat()})
            statements = {m: (await self.demo.hq_api.get(
                f"/api/reception/v1/fleets/{account.id}/statements/{m}"))["totals"] for m in months}
            out.append({"store": self.store.code, "fleet_id": account.id, "name": fleet["name"],
                        "balance_fen": fleet["balance_fen"], "credit_stop": fleet["credit_stop"],
                        "ledger_open_fen": ledger["open_fen"], "statements": statements,
                        "uptime": uptime["totals"],
                        "demo": {"owed_fen": account.owed_fen(), "by_month": account.by_month(),
                                 "orders": len(account.on_account),
                                 "days_off_road": account.days_off_road(first_day, last_day)}})
        return out
