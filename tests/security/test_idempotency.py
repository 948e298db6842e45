"""Idempotency-Key through the gateway on the POST routes of every service: a retry with
the same key and body answers the first answer again and writes nothing new; the same
key with another body is 422 naming the header. Each POST is checked inside a real flow,
so the first answer is a success that was written."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from services.common import reference
from tests.security.flows import OP_CODE, SKILL, client, open_store
from tests.security.helpers import new_vin, poll

PART = next(iter(reference.parts().values()))
PART_NO = PART["part_no"]


class Checked:
    """Posts with a key, retries, then reuses the key with another body; records the route."""

    def __init__(self) -> None:
        self.routes: set[str] = set()

    def post(self, http: httpx.Client, url: str, body: dict | None = None, status: int | tuple = (200, 201)) -> dict:
        key = uuid.uuid4().hex
        headers = {"Idempotency-Key": key}
        first = http.post(url, json=body, headers=headers)
        wanted = status if isinstance(status, tuple) else (status,)
        assert first.status_code in wanted, f"POST {url}: {first.status_code} {first.text}"
        again = http.post(url, json=body, headers=headers)
        assert again.status_code == first.status_code, f"POST {url} replay: {again.status_code} {again.text}"
        assert again.json() == first.json(), f"POST {url}: the replay answered something else"
        assert again.headers.get("idempotent-replayed") == "true", f"POST {url}: not marked as replayed"
        other = http.post(url, json={**(body or {}), "note": "another body"}, headers=headers)
        assert other.status_code == 422, f"POST {url} with another body: {other.status_code} {other.text}"
        assert any(e.get("field") == "Idempotency-Key" for e in other.json().get("errors", [])), other.text
        route = re.sub(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "/{id}", url.split("?")[0])
        self.routes.add(re.sub(r"/onboarding/[^/]+/", "/onboarding/{id}/", route))
        return first.json()


def test_idempotency_key_replays_creates_and_actions_without_writing_twice(platform):
    """38 of the POST routes, each in the state where it succeeds (see docs/gateway.md for the rest)."""
    checked = Checked()
    with platform.api(platform.bootstrap_key) as hq:
        code = "I-" + uuid.uuid4().hex[:8].upper()
        store = checked.post(hq, "/api/network/v1/stores", {"code": code, "name": "Idem store", "kind": "dealer_store",
                                                             "region": "East", "city": "Hangzhou"}, 201)
        assert [s["code"] for s in hq.get("/api/network/v1/stores", params={"limit": 200}).json()["items"]].count(code) == 1
        key = checked.post(hq, "/api/network/v1/api-keys", {"role": "hq_analyst", "label": "idem"}, 201)
        listed = [k for k in hq.get("/api/network/v1/api-keys", params={"limit": 200}).json()["items"]
                  if k["label"] == "idem" and k["id"] == key["id"]]
        assert len(listed) == 1
        throwaway = hq.post("/api/network/v1/stores", json={"code": code + "-X", "name": "To suspend",
                                                            "kind": "dealer_store", "region": "East", "city": "Hangzhou"}).json()
        checked.post(hq, f"/api/network/v1/stores/{throwaway['id']}/suspend", {"reason": "closed down"})
        standards = reference.load("audit_standards")["items"]
        checked.post(hq, f"/api/network/v1/stores/{store['id']}/audits",
                     {"items": [{"code": i["code"], "score": 90} for i in standards]}, 201)
        outlet = hq.post("/api/network/v1/stores", json={"code": code + "-P", "name": "Partner", "kind": "partner_outlet",
                                                         "region": "East", "city": "Ningbo"}).json()
        for item in reference.load("onboarding_checklist")["items"]:
            checked.post(hq, f"/api/network/v1/stores/{outlet['id']}/onboarding/{item['code']}/complete")
        assert checked.post(hq, f"/api/network/v1/stores/{outlet['id']}/activate")["status"] == "active"

    staff = open_store(platform)
    with client(platform, staff.keys["service_advisor"]) as advisor, \
            client(platform, staff.keys["store_manager"]) as manager, \
            client(platform, staff.keys["technician"]) as technician:
        checked.post(manager, "/api/workshop/v1/technicians", {"name": "Sun Li", "skills": [SKILL]}, 201)
        checked.post(manager, "/api/workshop/v1/stock/receipts",
                     {"reference": "DN-" + uuid.uuid4().hex[:6], "lines": [{"part_no": PART_NO, "qty": 5, "unit_cost_fen": PART["dealer_cost_fen"]}]},
                     201)
        checked.post(manager, "/api/workshop/v1/stock/adjustments", {"part_no": PART_NO, "delta": -1, "reason": "damaged"},
                     (200, 201))
        checked.post(manager, "/api/workshop/v1/stock/issues", {"part_no": PART_NO, "qty": 1, "reason": "workshop use"},
                     (200, 201))
        stock = manager.get("/api/workshop/v1/stock", params={"part_no": PART_NO}).json()["items"]
        assert stock and stock[0]["on_hand"] == 3, stock
        po = checked.post(manager, "/api/workshop/v1/purchase-orders", {"lines": [{"part_no": PART_NO, "qty": 10}]}, 201)
        checked.post(manager, f"/api/workshop/v1/purchase-orders/{po['id']}/receive",
                     {"reference": "DN-PO-1", "lines": [{"part_no": PART_NO, "qty": 10}]})
        spare = manager.post("/api/workshop/v1/purchase-orders", json={"lines": [{"part_no": PART_NO, "qty": 1}]}).json()
        checked.post(manager, f"/api/workshop/v1/purchase-orders/{spare['id']}/cancel")

        zone = ZoneInfo(staff.store.get("timezone") or "Asia/Shanghai")
        tomorrow = (datetime.now(zone) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        appointment = checked.post(advisor, "/api/reception/v1/appointments", {
            "customer": {"name": "Zhao Min", "phone": "13700137000"}, "vehicle": {"vin": new_vin(), "model": "Sedan"},
            "service_type": "maintenance", "scheduled_at": tomorrow.isoformat()}, 201)
        checked.post(advisor, f"/api/reception/v1/appointments/{appointment['id']}/cancel")

        complaint = checked.post(manager, "/api/crm/v1/complaints",
                                 {"department": "reception", "severity": "low", "description": "long wait"}, 201)
        checked.post(manager, f"/api/crm/v1/complaints/{complaint['id']}/assign", {"owner": staff.keys["store_manager"]["id"]})
        checked.post(manager, f"/api/crm/v1/complaints/{complaint['id']}/resolve", {"resolution": "apologised, voucher"})

        roadside = checked.post(advisor, "/api/reception/v1/roadside-requests", {
            "customer": {"name": "Liu Yang", "phone": "13900139000"}, "vehicle": {"vin": new_vin()},
            "location": {"lat": 31.2, "lng": 121.5, "address": "Century Avenue 100"}, "problem": "flat battery"}, 201)
        checked.post(advisor, f"/api/reception/v1/roadside-requests/{roadside['id']}/dispatch", {"responder": "Van 3"})
        checked.post(advisor, f"/api/reception/v1/roadside-requests/{roadside['id']}/arrive")
        checked.post(advisor, f"/api/reception/v1/roadside-requests/{roadside['id']}/resolve", {"outcome": "repaired_on_site"})

        walk_in = {"customer": {"name": "Wang Fang", "phone": "13800138000"},
                   "vehicle": {"vin": new_vin(), "plate": "浙A54321", "model": "SUV"}, "mileage_km": 30000,
                   "complaint": "service due",
                   "inspection": {"fuel_level": "full", "exterior_damage": [], "warning_lights": [], "valuables": [], "notes": ""}}
        order = checked.post(advisor, "/api/reception/v1/repair-orders", walk_in, 201)
        orders = advisor.get("/api/reception/v1/repair-orders", params={"vin": walk_in["vehicle"]["vin"]}).json()["items"]
        assert len(orders) == 1, "a replayed check-in opened a second order"
        rid = order["id"]
        with_line = checked.post(advisor, f"/api/reception/v1/repair-orders/{rid}/lines",
                                 {"kind": "labor", "op_code": OP_CODE, "pay_type": "customer"}, 201)
        assert len(advisor.get(f"/api/reception/v1/repair-orders/{rid}").json()["lines"]) == len(with_line["lines"]) == 1
        advisor.post(f"/api/reception/v1/repair-orders/{rid}/lines", json={"kind": "part", "part_no": PART_NO})
        checked.post(advisor, f"/api/reception/v1/repair-orders/{rid}/estimate")
        checked.post(advisor, f"/api/reception/v1/repair-orders/{rid}/approve", {"approved_by": "Wang Fang", "channel": "phone"})
        jobs: dict = {}
        poll(lambda: bool(jobs.setdefault("items", manager.get("/api/workshop/v1/jobs", params={"repair_order_id": rid})
                                          .json()["items"]) or jobs.pop("items")), 15, "no job made")
        job = jobs["items"][0]["id"]
        checked.post(manager, f"/api/workshop/v1/jobs/{job}/assign", {"technician_id": staff.technician_id})
        checked.post(technician, f"/api/workshop/v1/jobs/{job}/start")
        checked.post(technician, f"/api/workshop/v1/jobs/{job}/pause")
        checked.post(technician, f"/api/workshop/v1/jobs/{job}/resume")
        checked.post(technician, f"/api/workshop/v1/jobs/{job}/complete", {"notes": "done"})
        checked.post(manager, f"/api/workshop/v1/jobs/{job}/qc", {"result": "pass", "inspector": "Chen Jie"})
        reservations: dict = {}
        poll(lambda: bool(reservations.setdefault("items", manager.get(
            "/api/workshop/v1/reservations", params={"repair_order_id": rid}).json()["items"]) or reservations.pop("items")),
            15, "no reservation made for the part line")
        checked.post(manager, f"/api/workshop/v1/reservations/{reservations['items'][0]['id']}/issue")
        state: dict = {}
        poll(lambda: state.update(advisor.get(f"/api/reception/v1/repair-orders/{rid}").json()) or state["status"] == "ready",
             15, "order never ready")
        due = state["totals"]["customer_due_fen"]
        checked.post(advisor, f"/api/reception/v1/repair-orders/{rid}/settle", {"payments": [{"method": "alipay", "amount_fen": due}]})
        delivered = checked.post(advisor, f"/api/reception/v1/repair-orders/{rid}/deliver", {"explained": True})
        assert delivered["status"] == "delivered"

        with platform.api(platform.bootstrap_key) as hq:
            agent_key = hq.post("/api/network/v1/api-keys", json={"role": "crm_agent", "store_id": staff.id,
                                                                  "label": "callback agent"}).json()
        with client(platform, agent_key) as agent:
            callbacks: dict = {}
            poll(lambda: bool(callbacks.setdefault("items", agent.get("/api/crm/v1/callbacks", params={
                "repair_order_id": rid}).json()["items"]) or callbacks.pop("items")), 15, "no callback for the delivered order")
            callback = callbacks["items"][0]["id"]
            checked.post(agent, f"/api/crm/v1/callbacks/{callback}/attempts", {"outcome": "no_answer"}, (200, 201))
            checked.post(agent, f"/api/crm/v1/callbacks/{callback}/cancel", {"reason": "customer asked not to be called"})

        second = checked.post(advisor, "/api/reception/v1/repair-orders", {**walk_in, "vehicle": {"vin": new_vin()}}, 201)
        checked.post(advisor, f"/api/reception/v1/repair-orders/{second['id']}/cancel")

    document = httpx.get(platform.gateway.url + "/openapi.json", timeout=60).json()
    posts = {re.sub(r"\{[^}]+\}", "{id}", p) for p, item in document["paths"].items() if "post" in item}
    assert checked.routes <= posts, checked.routes - posts
    assert len(checked.routes) >= 38, sorted(checked.routes)
