"""Brand headquarters: CRM's daily jobs, claim review and monthly settlement, audits of
the dealer stores. Works after the stores in each half hour, one thing at a time."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from services.common import reference
from tools.demo.agenda import DESK, Actor
from tools.demo.chargebacks import Chargebacks
from tools.demo.claims import ClaimsOffice
from tools.demo.clock import local_time
from tools.demo.summary import Tally

if TYPE_CHECKING:
    from tools.demo.runner import Demo
    from tools.demo.store import StoreSim

CRM_JOBS = ("maintenance_reminders", "churn_detection", "complaint_escalation", "weekly_report", "monthly_report")


class HQ(Actor):
    name = "HQ"

    def __init__(self, demo: Demo) -> None:
        super().__init__(demo)
        self.zone = demo.zone
        self.claims = ClaimsOffice(self)
        self.chargebacks = Chargebacks(self)

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return local_time(self.zone, day, hour, minute)

    def plan_day(self, day_index: int, day: date) -> None:
        demo = self.demo
        # CRM's daily jobs by hand at the end of each simulated day: the worker's own timer
        # runs on wall time and would skip most of the replayed days.
        self.at(self.local(day, 23), "run CRM's daily jobs", self.run_jobs, DESK, "jobs")
        if day.day == 3 and day_index > 0:
            previous = (day.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
            self.at(self.local(day, 10), "monthly settlements", lambda: self.claims.settle_month(previous), DESK,
                    "settle")
        dealers = [s for s in demo.stores if not s.outlet]
        for i, store in enumerate(dealers):
            if day_index > 0 and day_index == ((i + 1) * demo.config.days) // (len(dealers) + 1):
                self.at(self.local(day, 10), f"audit {store.code}", partial(self.audit, store), DESK,
                        f"audit:{store.code}")

    async def run_jobs(self) -> None:
        await self.demo.all("HQ: CRM jobs", [self.demo.hq_api.post(f"/api/crm/v1/jobs/{job}/run", {})
                                             for job in CRM_JOBS])

    async def audit(self, store: StoreSim, *, passing: bool = False) -> dict:
        """Scores around the store's quality; a failing audit opens corrective actions,
        which HQ closes a week later. An outlet's site audit on onboarding passes."""
        rng = random.Random(f"{self.demo.config.seed}:{store.code}:audit")
        base = 92 if passing else store.quality * 100
        items = [{"code": item["code"], "score": max(40, min(100, round(rng.gauss(base, 5)))),
                  "note": "observed on site"} for item in reference.load("audit_standards")["items"]]
        audit = await self.demo.hq_api.post(f"/api/network/v1/stores/{store.id}/audits",
                                            {"items": items, "note": "service standards audit"})
        self.demo.count(Tally.AUDITS)
        if not passing:
            self.at(self.local(self.demo.day + timedelta(days=7), 16), f"close actions of {store.code}",
                    lambda: self.close_actions(store), DESK, f"actions:{store.code}")
        return audit

    async def close_actions(self, store: StoreSim) -> None:
        hq_api = self.demo.hq_api
        page = await hq_api.get(f"/api/network/v1/stores/{store.id}/corrective-actions", status="open")
        for action in page["items"]:
            await hq_api.post(f"/api/network/v1/stores/{store.id}/corrective-actions/{action['id']}/close",
                              {"resolution": "re-checked on site: fixed"})
            self.demo.count(Tally.CORRECTIVE_ACTIONS_CLOSED)
