"""Money the brand takes back. HQ asks for some replaced parts back when it approves a claim
(旧件回收): the store's warranty clerk ships them, HQ's warehouse receives and inspects them,
and a wrong or damaged part is charged back at once; a part never shipped is charged back
(PNR) on the store's next statement after its ship-by date. After a month is paid, HQ's
post-payment audit debits a few claims. The debits land on the store's next statement."""
from __future__ import annotations

import random
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from tools.demo.agenda import DESK, FREE
from tools.demo.records import Order
from tools.demo.summary import Tally

if TYPE_CHECKING:
    from tools.demo.hq import HQ
    from tools.demo.store import StoreSim

RETURN_SHARE = 0.3  # of approved claims with a part: HQ wants the part back
AUDIT_SHARE = 0.08  # of a paid statement's claims: debited after the audit (at least one of three or more)
CARRIERS = ["顺丰 SF Express", "中通 ZTO Express", "德邦 Deppon Logistics"]


class Audit(NamedTuple):
    reason_code: str
    share: tuple[int, int]  # of what was paid: numerator, denominator
    note: str


AUDITS = [
    Audit("C02", (1, 4), "labour time above the repair record: 0.5 h claimed twice"),
    Audit("C01", (1, 1), "diagnostic printout does not show the fault claimed"),
    Audit("C04", (1, 10), "handling surcharge applied to a part without one"),
]


class ReturnFate(NamedTuple):
    shipped: bool
    ship_days: int
    transit_days: int
    result: str  # what the warehouse finds: ok, wrong_part, damaged


class Chargebacks:
    """HQ's side (asking parts back, the warehouse, the audit) and the store's (shipping)."""

    def __init__(self, hq: HQ) -> None:
        self.hq = hq
        self.demo = hq.demo
        self.orders: dict[str, tuple[StoreSim, Order]] = {}  # claim id -> the order it claims

    # -- old-part returns
    def after_approval(self, store: StoreSim, order: Order, claim: dict) -> None:
        """Called once a claim is approved (wholly or in part): maybe HQ wants the causal part."""
        self.orders[claim["id"]] = (store, order)
        rng = random.Random(f"{self.demo.config.seed}:{order.key}:old-part")
        parts = [line for line in claim["lines"] if line["kind"] == "part" and (line.get("approved_fen") or 0) > 0]
        if not parts or rng.random() >= RETURN_SHARE:
            return
        causal = order.work.claim.causal_part_no if order.work.claim else None
        wanted = next((line for line in parts if line.get("part_no") == causal), parts[0])
        fate = ReturnFate(shipped=rng.random() < 0.9, ship_days=rng.randint(2, 6), transit_days=rng.randint(2, 4),
                          result=rng.choices(["ok", "wrong_part", "damaged"], [80, 12, 8])[0])
        hq = self.hq
        hq.at(hq.local(self.demo.day, 16), f"ask the old part of {order.label} back",
              partial(self.ask_back, store, order, claim["id"], wanted["line_id"], fate), DESK, order.key)

    async def ask_back(self, store: StoreSim, order: Order, claim_id: str, line_id: str, fate: ReturnFate) -> None:
        answer = await self.demo.hq_api.post(f"/api/network/v1/claims/{claim_id}/lines/{line_id}/return-required")
        self.demo.count(Tally.PARTS_ASKED_BACK)
        if fate.shipped:
            store.at(store.local(self.demo.day + timedelta(days=fate.ship_days), 15), f"ship old part of {order.label}",
                     partial(self.ship, store, order, answer["id"], fate), FREE, order.key)

    async def ship(self, store: StoreSim, order: Order, return_id: str, fate: ReturnFate) -> None:
        rng = random.Random(f"{self.demo.config.seed}:{order.key}:waybill")
        clerk = store.keys["outlet_api"] if store.outlet else store.keys["warranty_clerk"]
        await clerk.post(f"/api/network/v1/part-returns/{return_id}/ship",
                         {"waybill": f"SF{rng.randint(10**11, 10**12 - 1)}", "carrier": rng.choice(CARRIERS)})
        self.demo.count(Tally.PARTS_SHIPPED)
        hq = self.hq
        hq.at(hq.local(self.demo.day + timedelta(days=fate.transit_days), 11), f"receive old part of {order.label}",
              partial(self.receive, return_id, fate), DESK, order.key)

    async def receive(self, return_id: str, fate: ReturnFate) -> None:
        note = {"ok": "part matches the claim; sent to the supplier's analysis",
                "wrong_part": "a different part number in the box", "damaged": "housing cracked, not analysable"}
        answer = await self.demo.hq_api.post(f"/api/network/v1/part-returns/{return_id}/receive",
                                             {"result": fate.result, "note": note[fate.result]})
        self.demo.count(Tally.PARTS_RECEIVED)
        if answer.get("chargeback_id"):
            self.demo.count(Tally.CHARGEBACKS_RETURNS)

    # -- the post-payment audit
    def after_payment(self, settlement: dict) -> None:
        """A week or two after a month is paid, HQ's audit takes a sample of the statement's
        claims (drawn by the orders' names, never by the platform's ids) and debits them."""
        hq = self.hq
        paid = sorted(((self.orders[c["id"]][1], c["id"]) for c in settlement["claims"]
                       if c["id"] in self.orders and c["amount_approved_fen"] > 0), key=lambda pair: pair[0].key)
        if len(paid) < 3:
            return
        rng = random.Random(f"{self.demo.config.seed}:{settlement['period']}:{paid[0][0].key}:audit")
        for order, claim_id in rng.sample(paid, max(1, round(len(paid) * AUDIT_SHARE))):
            audit = rng.choice(AUDITS)
            when = hq.local(self.demo.day + timedelta(days=rng.randint(5, 12)), 14)
            hq.at(when, f"audit the claim of {order.label}", partial(self.debit, claim_id, audit), DESK, order.key)

    async def debit(self, claim_id: str, audit: Audit) -> None:
        claim = await self.demo.hq_api.get(f"/api/network/v1/claims/{claim_id}")
        left = claim["amount_approved_fen"] - (claim.get("charged_back_fen") or 0)
        amount = left * audit.share[0] // audit.share[1]
        if amount <= 0:
            return
        await self.demo.hq_api.post(f"/api/network/v1/claims/{claim_id}/chargebacks",
                                    {"reason_code": audit.reason_code, "amount_fen": amount, "note": audit.note})
        self.demo.count(Tally.CHARGEBACKS_AUDIT)
