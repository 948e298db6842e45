"""Warranty claims: the store files one for each handed-over order with warranty work;
HQ reviews it a few days later (a second reviewer for large ones), issues each store's
monthly settlement, which the store confirms and HQ pays."""
from __future__ import annotations

import random
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from tools.client import ApiError, wait_for
from tools.demo.agenda import DESK, FREE
from tools.demo.fate import ClaimDecision
from tools.demo.records import Order
from tools.demo.summary import Tally

if TYPE_CHECKING:
    from tools.demo.hq import HQ
    from tools.demo.store import StoreSim

# Network's rejection reasons HQ uses, with what the reviewer writes.
REJECTIONS = {"R09": "damage pattern suggests misuse", "R06": "diagnosis not documented",
              "R08": "causal part does not match the fault"}
APPROVED = ("approved", "partially_approved")
DECIDED = {"approved": Tally.CLAIMS_APPROVED, "partially_approved": Tally.CLAIMS_PARTIAL,
           "rejected": Tally.CLAIMS_REJECTED, "pending_second_approval": Tally.CLAIMS_TO_SECOND_APPROVAL}


class WarrantyDesk:
    """The store's side: filing, resubmitting, confirming the month's settlement."""

    def __init__(self, store: StoreSim) -> None:
        self.store = store
        self.demo = store.demo

    def claim_later(self, order: Order) -> None:
        store = self.store
        store.at(store.local(self.demo.day + timedelta(days=order.fate.claim_submit_days), 11),
                 f"claim {order.label}", lambda: self.submit(order), FREE, order.key)

    async def submit(self, order: Order) -> None:
        story = order.work.claim
        assert story is not None
        body = {"repair_order_id": order.id, "complaint": story.complaint, "cause": story.cause,
                "correction": story.correction, "causal_part_no": story.causal_part_no}
        if order.work.claim_kind != "warranty":
            body["kind"] = order.work.claim_kind

        async def submitted() -> dict | None:
            try:
                return await self.store.manager.post("/api/network/v1/claims", body)
            except ApiError as exc:
                if exc.status == 422 and "repair_order_id" in str(exc.body):
                    return None  # network has not yet heard of the order's settlement
                raise

        claim = await wait_for(submitted, self.demo.config.timeout, interval=0.3, what=f"claim of {order.label}")
        self.demo.count(Tally.CLAIMS_SUBMITTED)
        if order.work.claim_kind == "first_maintenance":
            self.demo.count(Tally.FIRST_MAINTENANCE_CLAIMS)
        self.demo.hq.claims.review_later(self.store, order, claim)

    def campaign_claim_later(self, order: Order) -> None:
        store = self.store
        store.at(store.local(self.demo.day + timedelta(days=order.fate.claim_submit_days), 11),
                 f"campaign claim {order.label}", lambda: self.submit_campaign_claim(order), FREE, order.key)

    async def submit_campaign_claim(self, order: Order) -> None:
        """Network drafts the campaign claim once it has counted the car done; the store's
        warranty clerk (an outlet's system) checks and submits it."""
        clerk = self.store.keys["outlet_api"] if self.store.outlet else self.store.keys["warranty_clerk"]

        async def drafted() -> dict | None:
            page = await clerk.get("/api/network/v1/claims", repair_order_id=order.id, kind="campaign")
            return next((c for c in page["items"] if c["status"] == "draft"), None)

        draft = await wait_for(drafted, self.demo.config.timeout, interval=0.3, what=f"campaign claim of {order.label}")
        claim = await clerk.post(f"/api/network/v1/claims/{draft['id']}/submit")
        self.demo.count(Tally.CLAIMS_SUBMITTED)
        self.demo.count(Tally.CAMPAIGN_CLAIMS)
        self.demo.hq.claims.review_later(self.store, order, claim)

    async def resubmit(self, order: Order, claim: dict) -> None:
        story = order.work.claim
        assert story is not None
        answer = await self.store.manager.post(f"/api/network/v1/claims/{claim['id']}/resubmit", {
            "cause": story.cause + "; diagnostic report and photos attached",
            "correction": story.correction + " (see attached test sheet)"})
        self.demo.count(Tally.CLAIMS_RESUBMITTED)
        self.demo.hq.claims.review_later(self.store, order, answer, resubmitted=True)

    async def confirm_settlement(self, settlement: dict) -> None:
        await self.store.manager.post(f"/api/network/v1/settlements/{settlement['id']}/confirm")
        self.demo.count(Tally.SETTLEMENTS_CONFIRMED)
        hq = self.demo.hq
        hq.at(hq.local(self.demo.day + timedelta(days=5), 15), "pay settlement",
              lambda: hq.claims.pay(settlement), DESK, f"{self.store.code}:{settlement['period']}")


