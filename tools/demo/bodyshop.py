"""Accident repairs and outsourced work: the insurer's assessor (定损) and the store's vendors
(委外).

Every few days a dealer store takes in an accident repair for an insurer: a bumper (its
paint sent to the paint shop, and a scraped fender found when the bumper comes off, a
supplement that goes back to the insurer) or a windshield (the ADAS camera calibration
sent to the glass shop). The assessor approves every insurance line but cuts the dearest
one by 15 %, which the store writes off, and sets the policy's excess, which the customer
pays at the till; the insurer owes the rest. Sublet work goes out on a sublet order when
the car's first job starts and comes back before handover: inspected, and the vendor's
invoice matched to the agreed price; one in three accident jobs' invoices is higher than
agreed, held, and accepted by the store manager."""
from __future__ import annotations

import random
from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from tools.client import until_known
from tools.demo.agenda import DESK
from tools.demo.summary import Tally
from tools.demo.work import Work, fee, labour, part

if TYPE_CHECKING:
    from tools.demo.records import Order
    from tools.demo.store import StoreSim

CUT_PERCENT = 15
EXCESS_FEN = (20000, 30000, 50000)
VENDORS = {
    "glass": {"name": "安途汽车玻璃 Antu Auto Glass", "specialties": ["glass", "ecu_programming"],
              "contact_name": "周师傅", "phone": "021-5888 1200"},
    "paint": {"name": "彩虹喷涂 Caihong Paint Shop", "specialties": ["paint", "body"],
              "contact_name": "吴经理", "phone": "021-5888 3400"},
}
AGREED_PERCENT = {"glass": 70, "paint": 60}
HELD_PERCENT = 12  # what a held invoice is over the agreed price: beyond the 2 % / 10 CNY tolerance


def accident_work(n: int) -> Work:
    """The store's n-th accident repair: bumpers and windshields by turns."""
    if n % 2:
        work = Work("bumper", "accident_repair", "Rear-ended a van in traffic; front bumper broken",
                    [labour("BDY-0200", "insurance"), part("XB-71101-BMP", 1, "insurance"),
                     fee("Bumper paint in the paint shop's booth (sublet)", 80000, "insurance", kind="sublet")],
                    insurance=True,
                    damage=[{"position": "front_bumper", "kind": "broken", "note": "cracked, clips torn"}])
        work.supplement = [labour("BDY-0100", "insurance")]
        work.supplement_note = "Left front fender scraped, found when the bumper came off"
        return work
    return Work("windshield", "accident_repair", "Stone chip crack across the windshield",
                [labour("GLS-0100", "insurance"), part("XB-73111-WSD", 1, "insurance"),
                 fee("ADAS camera calibration (sublet)", 30000, "insurance", kind="sublet")], insurance=True,
                damage=[{"position": "windshield", "kind": "crack", "note": "40 cm"}])


def specialty_of(line: dict) -> str:
    text = (line.get("description") or "").lower()
    return "glass" if "adas" in text or "glass" in text or "windshield" in text else "paint"


