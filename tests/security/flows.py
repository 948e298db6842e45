"""Business flows driven through the gateway, for tests that need real objects in a
real state (a delivered repair order, a job that passed its quality check)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

import httpx

from services.common import reference
from tests.security.helpers import new_key, new_store, poll, walk_in

# A customer-pay maintenance operation from the catalogue, and the skill it needs.
OPERATION = next(op for op in reference.labor_operations().values() if op["category"] == "maintenance")
OP_CODE, SKILL = OPERATION["op_code"], OPERATION["category"]


@dataclass
class StoreStaff:
    store: dict
    keys: dict[str, dict] = field(default_factory=dict)
    technician_id: str = ""

    @property
    def id(self) -> str:
        return self.store["id"]


def client(platform, key: dict | str) -> httpx.Client:
    return platform.api(key["key"] if isinstance(key, dict) else key, timeout=30)


def open_store(platform) -> StoreStaff:
    """A new dealer store with a manager, an advisor and a technician on the roster,
    known to every service."""
    with platform.api(platform.bootstrap_key) as hq:
        staff = StoreStaff(new_store(hq))
        for role in ("store_manager", "service_advisor", "technician"):
            staff.keys[role] = new_key(hq, role, staff.id, label=f"{role} of {staff.store['code']}")
    with client(platform, staff.keys["store_manager"]) as manager:
        holder = {}
        idem = {"Idempotency-Key": uuid.uuid4().hex}

        def roster():
            holder["r"] = manager.post("/api/workshop/v1/technicians", headers=idem, json={
                "name": "Zhang Wei", "skills": [SKILL], "principal_id": staff.keys["technician"]["id"]})
            return holder["r"].status_code == 201

        poll(roster, 15, f"workshop never knew store {staff.store['code']}: {holder.get('r') and holder['r'].text}")
        staff.technician_id = holder["r"].json()["id"]
        poll(lambda: manager.get("/api/reception/v1/appointments/availability",
                                 params={"date": date.today().isoformat()}).status_code == 200,
             15, "reception never knew the store")
    return staff


def deliver_repair_order(platform, staff: StoreStaff) -> dict:
    """Check in, one customer-pay labour line, estimate, approve, the job done and
    checked, settle, deliver. Returns the delivered order."""
    with client(platform, staff.keys["service_advisor"]) as advisor, \
            client(platform, staff.keys["store_manager"]) as manager, \
            client(platform, staff.keys["technician"]) as technician:
        order = _ok(walk_in(advisor), 201)
        rid = order["id"]
        _ok(advisor.post(f"/api/reception/v1/repair-orders/{rid}/lines",
                         json={"kind": "labor", "op_code": OP_CODE, "pay_type": "customer"}), 201)
        _ok(advisor.post(f"/api/reception/v1/repair-orders/{rid}/estimate"), 200)
        _ok(advisor.post(f"/api/reception/v1/repair-orders/{rid}/approve",
                         json={"approved_by": "Wang Fang", "channel": "in_person"}), 200)
        jobs: dict = {}

        def job_made():
            jobs["items"] = manager.get("/api/workshop/v1/jobs", params={"repair_order_id": rid}).json()["items"]
            return bool(jobs["items"])

        poll(job_made, 15, "workshop made no job from the approved order")
        for job in jobs["items"]:
            _ok(manager.post(f"/api/workshop/v1/jobs/{job['id']}/assign", json={"technician_id": staff.technician_id}), 200)
            _ok(technician.post(f"/api/workshop/v1/jobs/{job['id']}/start"), 200)
            _ok(technician.post(f"/api/workshop/v1/jobs/{job['id']}/complete", json={"notes": "oil and filter changed"}), 200)
            _ok(manager.post(f"/api/workshop/v1/jobs/{job['id']}/qc", json={"result": "pass", "inspector": "Chen Jie"}), 200)

        def ready():
            current = advisor.get(f"/api/reception/v1/repair-orders/{rid}").json()
            jobs["order"] = current
            return current["status"] == "ready"

        poll(ready, 15, f"repair order never became ready: {jobs.get('order', {}).get('status')}")
        due = jobs["order"]["totals"]["customer_due_fen"]
        payments = [{"method": "card", "amount_fen": due}] if due else []
        _ok(advisor.post(f"/api/reception/v1/repair-orders/{rid}/settle", json={"payments": payments}), 200)
        return _ok(advisor.post(f"/api/reception/v1/repair-orders/{rid}/deliver", json={"explained": True}), 200)


def _ok(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    return response.json()
