"""Setting up the network: HQ opens the dealer stores the evening before the first day
(staff keys, technicians, opening stock); the partner outlets apply through the public
form and are onboarded over the first days."""
from __future__ import annotations

import random
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from services.common import reference
from tools.client import ApiError
from tools.demo.agenda import DESK, Action
from tools.demo.catalogue import DEALER_TECHNICIANS, OUTLET_TECHNICIANS, PROVINCE
from tools.demo.fleet import random_name
from tools.demo.records import Advisor
from tools.demo.store import StoreSim, poisson
from tools.demo.summary import Tally

if TYPE_CHECKING:
    from tools.demo.runner import Demo

# The warranty clerk records new cars (PDI, registration) and ships old parts back to the brand.
# The cashier matches the money fleets send against what they owe (accounts.py).
DEALER_ROLES = ("store_manager", "parts_clerk", "crm_agent", "warranty_clerk", "cashier")
# Checklist items ticked by their own step; the others are ticked by hand.
QUALIFICATION = "qualification_verified"
SITE_AUDIT = "facility_audit_passed"


async def open_dealer(demo: Demo, store: StoreSim) -> None:
    """HQ creates the store and its staff keys; the workshop, the shelves and the
    appointment book are set up; customers who booked before the replay are on the book."""
    assert store.http is not None
    spec, seed = store.spec, demo.config.seed
    created = await demo.hq_api.post("/api/network/v1/stores", {
        "code": spec["code"], "name": spec["name"], "kind": "dealer_store", "region": spec["region"],
        "city": spec["city"], "timezone": spec.get("timezone") or "Asia/Shanghai"})
    store.id = created["id"]
    rng = random.Random(f"{seed}:{store.code}:staff")
    for role in DEALER_ROLES:
        issued = await demo.issue_key(role, store.id, f"{store.code} {role.replace('_', ' ')}")
        store.keys[role], store.principals[role] = demo.api(store.http, issued.key), issued.id
    for _ in range(2):
        name = random_name(rng)
        issued = await demo.issue_key("service_advisor", store.id, f"{store.code} advisor {name}")
        store.advisors.append(Advisor(demo.api(store.http, issued.key), issued.id, name))
    await store.workshop.staff(DEALER_TECHNICIANS, rng)
    await store.parts.stock_shelves()
    await store.reception.read_capacity()
    store.fleets.draw()
    await store.fleets.open_accounts()
    await store.sublets.open_vendors()
    store.operating = True
    pre = random.Random(f"{seed}:{store.code}:prebook")
    for ahead in range(1, 7):
        for _ in range(poisson(pre, store.rate * 0.7 * (7 - ahead) / 6)):
            store.reception.plan_booking(pre, demo.day, ahead)


