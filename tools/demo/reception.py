"""Reception's part of a car's life: the appointment book, check-in with the walk-around,
the write-up and the customer's yes, settlement and handover, and the comebacks."""
from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any

from tools.client import ApiError, until_known, wait_for
from tools.demo.agenda import DESK, FREE
from tools.demo.catalogue import INSURERS, SURNAMES
from tools.demo.clock import GRID, HOUR, ceil_grid
from tools.demo.fleet import Vehicle
from tools.demo.records import Approval, Order
from tools.demo.summary import Tally
from tools.demo.work import Work, recall_work

if TYPE_CHECKING:
    from tools.demo.store import StoreSim

# Faults that bring a car back when the fix did not hold.
COMEBACK_PRONE = ("front_brakes", "rear_brakes", "check_engine", "abs_sensor", "shocks")


def refusal_rule(refused: ApiError) -> str | None:
    """The rule a 409 names: what the call waits for."""
    if refused.status != 409 or not isinstance(refused.body, dict):
        return None
    return refused.body.get("rule")


class BookingFate(StrEnum):
    SHOW = "show"
    CANCEL = "cancel"
    NO_SHOW = "no_show"


class Reception:
    def __init__(self, store: StoreSim) -> None:
        self.store = store
        self.demo = store.demo
        self.capacity = 4  # bookings per hour; read from reception when the store opens
        self.booked: Counter[datetime] = Counter()
        self.to_approve: list[Approval] = []
        self.delivered_today: list[Order] = []  # for the evening's callback planning
        self.delivered_on: dict[date, list[Order]] = {}

    async def read_capacity(self) -> None:
        """How many bookings an hour the store takes (reception's setting)."""
        api = self.store.front_desk
        answer = await until_known(lambda: api.get("/api/reception/v1/appointments/availability",
                                                    date=self.demo.first_day.isoformat()), self.demo.config.timeout)
        self.capacity = min((slot["capacity"] for slot in answer["slots"]), default=self.capacity)

    async def waive_sign_off(self) -> None:
        """A partner outlet has no service manager on the platform to sign off high-value
        orders (its one key is its own system's), so HQ turns the rule off for it and
        follows its big jobs through the warranty claims instead (docs/reception.md)."""
        await self.demo.hq_api.call("PUT", f"/api/reception/v1/stores/{self.store.id}/settings",
                                    {"high_value_sign_off": False})

    # -- the appointment book
    def plan_booking(self, rng: random.Random, day: date, ahead: int, vehicle: Vehicle | None = None) -> None:
        """The advisor keeps the appointment book: an hour with room, the asked-for one or
        the next. Kept here as well as in reception, so bookings need not queue at the desk.
        A car in the recall comes for it (`vehicle`); the others are drawn from the customers."""
        store = self.store
        on = day + timedelta(days=ahead)
        recalled = vehicle is not None and vehicle.recall_due is not None
        if vehicle is None:
            vehicle = store.customers.pick(rng, on)
        hour = rng.choice([8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 15, 16])
        fate = rng.choices([BookingFate.SHOW, BookingFate.CANCEL, BookingFate.NO_SHOW], [85, 8, 7])[0]
        when = store.local(day, rng.randint(9, 17))
        slots = [store.local(on, 8 + (hour - 8 + offset) % 9) for offset in range(9)]
        slot = next((s for s in slots if self.booked[s] < self.capacity), None)
        if vehicle is None or slot is None:
            return
        self.booked[slot] += 1
        work = None
        if recalled:
            work, vehicle.recall_due = recall_work(vehicle.recall_due or ""), None
        order = store.new_order(vehicle, on, work=work)
        store.at(when, "book", lambda: self.book(order, slot, fate), FREE, order.key)

    async def book(self, order: Order, slot: datetime, fate: BookingFate) -> None:
        store = self.store
        body = {"customer": order.customer.as_payload(), "vehicle": order.vehicle.as_payload(),
                "service_type": order.work.service_type, "note": order.work.complaint,
                "scheduled_at": slot.isoformat()}
        appointment = await store.advisor_of(order).post("/api/reception/v1/appointments", body)
        self.demo.count(Tally.APPOINTMENTS_BOOKED)
        order.appointment_id = appointment["id"]
        on = store.local_day(slot)
        if fate == BookingFate.CANCEL:
            store.at(slot - timedelta(hours=16), "cancel appointment", lambda: self.cancel_appointment(order),
                     FREE, order.key)
        elif fate == BookingFate.NO_SHOW:
            store.at(store.local(on, 19), "no-show", lambda: self.no_show(order), FREE, order.key)
        else:
            store.at(slot + order.rng.choice([0, 0, 1]) * HOUR, "check in", lambda: self.check_in(order),
                     DESK, order.key)

    async def cancel_appointment(self, order: Order) -> None:
        await self.store.advisor_of(order).post(f"/api/reception/v1/appointments/{order.appointment_id}/cancel",
                                                {"reason": "customer rescheduled by phone"})
        order.vehicle.busy_until = None
        self.demo.count(Tally.APPOINTMENTS_CANCELLED)

    async def no_show(self, order: Order) -> None:
        await self.store.advisor_of(order).post(f"/api/reception/v1/appointments/{order.appointment_id}/no-show")
        order.vehicle.busy_until = None
        self.demo.count(Tally.NO_SHOWS)

    # -- check-in
    def inspection(self, order: Order) -> dict:
        """The walk-around: fuel, damage (the accident's and what was there before),
        warning lights, valuables."""
        rng = order.rng
        damage = list(order.work.damage)
        if rng.random() < 0.2:
            damage.append({"position": rng.choice(["rear_bumper", "left_front_fender", "right_rear_door", "hood"]),
                           "kind": rng.choice(["scratch", "scuff", "chip"]), "note": "pre-existing"})
        return {"fuel_level": rng.choice(["quarter", "half", "half", "three_quarters", "full"]),
                "exterior_damage": damage, "warning_lights": order.work.warning_lights,
                "valuables": rng.choice([[], [], ["sunglasses"], ["dashcam"], ["umbrella"]]),
                "notes": rng.choice(["customer waits in the lounge", "customer will collect", "courtesy car given",
                                     ""])}

    def insurance(self, order: Order) -> dict:
        rng = order.rng
        insurer = rng.choice(INSURERS)
        return {"insurer": insurer.name, "claim_no": f"{insurer.code}{rng.randint(10**9, 10**10 - 1)}",
                "policy_no": f"P{rng.randint(10**8, 10**9 - 1)}",
                "accident_date": (self.demo.day - timedelta(days=rng.randint(1, 5))).isoformat(),
                "surveyor": rng.choice(SURNAMES) + "先生"}

    async def check_in(self, order: Order, walk_in: bool = False) -> None:
        """At the desk, one car at a time: the order number is the store's sequence."""
        store = self.store
        body: dict[str, Any] = {"mileage_km": order.vehicle.mileage(order.day_index),
                                "complaint": order.work.complaint, "inspection": self.inspection(order)}
        if order.appointment_id:
            body["appointment_id"] = order.appointment_id
        else:
            body.update(customer=order.customer.as_payload(), vehicle=order.vehicle.as_payload())
        if order.work.insurance:
            body["insurance"] = self.insurance(order)
        opened = await store.advisor_of(order).post("/api/reception/v1/repair-orders", body)
        order.id, order.number = opened["id"], opened["number"]
        store.orders[opened["id"]] = order
        order.vehicle.visits += 1
        self.demo.count(Tally.ORDERS_OPENED)
        if order.comeback:
            self.demo.count(Tally.COMEBACK_VISITS)
        elif walk_in:
            self.demo.count(Tally.WALK_INS)
        self.write_up(order, "in_person")

    # -- the write-up and the customer's yes
    async def add_line(self, order: Order, line: dict) -> dict:
        answer = await self.store.advisor_of(order).post(f"/api/reception/v1/repair-orders/{order.id}/lines", line)
        order.lines, order.totals = answer["lines"], answer["totals"]
        return max(answer["lines"], key=lambda written: written["position"])

    def write_up(self, order: Order, channel: str) -> None:
        """The advisor writes the order up (lines, the estimate) while the half hour goes
        on; the customer says yes at the next half hour."""
        store, now = self.store, self.demo.tick
        promised = store.work_slot(now + timedelta(hours=order.rng.choice([2, 3, 4, 6])))
        quoting = self.demo.background(f"{store.code}: quote {order.label}", lambda: self.quote(order, promised))
        store.at(now + GRID, f"approve {order.label}", lambda: self.approve_quote(order, quoting, channel),
                 FREE, order.key)

    async def approve_quote(self, order: Order, quoting: asyncio.Future, channel: str) -> None:
        await quoting
        if order.quoted:
            self.approve(order, channel)

    async def quote(self, order: Order, promised: datetime) -> None:
        """Lines, the declined extras, the estimate; or the customer walks away."""
        api = self.store.advisor_of(order)
        if order.work.campaign and self.demo.features.campaign_lines:
            # The car's open campaign, added in one action: its operation and parts, paid by the campaign.
            answer = await api.post(f"/api/reception/v1/repair-orders/{order.id}/campaign-lines",
                                    {"campaign_code": order.work.campaign})
            order.lines, order.totals = answer["lines"], answer["totals"]
        else:
            for line in order.work.lines:
                await self.add_line(order, line)
        offered = [(await self.add_line(order, line))["id"] for line in order.work.declinable]
        if offered and order.fate.decline_extra:
            for line_id in offered:
                answer = await api.call("DELETE", f"/api/reception/v1/repair-orders/{order.id}/lines/{line_id}",
                                        expect=(200,))
                order.lines, order.totals = answer["lines"], answer["totals"]
            self.demo.count(Tally.LINES_DECLINED)
        estimated = await api.post(f"/api/reception/v1/repair-orders/{order.id}/estimate",
                                   {"promised_at": promised.isoformat()})
        if order.fate.cancel_at_estimate and not order.roadside:
            await api.post(f"/api/reception/v1/repair-orders/{order.id}/cancel",
                           {"reason": "customer wants a second opinion"})
            self.store.fleets.left(order)
            order.vehicle.busy_until = None
            self.demo.count(Tally.ORDERS_CANCELLED)
            return
        if order.work.insurance:
            # Work on insurance lines waits for the insurer's assessment (定损).
            await self.store.assessor.assess(order, estimated)
        order.quoted = True

    def approve(self, order: Order, channel: str) -> None:
        """The customer's yes, sent in the half hour's second stage."""
        self.to_approve.append(Approval(order, channel))

    async def send_approvals(self) -> None:
        """The workshop reserves stock in the order it hears of approvals, so approvals
        asking for the same part go one after the other (the later one once the workshop
        has taken in the earlier); the others go together. The foreman takes the approved
        orders in at the next half hour."""
        workshop = self.store.workshop
        batch, self.to_approve = sorted(self.to_approve, key=lambda a: a.order.key), []
        wave: list[Approval] = []
        wave_parts: set[str] = set()
        for approval in batch:
            parts = {line["part_no"] for line in approval.order.lines
                     if line["kind"] == "part" and not line.get("approved") and line.get("part_no")}
            if parts & (wave_parts | workshop.approving_parts):
                await self.post_approvals(wave)
                await workshop.take_in()
                await self.demo.all(f"{self.store.code}: assignments", workshop.dispatch_fetched())
                wave, wave_parts = [], set()
            wave.append(approval)
            wave_parts |= parts
        await self.post_approvals(wave)

    async def post_approvals(self, wave: list[Approval]) -> None:
        store = self.store

        async def post(order: Order, channel: str) -> None:
            path = f"/api/reception/v1/repair-orders/{order.id}"
            answer = {"approved_by": order.customer.name, "channel": channel}
            # Each refusal names what the yes waits for; the one who can settle it does, and the
            # advisor asks again. A fleet's order can wait for its manager and then its credit.
            for _ in range(4):
                try:
                    await store.advisor_of(order).post(f"{path}/approve", answer)
                    break
                except ApiError as refused:
                    waits_for = refusal_rule(refused)
                    if waits_for == "high_value_sign_off":
                        # A high-value estimate waits for the manager's sign-off; the advisor fetches it.
                        await store.manager.post(f"{path}/sign-off", {"note": "checked the estimate with the advisor"})
                    elif waits_for == "fleet_approval" and order.fleet is not None:
                        await store.fleets.fleet_approves(order)
                    elif waits_for == "fleet_credit_stop":
                        await store.fleets.override(order)
                    elif waits_for == "insurance_assessment_required":
                        await store.assessor.reassess(order)
                    else:
                        raise
            else:
                await store.advisor_of(order).post(f"{path}/approve", answer)
            store.workshop.approved(order)

        await asyncio.gather(*(self.demo.attempt(f"{store.code}: approve {a.order.label}",
                                                 partial(post, a.order, a.channel))
                               for a in wave))

    # -- handover
    def payments(self, order: Order) -> list[dict]:
        """Exactly what is due: one method, or now and then split between card and WeChat."""
        due = order.totals["customer_due_fen"]
        if due > 0 and order.fleet is not None:
            return [{"method": "on_account", "amount_fen": due}]
        if due > 0 and order.fate.split_payment and due > 20000:
            return [{"method": "card", "amount_fen": due // 2, "reference": f"POS {order.rng.randint(100000, 999999)}"},
                    {"method": "wechat_pay", "amount_fen": due - due // 2}]
        if due > 0:
            return [{"method": order.fate.payment, "amount_fen": due}]
        return []

    async def hand_over(self, order: Order) -> None:
        """The customer pays what the quote said and drives off. Reception hears that the
        car is ready from the workshop's event; if it has not yet, the advisor waits."""
        store = self.store
        api = store.advisor_of(order)
        payments = self.payments(order)
        path = f"/api/reception/v1/repair-orders/{order.id}"
        await self.sublet_bills(order)
        settled = await self.settle(order, path, payments)
        on_account = sum(p["amount_fen"] for p in payments if p["method"] == "on_account")
        if on_account:
            store.fleets.on_account(order, on_account)
        if order.work.insurance:
            self.demo.count(Tally.EXCESS_FEN, settled["totals"].get("excess_fen", 0))
            self.demo.count(Tally.INSURER_DUE_FEN, settled["totals"].get("insurer_due_fen", 0))
        await api.post(f"{path}/deliver",
                       {"delivered_by": store.advisor_name_of(order), "explained": True,
                        "notes": "old parts shown to the customer" if order.rng.random() < 0.5 else None})
        order.delivered_at = self.demo.clock.now()
        store.fleets.left(order)
        order.vehicle.busy_until = None
        self.demo.count(Tally.ORDERS_DELIVERED)
        if order.work.kind == "first_maintenance":
            self.demo.count(Tally.FIRST_MAINTENANCE)
        if order.work.campaign:
            self.demo.count(Tally.RECALL_REPAIRS)
        day = self.demo.day
        self.delivered_today.append(order)
        self.delivered_on.setdefault(day, []).append(order)
        if order.has_warranty() and order.work.campaign:
            if self.demo.features.claim_kinds:
                store.warranty.campaign_claim_later(order)
        elif order.has_warranty() and order.work.claim:
            store.warranty.claim_later(order)
        if order.fate.comeback_days and not order.comeback and order.work.kind in COMEBACK_PRONE:
            self.plan_comeback(order, day + timedelta(days=order.fate.comeback_days))

    async def settle(self, order: Order, path: str, payments: list[dict]) -> dict:
        """Reception hears that the car is ready from the workshop's event; if it has not yet,
        the advisor waits. A fleet at its credit limit waits for the manager's override."""
        api = self.store.advisor_of(order)
        for _ in range(3):
            try:
                return await api.post(f"{path}/settle", {"payments": payments})
            except ApiError as exc:
                if exc.status != 409:
                    raise
                if refusal_rule(exc) == "fleet_credit_stop":
                    await self.store.fleets.override(order)
                    continue

                async def ready() -> bool:
                    return (await api.get(path))["status"] == "ready"

                await wait_for(ready, self.demo.config.timeout, interval=0.05, what=f"{order.label} ready")
        return await api.post(f"{path}/settle", {"payments": payments})

    async def sublet_bills(self, order: Order) -> None:
        """Sublet work comes back from its vendors before the car goes (bodyshop.py), so the
        order is costed whole; a line that went out without a sublet order has the vendor's
        bill recorded on it by hand. A partner outlet's system does not report its sublet
        work: those orders show as incomplete in the margin."""
        if self.store.outlet:
            return
        await self.store.sublets.bring_back(order)
        for line in order.lines:
            if line["kind"] == "sublet" and line["id"] not in order.sublet_orders:
                await self.store.manager.call(
                    "PUT", f"/api/workshop/v1/repair-orders/{order.id}/sublets/{line['id']}",
                    {"cost_fen": line["unit_price_fen"] * 7 // 10, "vendor": "安途汽车玻璃 Antu Auto Glass"})

    def plan_comeback(self, first: Order, on: date) -> None:
        """The same fault again within weeks: the store redoes the job at its own cost."""
        store = self.store
        lines = [dict(line, pay_type="internal") for line in first.work.lines if line["kind"] in ("labor", "part")]
        work = Work("comeback", "repair", f"Came back after {first.label}: {first.work.complaint.lower()}", lines,
                    warning_lights=first.work.warning_lights)
        order = store.new_order(first.vehicle, on, work=work, key=f"{first.key}:comeback")
        order.comeback = True
        store.at(store.local(on, order.rng.randint(8, 14)), "comeback", lambda: self.check_in(order, walk_in=True),
                 DESK, order.key)

    def pickup_time(self, order: Order) -> datetime:
        """The customer collects a while after the car is ready, within opening hours."""
        store = self.store
        pickup = ceil_grid(self.demo.tick + order.fate.pickup_delay * GRID, HOUR)
        local = pickup.astimezone(store.zone)
        if local.hour >= 20 or local.hour < 8:
            pickup = store.local(local.date() + timedelta(days=0 if local.hour < 8 else 1),
                                 9 + order.fate.pickup_delay % 3)
        return pickup