class Assessor:
    """The insurer's assessor, as the advisor records the assessment."""

    def __init__(self, store: StoreSim) -> None:
        self.store = store
        self.demo = store.demo
        self.accidents = 0

    def plan_day(self, day_index: int, day: date) -> None:
        store = self.store
        if day_index % 3 != 1:
            return
        rng = random.Random(f"{self.demo.config.seed}:{store.code}:accidents:{day_index}")
        if self.accidents and rng.random() >= min(1.0, 0.5 * self.demo.config.scale):
            return
        vehicle = store.customers.pick(rng, day)
        if vehicle is None:
            return
        self.accidents += 1
        order = store.new_order(vehicle, day, work=accident_work(self.accidents),
                                key=f"{store.code}:accident:{self.accidents:04d}")
        order.sublet_held = self.accidents % 3 == 1
        store.at(store.local(day, rng.randint(9, 15)), "accident repair",
                 partial(self.check_in, order), DESK, order.key)

    async def check_in(self, order: Order) -> None:
        await self.store.reception.check_in(order, walk_in=True)
        self.demo.count(Tally.ACCIDENT_REPAIRS)

    async def assess(self, order: Order, answer: dict) -> None:
        """定损: every insurance line as it stands. A first assessment cuts the dearest line and
        sets the excess; a supplementary one keeps what was approved and takes the new lines
        at their amount."""
        rng = random.Random(f"{self.demo.config.seed}:{order.key}:assessment")
        excess = rng.choice(EXCESS_FEN)
        insured = [line for line in answer["lines"] if line["pay_type"] == "insurance"]
        before = answer.get("insurance_assessment")
        approved = {line["line_id"]: line["approved_fen"] for line in before["lines"]} if before else {}
        if before is None:
            dearest = max(insured, key=lambda line: (line["amount_fen"], line["id"]))
            approved[dearest["id"]] = dearest["amount_fen"] * (100 - CUT_PERCENT) // 100 // 100 * 100
            self.demo.count(Tally.LINES_CUT)
        lines = [{"line_id": line["id"], "approved_fen": approved.get(line["id"], line["amount_fen"])}
                 for line in insured]
        total = sum(line["approved_fen"] for line in lines)
        insurance = answer["insurance"] or {}
        body = {"insurer": insurance.get("insurer") or "中国人保 PICC", "claim_no": insurance.get("claim_no") or "-",
                "assessor": {"name": insurance.get("surveyor") or "定损员", "phone": "95518"},
                "lines": lines, "approved_total_fen": total,
                "excess_fen": before["excess_fen"] if before else min(excess, total)}
        if before is not None:
            body["version"] = answer["version"]
        assessed = await self.store.advisor_of(order).call(
            "PUT", f"/api/reception/v1/repair-orders/{order.id}/assessment", body)
        order.lines, order.totals = assessed["lines"], assessed["totals"]
        self.demo.count(Tally.ASSESSMENTS if before is None else Tally.SUPPLEMENTARY_ASSESSMENTS)

    async def reassess(self, order: Order) -> None:
        """A supplement with insurance lines goes back to the insurer."""
        await self.assess(order, await self.store.advisor_of(order).get(f"/api/reception/v1/repair-orders/{order.id}"))


class SubletDesk:
    """The store manager keeps the vendors and the sublet orders."""

    def __init__(self, store: StoreSim) -> None:
        self.store = store
        self.demo = store.demo
        self.vendors: dict[str, str] = {}  # specialty -> vendor id

    async def open_vendors(self) -> None:
        for specialty, body in VENDORS.items():
            vendor = await until_known(partial(self.store.manager.post, "/api/workshop/v1/vendors", body),
                                       self.demo.config.timeout)
            self.vendors[specialty] = vendor["id"]

    async def send_out(self, order: Order) -> None:
        """The sublet lines go to their vendors when the car's work starts, back the same day."""
        store = self.store
        today = store.local_day(self.demo.tick)
        for line in order.lines:
            if line["kind"] != "sublet" or line["id"] in order.sublet_orders or not self.vendors:
                continue
            specialty = specialty_of(line)
            made = await store.manager.post("/api/workshop/v1/sublet-orders", {
                "repair_order_id": order.id, "line_id": line["id"], "vendor_id": self.vendors[specialty],
                "work": line["description"], "promised_on": today.isoformat(),
                "agreed_price_fen": line["unit_price_fen"] * AGREED_PERCENT[specialty] // 100})
            order.sublet_orders[line["id"]] = made
            await store.manager.post(f"/api/workshop/v1/sublet-orders/{made['id']}/send")
            self.demo.count(Tally.SUBLET_ORDERS)

    async def bring_back(self, order: Order) -> None:
        """Before handover: the vendor brings the work back, the foreman inspects it, and the
        vendor's invoice is matched (or held, and the store manager accepts it)."""
        manager = self.store.manager
        for made in order.sublet_orders.values():
            path = f"/api/workshop/v1/sublet-orders/{made['id']}"
            await manager.post(f"{path}/return", {"note": "work done as ordered"})
            await manager.post(f"{path}/inspection", {"result": "pass", "note": "finish and fit checked"})
            agreed = made["agreed_price_fen"]
            amount = agreed + agreed * HELD_PERCENT // 100 if order.sublet_held else agreed
            invoiced = await manager.post(f"{path}/invoice", {"number": f"INV-{made['number']}",
                                                              "amount_fen": amount})
            if invoiced["status"] == "invoice_held":
                self.demo.count(Tally.SUBLET_INVOICES_HELD)
                invoiced = await manager.post(f"{path}/invoice/accept",
                                              {"note": "extra masking material agreed by phone"})
            self.demo.count(Tally.SUBLET_COST_FEN, invoiced["cost_fen"])