class ClaimsOffice:
    """HQ's side: review, second approval, monthly settlement and payment."""

    def __init__(self, hq: HQ) -> None:
        self.hq = hq
        self.demo = hq.demo

    def review_later(self, store: StoreSim, order: Order, claim: dict, resubmitted: bool = False) -> None:
        hq = self.hq
        when = hq.local(self.demo.day + timedelta(days=order.fate.claim_review_days), 14)
        hq.at(when, f"review claim of {order.label}", lambda: self.review(store, order, claim, resubmitted), DESK,
              order.key)

    def decision(self, order: Order, claim: dict, resubmitted: bool) -> dict[str, Any]:
        """Most approved; some reduced on the largest line (labour time or part price);
        a few rejected. A resubmitted claim is approved, and so is a campaign claim (the work
        is the brand's own instruction, priced by the campaign)."""
        decision = ClaimDecision.APPROVE if resubmitted or order.work.campaign else order.fate.claim_decision
        line = max(claim["lines"], key=lambda candidate: candidate["claimed_fen"])
        if decision == ClaimDecision.PARTIAL and line["claimed_fen"] >= 4:
            labour_line = line["kind"] == "labor"
            return {"decision": "partial", "note": "labour time above the brand's standard" if labour_line
                    else "part price above the reimbursable amount",
                    "lines": [{"line_id": line["line_id"], "approved_fen": line["claimed_fen"] * 3 // 4,
                               "adjustment_code": "A01" if labour_line else "A02"}]}
        if decision == ClaimDecision.REJECT:
            code = random.Random(f"{self.demo.config.seed}:{order.key}:reject").choice(["R09", "R06", "R08"])
            return {"decision": "reject", "reason_code": code, "note": REJECTIONS[code]}
        return {"decision": "approve", "reason_code": None, "note": "documentation complete"}

    async def review(self, store: StoreSim, order: Order, claim: dict, resubmitted: bool) -> None:
        hq = self.hq
        decided = await self.demo.hq_api.post(f"/api/network/v1/claims/{claim['id']}/decision",
                                              self.decision(order, claim, resubmitted))
        self.demo.count(DECIDED[decided["status"]])
        if decided["status"] in APPROVED:
            hq.chargebacks.after_approval(store, order, decided)
        if decided["status"] == "pending_second_approval":
            hq.at(hq.local(self.demo.day + timedelta(days=1), 11), f"second approval of {order.label}",
                  lambda: self.second_approval(store, order, decided), DESK, order.key)
        elif decided["status"] == "rejected" and not resubmitted and order.fate.claim_resubmit:
            store.at(store.local(self.demo.day + timedelta(days=2), 10), f"resubmit claim of {order.label}",
                     lambda: store.warranty.resubmit(order, decided), FREE, order.key)

    async def second_approval(self, store: StoreSim, order: Order, claim: dict) -> None:
        """Claims of 10,000 CNY or more need a second pair of eyes."""
        decided = await self.demo.hq_reviewer.post(f"/api/network/v1/claims/{claim['id']}/decision", {
            "decision": "approve", "reason_code": None, "note": "second approval: photos and test sheet checked"})
        self.demo.count(DECIDED[decided["status"]])
        if decided["status"] in APPROVED:
            self.hq.chargebacks.after_approval(store, order, decided)

    async def settle_month(self, period: str) -> None:
        for store in self.demo.stores:
            if store.id is None or not store.operating:
                continue
            try:
                settlement = await self.demo.hq_api.post("/api/network/v1/settlements",
                                                         {"store_id": store.id, "period": period})
            except ApiError as exc:
                if exc.status == 409:
                    continue  # nothing approved and unsettled in that month
                raise
            self.demo.count(Tally.SETTLEMENTS_ISSUED)
            store.at(store.local(self.demo.day + timedelta(days=2), 10), "confirm settlement",
                     partial(store.warranty.confirm_settlement, settlement), FREE, f"settlement:{period}")

    async def pay(self, settlement: dict) -> None:
        reference = f"CMB-{settlement['period'].replace('-', '')}-{settlement['id'][-6:]}"
        paid = await self.demo.hq_api.post(f"/api/network/v1/settlements/{settlement['id']}/pay",
                                           {"reference": reference})
        self.demo.count(Tally.SETTLEMENTS_PAID)
        self.hq.chargebacks.after_payment(paid)
