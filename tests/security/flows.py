"""Business flows driven through the gateway, for tests that need real objects in a
real state (a delivered repair order, a job that passed its quality check, a warranty
claim on a settlement, a maintenance reminder that is due)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from services.common import reference
from tests.security.helpers import new_key, new_store, new_vin, poll, until, walk_in
from tools.client import store_today

# A customer-pay maintenance operation from the catalogue, and the skill it needs.
OPERATION = next(op for op in reference.labor_operations().values() if op["category"] == "maintenance")
OP_CODE, SKILL = OPERATION["op_code"], OPERATION["category"]
# A repair the brand pays for under warranty, and the skill it needs.
WARRANTY_OPERATION = next(op for op in reference.labor_operations().values()
                          if op["warranty_eligible"] and op["category"] != SKILL)
WARRANTY_OP_CODE, WARRANTY_SKILL = WARRANTY_OPERATION["op_code"], WARRANTY_OPERATION["category"]
# A part the customer pays for.
PART = next(iter(reference.parts().values()))
PART_NO = PART["part_no"]
STAFF = ("store_manager", "service_advisor", "technician")


@dataclass
class StoreStaff:
    store: dict
    keys: dict[str, dict] = field(default_factory=dict)
    technician_id: str = ""

    @property
    def id(self) -> str:
        return self.store["id"]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.store.get("timezone") or "Asia/Shanghai")

    def today(self) -> date:
        return datetime.now(self.zone).date()


def client(platform, key: dict | str) -> httpx.Client:
    return platform.api(key["key"] if isinstance(key, dict) else key, timeout=30)


def open_store(platform, *, timezone: str | None = None, roles: tuple[str, ...] = STAFF) -> StoreStaff:
    """A new dealer store with a manager, an advisor and a technician (and any other
    roles asked for) on the roster, known to every service. The technician does
    maintenance and the warranty repair."""
    with platform.api(platform.bootstrap_key) as hq:
        staff = StoreStaff(new_store(hq, timezone=timezone))
        for role in dict.fromkeys(STAFF + roles):
            staff.keys[role] = new_key(hq, role, staff.id, label=f"{role} of {staff.store['code']}")
    with client(platform, staff.keys["store_manager"]) as manager:
        holder = {}
        idem = {"Idempotency-Key": uuid.uuid4().hex}

        def roster():
            holder["r"] = manager.post("/api/workshop/v1/technicians", headers=idem, json={
                "name": "Zhang Wei", "skills": [SKILL, WARRANTY_SKILL], "principal_id": staff.keys["technician"]["id"]})
            return holder["r"].status_code == 201

        poll(roster, 15, f"workshop never knew store {staff.store['code']}: {holder.get('r') and holder['r'].text}")
        staff.technician_id = holder["r"].json()["id"]
        poll(lambda: manager.get("/api/reception/v1/appointments/availability",
                                 params={"date": store_today().isoformat()}).status_code == 200,
             15, "reception never knew the store")
    return staff


def vehicle(sold_at: date | None = None, **extra) -> dict:
    car = {"vin": new_vin(), "plate": "沪A12345", "model": "Sedan", **extra}
    if sold_at is not None:
        car["sold_at"] = sold_at.isoformat()
    return car


def near_first_maintenance(staff: StoreStaff) -> dict:
    """A car sold a few days short of six months ago: its first maintenance falls due
    within the reminder lead time (and, driven little, not earlier by mileage)."""
    first = reference.maintenance_policy()["first_maintenance"]
    return vehicle(staff.today() - timedelta(days=round(first["months"] * 30.44) - 5))


def jobs_of(http: httpx.Client, repair_order_id: str, count: int = 1) -> list[dict]:
    return until(lambda: (lambda items: items if len(items) >= count else None)(
        http.get("/api/workshop/v1/jobs", params={"repair_order_id": repair_order_id}).json()["items"]),
        15, f"workshop made no jobs from approved order {repair_order_id}")


def reservations_of(http: httpx.Client, repair_order_id: str, count: int = 1) -> list[dict]:
    return until(lambda: (lambda items: items if len(items) >= count else None)(
        http.get("/api/workshop/v1/reservations", params={"repair_order_id": repair_order_id}).json()["items"]),
        15, f"workshop reserved no parts for approved order {repair_order_id}")


def approved_order(advisor: httpx.Client, *, labour=((OP_CODE, "customer"),), parts=(), car: dict | None = None,
                   mileage_km: int = 12000, manager: httpx.Client | None = None) -> dict:
    """A walk-in with the given labour (op code, pay type) and parts (part no, pay type),
    estimated and approved by the customer; signed off first by `manager` when given (a
    high-value order waits for the service manager's sign-off)."""
    order = _ok(walk_in(advisor, vehicle=car or vehicle(), mileage_km=mileage_km), 201)
    rid = order["id"]
    for op_code, pay_type in labour:
        _ok(advisor.post(f"/api/reception/v1/repair-orders/{rid}/lines",
                         json={"kind": "labor", "op_code": op_code, "pay_type": pay_type}), 201)
    for part_no, pay_type in parts:
        _ok(advisor.post(f"/api/reception/v1/repair-orders/{rid}/lines",
                         json={"kind": "part", "part_no": part_no, "pay_type": pay_type}), 201)
    _ok(advisor.post(f"/api/reception/v1/repair-orders/{rid}/estimate"), 200)
    if manager is not None:
        _ok(manager.post(f"/api/reception/v1/repair-orders/{rid}/sign-off", json={}), 200)
    return _ok(advisor.post(f"/api/reception/v1/repair-orders/{rid}/approve",
                            json={"approved_by": "Wang Fang", "channel": "in_person"}), 200)


def deliver_repair_order(platform, staff: StoreStaff, *, labour=((OP_CODE, "customer"),),
                         car: dict | None = None) -> dict:
    """Check in, labour lines, estimate, approve, every job done and checked, settle,
    deliver. Returns the delivered order."""
    with client(platform, staff.keys["service_advisor"]) as advisor, \
            client(platform, staff.keys["store_manager"]) as manager, \
            client(platform, staff.keys["technician"]) as technician:
        rid = approved_order(advisor, labour=labour, car=car)["id"]
        for job in jobs_of(manager, rid, len(labour)):
            _ok(manager.post(f"/api/workshop/v1/jobs/{job['id']}/assign", json={"technician_id": staff.technician_id}), 200)
            _ok(technician.post(f"/api/workshop/v1/jobs/{job['id']}/start"), 200)
            _ok(technician.post(f"/api/workshop/v1/jobs/{job['id']}/complete", json={"notes": "done"}), 200)
            _ok(manager.post(f"/api/workshop/v1/jobs/{job['id']}/qc", json={"result": "pass", "inspector": "Chen Jie"}), 200)
        return settle_and_deliver(advisor, rid)


def settle_and_deliver(advisor: httpx.Client, repair_order_id: str) -> dict:
    """Once workshop has reported the order ready: the customer pays what is due, the car goes home."""
    url = f"/api/reception/v1/repair-orders/{repair_order_id}"
    seen: dict = {}
    order = until(lambda: (lambda o: seen.update(o) or (o if o["status"] == "ready" else None))(advisor.get(url).json()),
                  15, f"repair order never became ready: {seen.get('status')}")
    due = order["totals"]["customer_due_fen"]
    payments = [{"method": "card", "amount_fen": due}] if due else []
    _ok(advisor.post(f"{url}/settle", json={"payments": payments}), 200)
    return _ok(advisor.post(f"{url}/deliver", json={"explained": True}), 200)


def first_callback(agent: httpx.Client, repair_order_id: str) -> dict:
    return until(lambda: next(iter(agent.get("/api/crm/v1/callbacks", params={
        "repair_order_id": repair_order_id}).json()["items"]), None), 15, "no callback for the delivered order")


def warranty_claim_body(repair_order_id: str) -> dict:
    return {"repair_order_id": repair_order_id, "complaint": "warning light on", "cause": "sensor fault",
            "correction": WARRANTY_OPERATION["description"]}


def submit_claim(http: httpx.Client, repair_order_id: str, headers: dict | None = None) -> httpx.Response:
    """Submitted as soon as network has heard the order was settled (422 until then)."""
    holder: dict = {}

    def submitted():
        holder["r"] = http.post("/api/network/v1/claims", json=warranty_claim_body(repair_order_id), headers=headers)
        return holder["r"].status_code != 422 or "repair_order_id" not in holder["r"].text

    poll(submitted, 15, f"network never knew repair order {repair_order_id}: {holder.get('r') and holder['r'].text}")
    return holder["r"]


def claim_on_settlement(platform, staff: StoreStaff, repair_order_id: str) -> tuple[dict, dict]:
    """The store claims the order's warranty work, HQ approves it and issues this
    month's settlement. Returns (claim, settlement)."""
    with client(platform, staff.keys["store_manager"]) as manager, platform.api(platform.bootstrap_key) as hq:
        claim = _ok(submit_claim(manager, repair_order_id), 201)
        _ok(hq.post(f"/api/network/v1/claims/{claim['id']}/decision", json={"decision": "approve"}), 200)
        settlement = _ok(hq.post("/api/network/v1/settlements", json={
            "store_id": staff.id, "period": datetime.now(staff.zone).strftime("%Y-%m")}), 201)
        return claim, settlement


def crm_knows_vehicle(http: httpx.Client, vin: str) -> None:
    poll(lambda: http.get(f"/api/crm/v1/vehicles/{vin}/history").status_code == 200, 15, f"crm never heard of {vin}")


def store_with_one_of_each(platform) -> dict:
    """A store with one object of every kind its staff works with: bookings, a delivered
    order and its callback, customer, vehicle and claim on a settlement, the same car back
    for the same repair (a comeback, with its job, part reservation and workshop order),
    a purchase order, a stock receipt, a complaint, a roadside request, a due maintenance
    reminder and its letter (a customer message), a report, an audit with a corrective
    action. Returns them by name, with the store's `staff`."""
    staff = open_store(platform, roles=STAFF + ("parts_clerk", "crm_agent"))
    made: dict = {"staff": staff}
    car = vehicle(staff.today().replace(year=staff.today().year - 1))
    made["delivered"] = deliver_repair_order(platform, staff, car=car,
                                             labour=((OP_CODE, "customer"), (WARRANTY_OP_CODE, "warranty")))
    made["claim"], made["settlement"] = claim_on_settlement(platform, staff, made["delivered"]["id"])
    with client(platform, staff.keys["service_advisor"]) as advisor, \
            client(platform, staff.keys["store_manager"]) as manager, \
            client(platform, staff.keys["crm_agent"]) as agent, platform.api(platform.bootstrap_key) as hq:
        made["callback"] = first_callback(agent, made["delivered"]["id"])
        made["call"] = until(lambda: next(iter(agent.get("/api/crm/v1/calls", params={
            "kind": "tracking", "customer_id": made["callback"]["customer_id"]}).json()["items"]), None), 5,
            "no tracking call for the delivered order")
        back = made["back"] = approved_order(advisor, car=car, parts=((PART_NO, "customer"),))
        made["job"] = jobs_of(manager, back["id"])[0]
        made["reservation"] = reservations_of(manager, back["id"])[0]
        made["comeback"] = until(lambda: next(iter(manager.get("/api/workshop/v1/comebacks", params={
            "repair_order_id": back["id"]}).json()["items"]), None), 15, "no comeback for the same repair")
        tomorrow = (datetime.now(staff.zone) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        made["appointment"] = _ok(advisor.post("/api/reception/v1/appointments", json={
            "customer": {"name": "Zhao Min", "phone": "13700137000"}, "vehicle": vehicle(), "service_type": "repair",
            "scheduled_at": tomorrow.isoformat()}), 201)
        made["roadside"] = _ok(advisor.post("/api/reception/v1/roadside-requests", json={
            "customer": {"name": "Liu Yang", "phone": "13900139000"}, "vehicle": vehicle(),
            "location": {"lat": 31.2, "lng": 121.5, "address": "Century Avenue 100"}, "problem": "flat battery"}), 201)
        made["complaint"] = _ok(manager.post("/api/crm/v1/complaints", json={
            "department": "reception", "severity": "low", "description": "waited too long"}), 201)
        made["purchase_order"] = _ok(manager.post("/api/workshop/v1/purchase-orders",
                                                  json={"lines": [{"part_no": PART_NO, "qty": 2}]}), 201)
        made["receipt"] = _ok(manager.post("/api/workshop/v1/stock/receipts", json={
            "reference": "DN-" + uuid.uuid4().hex[:6], "lines": [{"part_no": PART_NO, "qty": 1, "unit_cost_fen": 100}]}), 201)
        due_car = near_first_maintenance(staff)
        _ok(walk_in(advisor, vehicle=due_car, mileage_km=800), 201)
        crm_knows_vehicle(agent, due_car["vin"])
        _ok(manager.post("/api/crm/v1/jobs/maintenance_reminders/run"), 200)
        made["reminder"] = until(lambda: next(iter(agent.get("/api/crm/v1/reminders", params={
            "vin": due_car["vin"]}).json()["items"]), None), 5, f"no reminder for {due_car['vin']}")
        made["message"] = until(lambda: next(iter(agent.get("/api/crm/v1/messages", params={
            "about": made["reminder"]["id"]}).json()["items"]), None), 5, "no letter for the reminder")
        _ok(manager.post("/api/crm/v1/jobs/weekly_report/run"), 200)
        made["report"] = agent.get("/api/crm/v1/reports", params={"kind": "weekly"}).json()["items"][0]
        standards = reference.load("audit_standards")["items"]
        made["audit"] = _ok(hq.post(f"/api/network/v1/stores/{staff.id}/audits", json={
            "items": [{"code": s["code"], "score": 20 if n < 2 else 95} for n, s in enumerate(standards)]}), 201)
    return made


def _ok(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    return response.json()