class Onboarding:
    """An outlet applies through the public form; HQ reviews it, works the checklist (the
    site audit ticks its own item) and activates it; the outlet then sets up."""

    def __init__(self, demo: Demo, outlet: StoreSim) -> None:
        self.demo, self.outlet = demo, outlet
        self.application_id: str | None = None

    def plan(self, place: int, days: int) -> None:
        """`place` orders the outlets' applications on the first morning; `days` is how
        long onboarding takes."""
        demo, hq, outlet = self.demo, self.demo.hq, self.outlet
        first = demo.first_day
        review_day = first + timedelta(days=min(1, days - 1))
        active_day = first + timedelta(days=days - 1)
        key = f"onboarding:{outlet.code}"
        hq.at(hq.local(first, 9 + place), f"{outlet.code} applies", self.apply, DESK, key)
        hq.at(hq.local(review_day, 14 if days == 1 else 10), f"review {outlet.code}", self.review, DESK, key)
        others = [c["code"] for c in reference.load("onboarding_checklist")["items"]
                  if c["code"] not in (QUALIFICATION, SITE_AUDIT)]
        span = max(0, (active_day - review_day).days)
        steps = [QUALIFICATION, SITE_AUDIT, *others]
        for n, code in enumerate(steps):
            day = review_day + timedelta(days=(n * span) // len(steps))
            hour = 15 + n // 2 if days == 1 else 11 + n % 4
            action: Action = self.site_audit if code == SITE_AUDIT else partial(self.tick, code)
            hq.at(hq.local(day, hour, 30 * (n % 2)), f"{outlet.code} checklist: {code}", action, DESK, key)
        hq.at(hq.local(active_day, 18 if days == 1 else 16), f"activate {outlet.code}", self.activate, DESK, key)

    async def apply(self) -> None:
        outlet = self.outlet
        assert outlet.http is not None
        spec = outlet.spec
        rng = random.Random(f"{self.demo.config.seed}:{outlet.code}:application")
        body = {"company_name": spec["name"], "license_no": f"91{rng.randint(10**15, 10**16 - 1)}",
                "contact": {"name": random_name(rng),
                            "phone": f"139{rng.randint(10**7, 10**8 - 1)}",
                            "email": f"service@{spec['code'].lower()}.example.cn"},
                "address": {"province": PROVINCE.get(spec["city"], spec["region"]), "city": spec["city"],
                            "line": f"{rng.randint(1, 300)} Industrial Park Road"},
                "bays": rng.randint(4, 10), "technicians": rng.randint(5, 12),
                "certifications": ["ISO 9001", "Class II motor vehicle repair licence"],
                "requested_services": ["maintenance", "repair", "warranty", "roadside"]}
        # The public form: no key.
        response = await outlet.http.post("/api/network/v1/outlet-applications", json=body)
        if response.status_code != 201:
            raise ApiError("POST", "/api/network/v1/outlet-applications", response.status_code, response.text)
        self.application_id = response.json()["id"]
        self.demo.count(Tally.OUTLET_APPLICATIONS)

    async def review(self) -> None:
        outlet = self.outlet
        reviewed = await self.demo.hq_api.post(f"/api/network/v1/outlet-applications/{self.application_id}/review", {
            "decision": "approve", "reason": "meets the network's standards", "store_code": outlet.code,
            "region": outlet.spec["region"], "timezone": outlet.spec.get("timezone") or "Asia/Shanghai"})
        outlet.id = reviewed["store_id"]

    async def tick(self, item: str) -> None:
        await self.demo.hq_api.post(f"/api/network/v1/stores/{self.outlet.id}/onboarding/{item}/complete",
                                    {"note": "checked"})

    async def site_audit(self) -> None:
        await self.demo.hq.audit(self.outlet, passing=True)

    async def activate(self) -> None:
        demo, outlet = self.demo, self.outlet
        assert outlet.http is not None
        checklist = await demo.hq_api.get(f"/api/network/v1/stores/{outlet.id}/onboarding")
        for item in checklist["items"]:
            if not item["done"]:
                await self.tick(item["code"])
        # An outlet opens only with a certified warranty clerk (data/certifications.json): HQ records
        # the outlet's clerk and the certificate the brand's training gave them.
        assert outlet.id is not None  # reviewed, so made
        number = outlet.id.replace("-", "")[-12:].upper()
        clerk = await demo.hq_api.post("/api/network/v1/people", {
            "name": random_name(random.Random(f"{demo.config.seed}:{outlet.code}:clerk")), "phone": "13900000004",
            "employee_no": f"WC-{number}", "assignments": [{"store_id": outlet.id, "role": "warranty_clerk"}]})
        await demo.hq_api.post("/api/network/v1/certifications", {
            "person_id": clerk["id"], "course_code": "WTY", "certificate_no": f"WTY-{number}",
            "issued_on": demo.day.isoformat()})  # the simulated day the outlet opens
        await demo.hq_api.post(f"/api/network/v1/stores/{outlet.id}/activate")
        issued = await demo.issue_key("outlet_api", outlet.id, f"{outlet.code} dealer management system")
        outlet.keys["outlet_api"], outlet.principals["outlet_api"] = demo.api(outlet.http, issued.key), issued.id
        await outlet.workshop.staff(OUTLET_TECHNICIANS, random.Random(f"{demo.config.seed}:{outlet.code}:staff"))
        await outlet.parts.stock_shelves()
        await outlet.reception.read_capacity()
        await outlet.reception.waive_sign_off()
        outlet.operating = True
        self.demo.count(Tally.OUTLETS_ACTIVATED)
