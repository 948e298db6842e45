"""Idempotency-Key through the gateway on every POST route of the merged contract: a
retry with the same key and body answers the first answer again (marked
`Idempotent-Replayed: true`) and writes nothing new; the same key with another body is
422 naming the header. Each POST is checked inside a real flow, so the first answer is a
success that was written.

Three walks check the routes: HQ running the network, a store's day (bookings, a
repair order from check-in to handover, parts, the callback desk, reminders) and the
store's warranty claim on HQ's settlement. The last test runs any walk not yet run and
compares the routes checked with the POST routes of /openapi.json, so a new POST route
fails it until a walk checks it (or, if no live flow can reach it, HELD_ELSEWHERE names
the test that checks it instead)."""
from __future__ import annotations

import re
import time
import uuid
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Callable

import httpx
import pytest

from services.common import reference
from tests.security.flows import (
    OP_CODE, PART, PART_NO, SKILL, STAFF, WARRANTY_OP_CODE, client, crm_knows_vehicle, first_callback, jobs_of,
    near_first_maintenance, open_store, reservations_of, vehicle, warranty_claim_body,
)
from tests.security.helpers import all_items, midday_zone, new_vin, until


class Checked:
    """Posts with a key, retries, then reuses the key with another body; records which
    route of the contract the URL is. Runs each walk once, whichever test asks first."""

    def __init__(self, platform, document: dict) -> None:
        self.platform = platform
        self.post_routes = {path for path, item in document["paths"].items() if "post" in item}
        self._templates = sorted(
            ((re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"), path)
             for path in self.post_routes),
            key=lambda t: -t[1].count("/") + t[1].count("{") / 100)  # literal segments win
        self.routes: set[str] = set()
        self._walks: dict[str, tuple[bool, Any]] = {}

    def route(self, url: str) -> str:
        path = url.split("?")[0]
        route = next((template for pattern, template in self._templates if pattern.match(path)), None)
        assert route is not None, f"POST {path} is no route of the contract"
        return route

    def post(self, http: httpx.Client, url: str, body: dict | None = None, status: int | tuple = (200, 201), *,
             retry_on: tuple[int, ...] = (), within: float = 15.0, unchanged: Callable[[], Any] | None = None) -> dict:
        """`retry_on`: statuses of a state not reached yet (an event on its way, a time not
        come); the same key is sent again until the answer is a success, since a failed
        request is not remembered. `unchanged`: reads what the request wrote; the replay
        and the refused reuse must leave it as the first answer left it."""
        route = self.route(url)
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        wanted = status if isinstance(status, tuple) else (status,)
        deadline = time.monotonic() + within
        first = http.post(url, json=body, headers=headers)
        while first.status_code in retry_on and time.monotonic() < deadline:
            time.sleep(0.1)
            first = http.post(url, json=body, headers=headers)
        assert first.status_code in wanted, f"POST {url}: {first.status_code} {first.text}"
        assert "idempotent-replayed" not in first.headers, f"POST {url}: a first answer marked as replayed"
        before = unchanged() if unchanged else None
        again = http.post(url, json=body, headers=headers)
        assert again.status_code == first.status_code, f"POST {url} replay: {again.status_code} {again.text}"
        assert again.json() == first.json(), f"POST {url}: the replay answered something else"
        assert again.headers.get("idempotent-replayed") == "true", f"POST {url}: not marked as replayed"
        other = http.post(url, json={**(body or {}), "note": "another body"}, headers=headers)
        assert other.status_code == 422, f"POST {url} with another body: {other.status_code} {other.text}"
        assert any(e.get("field") == "Idempotency-Key" for e in other.json().get("errors", [])), other.text
        if unchanged:
            assert unchanged() == before, f"POST {url}: the replay or the refused reuse wrote something"
        self.routes.add(route)
        return first.json()

    def post_csv(self, http: httpx.Client, url: str, text: str, other: str,
                 unchanged: Callable[[], Any] | None = None) -> dict:
        """`post` for a CSV body (a campaign's VINs): the refused reuse sends `other`."""
        route = self.route(url)
        headers = {"Idempotency-Key": uuid.uuid4().hex, "Content-Type": "text/csv"}
        first = http.post(url, content=text.encode(), headers=headers)
        assert first.status_code in (200, 201), f"POST {url}: {first.status_code} {first.text}"
        assert "idempotent-replayed" not in first.headers, f"POST {url}: a first answer marked as replayed"
        before = unchanged() if unchanged else None
        again = http.post(url, content=text.encode(), headers=headers)
        assert (again.status_code, again.json()) == (first.status_code, first.json()), f"POST {url} replay: {again.text}"
        assert again.headers.get("idempotent-replayed") == "true", f"POST {url}: not marked as replayed"
        reused = http.post(url, content=other.encode(), headers=headers)
        assert reused.status_code == 422, f"POST {url} with another body: {reused.status_code} {reused.text}"
        assert any(e.get("field") == "Idempotency-Key" for e in reused.json().get("errors", [])), reused.text
        if unchanged:
            assert unchanged() == before, f"POST {url}: the replay or the refused reuse wrote something"
        self.routes.add(route)
        return first.json()

    def refused(self, http: httpx.Client, url: str) -> None:
        """A route whose answer may not be stored to replay (a one-time password): a key is a
        422 naming the header, and is not remembered, so the same key is refused again."""
        route = self.route(url)
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        for _ in range(2):
            answer = http.post(url, headers=headers)
            assert answer.status_code == 422, f"POST {url} with a key: {answer.status_code} {answer.text}"
            assert [e.get("field") for e in answer.json().get("errors", [])] == ["Idempotency-Key"], answer.text
        self.routes.add(route)

    def walk(self, walk: Callable[["Checked"], Any]) -> Any:
        name = walk.__name__
        if name not in self._walks:
            try:
                self._walks[name] = (True, walk(self))
            except BaseException as exc:
                self._walks[name] = (False, exc)
                raise
        ok, value = self._walks[name]
        if not ok:
            raise AssertionError(f"walk {name} failed: {value!r}")
        return value


@pytest.fixture(scope="module")
def checked(platform) -> Checked:
    document = httpx.get(platform.gateway.url + "/openapi.json", timeout=60).json()
    assert not document["info"].get("x-services-missing"), document["info"]
    return Checked(platform, document)


def _count(http: httpx.Client, url: str, match: Callable[[dict], bool], **params) -> int:
    return sum(1 for item in all_items(http, url, **params) if match(item))


def hq_runs_the_network(checked: Checked) -> None:
    platform = checked.platform
    with platform.api(platform.bootstrap_key) as hq, platform.api() as anonymous:
        code = "I-" + uuid.uuid4().hex[:8].upper()
        store = checked.post(hq, "/api/network/v1/stores", {"code": code, "name": "Idem store", "kind": "dealer_store",
                                                             "region": "East", "city": "Hangzhou"}, 201,
                             unchanged=lambda: _count(hq, "/api/network/v1/stores", lambda s: s["code"] == code))
        assert _count(hq, "/api/network/v1/stores", lambda s: s["code"] == code) == 1
        key = checked.post(hq, "/api/network/v1/api-keys", {"role": "hq_analyst", "label": "idem"}, 201)

        # The store's system's webhook: registered (a replay answers the same secret and makes no
        # second endpoint), its secret rotated, paused, resumed and pinged; each once.
        hooks_url = "/api/network/v1/webhooks"
        hooks = partial(_count, hq, hooks_url, lambda w: True, store_id=store["id"])
        hook = checked.post(hq, hooks_url, {"store_id": store["id"], "url": "https://dms.example.cn/hooks",
                                            "event_types": ["network.claim.decided"]}, 201, unchanged=hooks)
        hook_url = f"{hooks_url}/{hook['id']}"

        def hook_version() -> int:
            return hq.get(hook_url).json()["version"]

        rotated = checked.post(hq, f"{hook_url}/rotate-secret", unchanged=hook_version)
        assert rotated["secret"] != hook["secret"]
        checked.post(hq, f"{hook_url}/pause", unchanged=hook_version)
        checked.post(hq, f"{hook_url}/resume", unchanged=hook_version)
        checked.post(hq, f"{hook_url}/ping", status=201, unchanged=lambda: len(all_items(hq, f"{hook_url}/deliveries")))
        assert (hooks(), hook_version(), len(all_items(hq, f"{hook_url}/deliveries"))) == (1, 4, 1)

        # A region with an area, a second area, and a warranty policy version from the day after the
        # last one (each walk's platform may already hold some): each written once.
        region_code = "R-" + code
        regions = partial(_count, hq, "/api/network/v1/regions", lambda r: r["code"] == region_code)
        region = checked.post(hq, "/api/network/v1/regions", {"code": region_code, "name": "Idem region",
                                                              "areas": [{"code": "A1", "name": "Idem area"}]},
                              201, unchanged=regions)
        region_url = f"/api/network/v1/regions/{region['id']}"
        checked.post(hq, f"{region_url}/areas", {"code": "A2", "name": "Idem area 2"}, 201,
                     unchanged=lambda: hq.get(region_url).json()["areas"])
        assert (regions(), len(hq.get(region_url).json()["areas"])) == (1, 2)
        policy_url = "/api/network/v1/policies/warranty_policy/versions"
        earlier = hq.get(policy_url).json()["items"]
        effective = max(date.fromisoformat(earlier[-1]["effective_from"]) + timedelta(days=1),
                        datetime.now().date() + timedelta(days=1))
        added = checked.post(hq, policy_url, {"effective_from": effective.isoformat(),
                                              "body": {**earlier[-1]["body"], "submission_deadline_days": 45}},
                             201, unchanged=lambda: len(hq.get(policy_url).json()["items"]))
        assert added["version"] == len(hq.get(policy_url).json()["items"]) == len(earlier) + 1
        assert _count(hq, "/api/network/v1/api-keys", lambda k: k["id"] == key["id"] or k["label"] == "idem") == 1

        throwaway = hq.post("/api/network/v1/stores", json={"code": code + "-X", "name": "To suspend",
                                                            "kind": "dealer_store", "region": "East", "city": "Hangzhou"}).json()
        checked.post(hq, f"/api/network/v1/stores/{throwaway['id']}/suspend", {"reason": "closed down"})

        # Two standards below the pass mark: two corrective actions, however often the audit is retried.
        standards = reference.load("audit_standards")["items"]
        low = {s["code"] for s in standards[:2]}
        actions_url = f"/api/network/v1/stores/{store['id']}/corrective-actions"
        audit = checked.post(hq, f"/api/network/v1/stores/{store['id']}/audits",
                             {"items": [{"code": i["code"], "score": 20 if i["code"] in low else 95} for i in standards]},
                             201, unchanged=lambda: len(all_items(hq, actions_url)))
        assert {a["item_code"] for a in audit["corrective_actions"]} == low, audit
        assert len(all_items(hq, actions_url)) == len(low)
        action = audit["corrective_actions"][0]
        closed = checked.post(hq, f"{actions_url}/{action['id']}/close", {"resolution": "staff retrained, re-checked"},
                              unchanged=lambda: all_items(hq, actions_url, status="closed"))
        assert closed["status"] == "closed"

        # A recall: drafted, its affected VINs uploaded as CSV, published; each once.
        campaign_code = "RC-" + code
        campaigns = partial(_count, hq, "/api/network/v1/campaigns", lambda c: c["code"] == campaign_code)
        today = datetime.now().date()
        campaign = checked.post(hq, "/api/network/v1/campaigns", {
            "code": campaign_code, "kind": "recall", "title_zh": "燃油泵检查", "title_en": "Fuel pump check",
            "op_code": OP_CODE, "flat_hours": "0.5", "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=90)).isoformat()}, 201, unchanged=campaigns)
        assert campaigns() == 1
        campaign_url = f"/api/network/v1/campaigns/{campaign['id']}"
        affected = [new_vin() for _ in range(3)]
        uploaded = checked.post_csv(hq, f"{campaign_url}/vins", "vin\n" + "\n".join(affected) + "\n",
                                    "vin\n" + new_vin() + "\n", unchanged=lambda: hq.get(campaign_url).json()["vin_count"])
        assert uploaded["vin_count"] == hq.get(campaign_url).json()["vin_count"] == len(affected), uploaded
        published = checked.post(hq, f"{campaign_url}/publish", unchanged=lambda: hq.get(campaign_url).json())
        assert published["status"] == "published", published

        # A partner outlet applies on the public form (no key), HQ approves it, onboards and activates it.
        company = f"Idem Auto Service {code}"
        application = checked.post(anonymous, "/api/network/v1/outlet-applications", {
            "company_name": company, "license_no": "91320583" + uuid.uuid4().hex[:10].upper(),
            "contact": {"name": "Zhou Min", "phone": "13900000002", "email": "zhou@example.cn"},
            "address": {"province": "Jiangsu", "city": "Kunshan", "line": "88 Qianjin Road"},
            "bays": 6, "technicians": 8, "certifications": ["ASE"], "requested_services": ["maintenance", "warranty"],
        }, 201, unchanged=lambda: _count(hq, "/api/network/v1/outlet-applications", lambda a: a["company_name"] == company))
        assert _count(hq, "/api/network/v1/outlet-applications", lambda a: a["company_name"] == company) == 1
        outlet_code = "PO-" + code
        reviewed = checked.post(hq, f"/api/network/v1/outlet-applications/{application['id']}/review",
                                {"decision": "approve", "reason": "meets the standards", "store_code": outlet_code},
                                unchanged=lambda: _count(hq, "/api/network/v1/stores", lambda s: s["code"] == outlet_code))
        assert reviewed["status"] == "approved"
        assert _count(hq, "/api/network/v1/stores", lambda s: s["code"] == outlet_code) == 1
        outlet = reviewed["store_id"]
        for item in reference.load("onboarding_checklist")["items"]:
            checked.post(hq, f"/api/network/v1/stores/{outlet}/onboarding/{item['code']}/complete")
        # It opens only with a certified warranty clerk (every store's): HQ records the clerk and the
        # certificate, a course of its own, and a certificate granted in error, revoked; each once.
        clerk_no = "E-" + uuid.uuid4().hex[:8].upper()
        clerk = checked.post(hq, "/api/network/v1/people", {
            "name": "Sun Li", "phone": "13900000004", "employee_no": clerk_no,
            "assignments": [{"store_id": outlet, "role": "warranty_clerk"}],
        }, 201, unchanged=lambda: _count(hq, "/api/network/v1/people", lambda p: p["employee_no"] == clerk_no))
        held = partial(_count, hq, "/api/network/v1/certifications", lambda c: True, person_id=clerk["id"])
        checked.post(hq, "/api/network/v1/certifications", {
            "person_id": clerk["id"], "course_code": "WTY", "certificate_no": "WTY-" + code,
            "issued_on": today.isoformat()}, 201, unchanged=held)
        course_code = "K" + code[2:]
        courses = lambda: [c["code"] for c in hq.get("/api/network/v1/courses").json()["items"]]  # noqa: E731
        checked.post(hq, "/api/network/v1/courses", {"code": course_code, "name_zh": "幂等课程", "name_en": "Idem course",
                                                     "validity_months": 12}, 201, unchanged=courses)
        mistaken = checked.post(hq, "/api/network/v1/certifications", {
            "person_id": clerk["id"], "course_code": course_code, "certificate_no": "X-" + code,
            "issued_on": today.isoformat()}, 201, unchanged=held)
        revoked = checked.post(hq, f"/api/network/v1/certifications/{mistaken['id']}/revoke",
                               {"reason": "granted in error"},
                               unchanged=lambda: hq.get(f"/api/network/v1/certifications/{mistaken['id']}").json())
        assert revoked["status"] == "revoked" and held() == 2 and courses().count(course_code) == 1
        assert checked.post(hq, f"/api/network/v1/stores/{outlet}/activate")["status"] == "active"

        # HQ registers the outlet's service manager in the staff directory; later the person leaves.
        employee_no = "E-" + uuid.uuid4().hex[:8].upper()
        person = checked.post(hq, "/api/network/v1/people", {
            "name": "Qian Li", "phone": "13900000003", "employee_no": employee_no,
            "assignments": [{"store_id": outlet, "role": "service_manager"}],
        }, 201, unchanged=lambda: _count(hq, "/api/network/v1/people", lambda p: p["employee_no"] == employee_no))
        # A sign-in's answer holds a one-time password, kept nowhere: no key is taken, a retry issues anew.
        checked.refused(hq, f"/api/network/v1/people/{person['id']}/sign-in")
        left = checked.post(hq, f"/api/network/v1/people/{person['id']}/leave", {"reason": "moved to another group"},
                            unchanged=lambda: hq.get(f"/api/network/v1/people/{person['id']}").json())
        assert left["status"] == "left"

        # A rebuild started once is not started again by its retry: the replay names the first job.
        job = checked.post(hq, "/api/network/v1/kpis/rebuild", None, 202)
        assert job["state"] == "queued", job

        def finished() -> dict | None:
            now = hq.get(f"/api/network/v1/kpis/rebuild/jobs/{job['id']}").json()
            return now if now["state"] in ("done", "failed") else None

        over = until(finished, 120, "the rebuild job never finished")
        assert over["state"] == "done" and over["events_read"] > 0 and over["events_skipped"] == 0, over


def a_store_day(checked: Checked) -> dict:
    """Returns the store and its delivered repair order with a warranty line."""
    platform = checked.platform
    # A store where it is midday now, so an appointment a few seconds ahead is in its booking hours.
    staff = open_store(platform, timezone=midday_zone(), roles=STAFF + ("parts_clerk", "crm_agent"))
    with client(platform, staff.keys["service_advisor"]) as advisor, \
            client(platform, staff.keys["store_manager"]) as manager, \
            client(platform, staff.keys["technician"]) as technician, \
            client(platform, staff.keys["parts_clerk"]) as clerk, \
            client(platform, staff.keys["crm_agent"]) as agent:
        def on_hand() -> int:
            return manager.get("/api/workshop/v1/stock", params={"part_no": PART_NO}).json()["items"][0]["on_hand"]

        checked.post(manager, "/api/workshop/v1/technicians", {"name": "Sun Li", "skills": [SKILL]}, 201,
                     unchanged=lambda: len(all_items(manager, "/api/workshop/v1/technicians")))
        checked.post(clerk, "/api/workshop/v1/stock/receipts",
                     {"reference": "DN-" + uuid.uuid4().hex[:6],
                      "lines": [{"part_no": PART_NO, "qty": 5, "unit_cost_fen": PART["dealer_cost_fen"]}]}, 201,
                     unchanged=on_hand)
        checked.post(clerk, "/api/workshop/v1/stock/adjustments", {"part_no": PART_NO, "delta": -1, "reason": "damaged"},
                     unchanged=on_hand)
        checked.post(clerk, "/api/workshop/v1/stock/issues", {"part_no": PART_NO, "qty": 1, "reason": "workshop use"},
                     unchanged=on_hand)
        assert on_hand() == 3
        po = checked.post(clerk, "/api/workshop/v1/purchase-orders", {"lines": [{"part_no": PART_NO, "qty": 10}]}, 201,
                          unchanged=lambda: len(all_items(clerk, "/api/workshop/v1/purchase-orders")))
        checked.post(clerk, f"/api/workshop/v1/purchase-orders/{po['id']}/receive",
                     {"reference": "DN-PO-1", "lines": [{"part_no": PART_NO, "qty": 10}]}, unchanged=on_hand)
        assert on_hand() == 13
        spare = clerk.post("/api/workshop/v1/purchase-orders", json={"lines": [{"part_no": PART_NO, "qty": 1}]}).json()
        checked.post(clerk, f"/api/workshop/v1/purchase-orders/{spare['id']}/cancel")
        checked.post(manager, "/api/workshop/v1/vendors", {"name": "Huaxin Glass", "specialties": ["glass"]}, 201,
                     unchanged=lambda: len(all_items(manager, "/api/workshop/v1/vendors")))

        # Bookings: one for tomorrow the customer cancels; one a few seconds from now nobody
        # turns up for (marked a no-show at the end of the day's walk, its time past by then).
        tomorrow = (datetime.now(staff.zone) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        booking = {"customer": {"name": "Zhao Min", "phone": "13700137000"}, "service_type": "maintenance"}
        appointment = checked.post(advisor, "/api/reception/v1/appointments", {
            **booking, "vehicle": {"vin": new_vin(), "model": "Sedan"}, "scheduled_at": tomorrow.isoformat()}, 201,
            unchanged=lambda: len(all_items(advisor, "/api/reception/v1/appointments", date=tomorrow.date().isoformat())))
        checked.post(advisor, f"/api/reception/v1/appointments/{appointment['id']}/cancel")
        soon = advisor.post("/api/reception/v1/appointments", json={
            **booking, "vehicle": {"vin": new_vin()},
            "scheduled_at": (datetime.now(staff.zone) + timedelta(seconds=5)).isoformat()})
        assert soon.status_code == 201, soon.text

        checked.post(manager, "/api/crm/v1/complaints",
                     {"department": "reception", "severity": "low", "description": "long wait"}, 201,
                     unchanged=lambda: len(all_items(manager, "/api/crm/v1/complaints")))

        roadside = checked.post(advisor, "/api/reception/v1/roadside-requests", {
            "customer": {"name": "Liu Yang", "phone": "13900139000"}, "vehicle": {"vin": new_vin()},
            "location": {"lat": 31.2, "lng": 121.5, "address": "Century Avenue 100"}, "problem": "flat battery"}, 201,
            unchanged=lambda: len(all_items(advisor, "/api/reception/v1/roadside-requests")))
        checked.post(advisor, f"/api/reception/v1/roadside-requests/{roadside['id']}/dispatch", {"responder": "Van 3"})
        checked.post(advisor, f"/api/reception/v1/roadside-requests/{roadside['id']}/arrive")
        checked.post(advisor, f"/api/reception/v1/roadside-requests/{roadside['id']}/resolve", {"outcome": "repaired_on_site"})

        # A repair order: maintenance the customer pays, a repair under warranty, an oil filter.
        car = vehicle(staff.today().replace(year=staff.today().year - 1), plate="浙A54321")
        check_in = {"customer": {"name": "Wang Fang", "phone": "13800138000"}, "vehicle": car, "mileage_km": 30000,
                    "complaint": "service due, warning light on",
                    "inspection": {"fuel_level": "full", "exterior_damage": [], "warning_lights": [], "valuables": [],
                                   "notes": ""}}
        orders_of_car = partial(all_items, advisor, "/api/reception/v1/repair-orders", vin=car["vin"])
        order = checked.post(advisor, "/api/reception/v1/repair-orders", check_in, 201, unchanged=lambda: len(orders_of_car()))
        assert len(orders_of_car()) == 1, "a replayed check-in opened a second order"
        rid = order["id"]
        order_url = f"/api/reception/v1/repair-orders/{rid}"

        def lines() -> list[dict]:
            return advisor.get(order_url).json()["lines"]

        with_line = checked.post(advisor, f"{order_url}/lines", {"kind": "labor", "op_code": OP_CODE, "pay_type": "customer"},
                                 201, unchanged=lines)
        assert len(lines()) == len(with_line["lines"]) == 1
        for line in ({"kind": "labor", "op_code": WARRANTY_OP_CODE, "pay_type": "warranty"},
                     {"kind": "part", "part_no": PART_NO}):
            assert advisor.post(f"{order_url}/lines", json=line).status_code == 201
        checked.post(advisor, f"{order_url}/estimate")
        # The store signs off every estimate from one fen: approval waits for the manager's sign-off.
        put = manager.put(f"/api/reception/v1/stores/{staff.id}/settings", json={"high_value_threshold_fen": 1})
        assert put.status_code == 200, put.text
        approval = {"approved_by": "Wang Fang", "channel": "phone"}
        waiting = advisor.post(f"{order_url}/approve", json=approval)
        assert waiting.status_code == 409 and waiting.json()["rule"] == "high_value_sign_off", waiting.text

        def version() -> int:
            return advisor.get(order_url).json()["version"]

        signed = checked.post(manager, f"{order_url}/sign-off", None, unchanged=version)
        assert signed["signed_off_fen"] == signed["totals"]["subtotal_fen"] + signed["totals"]["tax_fen"], signed
        approved = checked.post(advisor, f"{order_url}/approve", approval)
        # The car is promised back a day later than said: moved once, however often the move is retried.
        later = datetime.fromisoformat(approved["promised_at"]) + timedelta(days=1)
        moved = checked.post(advisor, f"{order_url}/promise", {"promised_at": later.isoformat(),
                                                               "reason": "a part comes tomorrow"}, unchanged=version)
        assert moved["promise_moves"] == 1 and datetime.fromisoformat(moved["promised_at"]) == later, moved
        jobs = {job["op_code"]: job["id"] for job in jobs_of(manager, rid, 2)}
        job_url = f"/api/workshop/v1/jobs/{jobs[OP_CODE]}"
        checked.post(manager, f"{job_url}/assign", {"technician_id": staff.technician_id})
        checked.post(technician, f"{job_url}/start")
        checked.post(technician, f"{job_url}/pause")
        checked.post(technician, f"{job_url}/resume")
        checked.post(technician, f"{job_url}/complete", {"notes": "done"})
        checked.post(manager, f"{job_url}/qc", {"result": "pass", "inspector": "Chen Jie"})
        warranty_job = f"/api/workshop/v1/jobs/{jobs[WARRANTY_OP_CODE]}"
        for step, body in (("assign", {"technician_id": staff.technician_id}), ("start", None),
                           ("complete", {"notes": "sensor replaced"}), ("qc", {"result": "pass", "inspector": "Chen Jie"})):
            assert (technician if step in ("start", "complete") else manager).post(
                f"{warranty_job}/{step}", json=body).status_code == 200, step
        reservation = reservations_of(clerk, rid)[0]
        checked.post(clerk, f"/api/workshop/v1/reservations/{reservation['id']}/issue", unchanged=on_hand)
        assert on_hand() == 12

        def ready() -> dict | None:
            current = advisor.get(order_url).json()
            return current if current["status"] == "ready" else None

        due = until(ready, 15, "order never ready")["totals"]["customer_due_fen"]
        checked.post(advisor, f"{order_url}/settle", {"payments": [{"method": "alipay", "amount_fen": due}]})
        delivered = checked.post(advisor, f"{order_url}/deliver", {"explained": True})
        assert delivered["status"] == "delivered"
        # The filter was not fitted after all: back on the shelf, once.
        checked.post(clerk, f"/api/workshop/v1/reservations/{reservation['id']}/return",
                     {"quantity": 1, "reason": "not fitted"}, unchanged=on_hand)
        assert on_hand() == 13

        # The callback desk: an unanswered call, then the survey; a low price score opens a
        # complaint for parts; its resolution plans a follow-up call the customer declines.
        callback = first_callback(agent, rid)["id"]
        complaints_of_order = partial(all_items, agent, "/api/crm/v1/complaints", repair_order_id=rid)
        checked.post(agent, f"/api/crm/v1/callbacks/{callback}/attempts", {"outcome": "no_answer"}, 201,
                     unchanged=lambda: len(agent.get(f"/api/crm/v1/callbacks/{callback}").json()["attempts"]))
        surveyed = checked.post(agent, f"/api/crm/v1/callbacks/{callback}/survey", {
            "answers": {"speed": 5, "price": 1, "advisor": 5, "quality": 5, "cleanliness": 5, "overall": 4},
            "verbatim": "The oil change cost far more than last year."}, 201, unchanged=complaints_of_order)
        opened = surveyed["survey"]["complaints_opened"]
        assert len(opened) == 1 and [c["id"] for c in complaints_of_order()] == opened, surveyed["survey"]
        follow_ups = partial(all_items, agent, "/api/crm/v1/callbacks", complaint_id=opened[0])
        checked.post(agent, f"/api/crm/v1/complaints/{opened[0]}/assign", {"owner": staff.keys["store_manager"]["id"]})
        # Its owner signs for a date sooner than the deadline, which needs no reason.
        complaint_url = f"/api/crm/v1/complaints/{opened[0]}"
        sooner = datetime.now(staff.zone) + timedelta(days=1)
        committed = checked.post(manager, f"{complaint_url}/due-date", {"due_at": sooner.isoformat()},
                                 unchanged=lambda: agent.get(complaint_url).json()["version"])
        assert datetime.fromisoformat(committed["due_at"]) == sooner, committed
        checked.post(agent, f"/api/crm/v1/complaints/{opened[0]}/resolve", {"resolution": "refunded the difference"},
                     unchanged=lambda: len(follow_ups()))
        follow_up = [c for c in follow_ups() if c["kind"] == "follow_up"]
        assert len(follow_up) == 1, follow_up
        checked.post(agent, f"/api/crm/v1/callbacks/{follow_up[0]['id']}/cancel", {"reason": "customer asked not to be called"})

        # Reminders: a car near its first maintenance comes in; the manager runs the day's
        # reminder job by hand (a replay is not a second run) and the desk sends the reminder.
        due_car = near_first_maintenance(staff)
        assert advisor.post("/api/reception/v1/repair-orders", json={
            **check_in, "vehicle": due_car, "mileage_km": 800, "complaint": "rattle"}).status_code == 201
        crm_knows_vehicle(agent, due_car["vin"])

        def runs() -> list[int]:
            return [run["runs"] for job in manager.get("/api/crm/v1/jobs").json()["items"]
                    if job["name"] == "maintenance_reminders" for run in job["last_runs"] if run["store_id"] == staff.id]
        ran = checked.post(manager, "/api/crm/v1/jobs/maintenance_reminders/run", None, 200, unchanged=runs)
        assert runs() == [ran["stores"][0]["runs_today"]], (runs(), ran)
        reminder = until(lambda: all_items(agent, "/api/crm/v1/reminders", vin=due_car["vin"], status="pending"),
                         5, f"no reminder for {due_car['vin']}: {ran}")[0]
        sent = checked.post(agent, f"/api/crm/v1/reminders/{reminder['id']}/sent", {"channel": "sms"})
        assert sent["status"] == "sent"

        second = checked.post(advisor, "/api/reception/v1/repair-orders", {**check_in, "vehicle": vehicle()}, 201)
        checked.post(advisor, f"/api/reception/v1/repair-orders/{second['id']}/cancel")

        # Accessories sold over the counter: rung up, paid at the till,
        # and a second sale cancelled before payment.
        sales_url = "/api/reception/v1/counter-sales"
        sale = checked.post(advisor, sales_url, {"lines": [{"accessory_code": "ACC-DASHCAM", "quantity": 2}],
                                                 "vin": car["vin"]}, 201,
                            unchanged=lambda: len(all_items(advisor, sales_url)))
        checked.post(advisor, f"{sales_url}/{sale['id']}/pay",
                     {"payments": [{"method": "card", "amount_fen": sale["total_fen"]}]},
                     unchanged=lambda: advisor.get(f"{sales_url}/{sale['id']}").json()["version"])
        unpaid = advisor.post(sales_url, json={"lines": [{"accessory_code": "ACC-MUDFLAP"}]})
        assert unpaid.status_code == 201, unpaid.text
        checked.post(advisor, f"{sales_url}/{unpaid.json()['id']}/cancel")

        no_show = checked.post(advisor, f"/api/reception/v1/appointments/{soon.json()['id']}/no-show", retry_on=(409,))
        assert no_show["status"] == "no_show"

        # The tracking call a week after delivery: the customer, made a club member, books the
        # next service, says the repair needs doing again and makes a suggestion.
        customer_id = first_callback(agent, rid)["customer_id"]
        call = until(lambda: next(iter(agent.get("/api/crm/v1/calls", params={
            "kind": "tracking", "customer_id": customer_id}).json()["items"]), None), 15, "no tracking call")
        call_url = f"/api/crm/v1/calls/{call['id']}"
        customer_url = f"/api/crm/v1/customers/{customer_id}"
        member = agent.patch(customer_url, json={"club_member": True,
                                                 "version": agent.get(customer_url).json()["version"]})
        assert member.status_code == 200, member.text
        offer = checked.post(agent, f"{call_url}/next-service-booking", {
            "scheduled_at": (datetime.now(staff.zone) + timedelta(days=3)).isoformat()}, 201,
            unchanged=lambda: agent.get(call_url).json()["next_service"]["booking"])
        assert offer["vin"] == car["vin"] and offer["via"] == f"call:{call['id']}", offer
        returns = partial(all_items, agent, "/api/crm/v1/return-repairs", vin=car["vin"])
        checked.post(agent, f"{call_url}/return-repair", {"description": "the warning light is back"}, 201,
                     unchanged=lambda: len(returns()))
        assert len(returns()) == 1
        suggestions = partial(all_items, agent, "/api/crm/v1/member-suggestions", customer_id=customer_id)
        checked.post(agent, f"{call_url}/suggestions", {"text": "text me when the car is ready"}, 201,
                     unchanged=lambda: len(suggestions()))
        assert len(suggestions()) == 1
        result = checked.post(agent, f"/api/crm/v1/calls/{call['id']}/result", {"result": "return_repair"},
                              unchanged=lambda: agent.get(call_url).json()["version"])
        assert (result["status"], result["result"]) == ("done", "return_repair"), result
        # The advisor's customer base (every car they served today): the service manager hands it
        # to an advisor who joined today (422 until CRM has heard of them) and moves one car on
        # to another.
        with platform.api(platform.bootstrap_key) as hq:
            joined = [hq.post("/api/network/v1/people", json={
                "name": name, "phone": "13600136000", "employee_no": "SA-" + uuid.uuid4().hex[:10].upper(),
                "assignments": [{"store_id": staff.id, "role": "service_advisor"}]}) for name in ("Qian Li", "Sun Yu")]
        assert all(p.status_code == 201 for p in joined), [p.text for p in joined]
        taker, other_taker = (p.json()["id"] for p in joined)
        base_url = f"/api/crm/v1/stores/{staff.id}/customer-base"

        def holding(person_id: str) -> int:
            return manager.get(f"/api/crm/v1/advisors/{person_id}/customer-base").json()["vehicles"]

        handed = checked.post(manager, f"{base_url}/reassign", {
            "from_person_id": staff.keys["service_advisor"]["id"], "to_person_id": taker}, retry_on=(422,),
            unchanged=lambda: holding(taker))
        assert handed["vehicles"] >= 1 and holding(taker) == handed["vehicles"], handed
        checked.post(manager, f"{base_url}/move", {"vin": car["vin"], "to_person_id": other_taker}, retry_on=(422,),
                     unchanged=lambda: holding(other_taker))
        assert holding(other_taker) == 1
        # The service manager signs the store's day off, once.
        day_url = f"/api/network/v1/stores/{staff.id}/daily-reports/{staff.today().isoformat()}"
        signed = checked.post(manager, f"{day_url}/sign-off", {}, 201,
                              unchanged=lambda: manager.get(day_url).json().get("sign_off"))
        assert signed.get("sign_off"), signed
    return {"staff": staff, "repair_order_id": rid}


def a_warranty_claim_settled(checked: Checked) -> None:
    """The store claims the warranty work of its delivered order; HQ rejects it for the
    paperwork, the store resubmits, HQ approves, issues the month's settlement, the store
    confirms it and HQ pays."""
    platform = checked.platform
    day = checked.walk(a_store_day)
    staff, rid = day["staff"], day["repair_order_id"]
    with client(platform, staff.keys["store_manager"]) as manager, platform.api(platform.bootstrap_key) as hq:
        claims_of_order = partial(all_items, hq, "/api/network/v1/claims", repair_order_id=rid)
        # 422 until network has heard the order was settled.
        claim = checked.post(manager, "/api/network/v1/claims", {**warranty_claim_body(rid), "correction": ""}, 201,
                             retry_on=(422,), unchanged=lambda: len(claims_of_order()))
        assert [c["id"] for c in claims_of_order()] == [claim["id"]]
        claim_url = f"/api/network/v1/claims/{claim['id']}"

        def history() -> int:
            return len(hq.get(claim_url).json()["history"])

        rejected = checked.post(hq, f"{claim_url}/decision", {"decision": "reject", "reason_code": "R06",
                                                              "note": "the correction is missing"}, unchanged=history)
        assert rejected["status"] == "rejected"
        resubmitted = checked.post(manager, f"{claim_url}/resubmit", {"correction": warranty_claim_body(rid)["correction"]},
                                   unchanged=history)
        assert resubmitted["status"] == "submitted" and resubmitted["submission_count"] == 2
        approved = checked.post(hq, f"{claim_url}/decision", {"decision": "approve", "note": "ok"}, unchanged=history)
        assert approved["status"] == "approved"
        period = datetime.now(staff.zone).strftime("%Y-%m")
        statements = partial(all_items, hq, "/api/network/v1/settlements", store_id=staff.id)
        settlement = checked.post(hq, "/api/network/v1/settlements", {"store_id": staff.id, "period": period}, 201,
                                  unchanged=lambda: len(statements()))
        assert [s["id"] for s in statements()] == [settlement["id"]]
        assert [c["id"] for c in settlement["claims"]] == [claim["id"]]
        checked.post(manager, f"/api/network/v1/settlements/{settlement['id']}/confirm")
        paid = checked.post(hq, f"/api/network/v1/settlements/{settlement['id']}/pay",
                            {"reference": "BANK-" + uuid.uuid4().hex[:8]})
        assert paid["status"] == "paid"
        assert hq.get(claim_url).json()["status"] == "settled"
        # A post-payment audit takes part of it back, once however often it is sent.
        debit = checked.post(hq, f"{claim_url}/chargebacks", {"reason_code": "C04", "amount_fen": 1}, 201,
                             unchanged=lambda: hq.get(claim_url).json()["charged_back_fen"])
        assert hq.get(claim_url).json()["chargebacks"] == [debit]
        # API.md's singular path for the same action.
        again = checked.post(hq, f"{claim_url}/chargeback", {"reason_code": "C04", "amount_fen": 1}, 201,
                             unchanged=lambda: hq.get(claim_url).json()["charged_back_fen"])
        assert hq.get(claim_url).json()["chargebacks"] == [debit, again]


def a_new_car_sold_and_sold_on(checked: Checked) -> None:
    """A new car at the store that sells it: the PDI sheet, the warranty registration and a
    correction of it (network); then, once CRM has the buyer on file from the registration,
    its transfer to a second owner."""
    platform = checked.platform
    staff = open_store(platform, roles=("warranty_clerk", "crm_agent"))
    vin, today = new_vin(), datetime.now(staff.zone).date().isoformat()
    car_url = f"/api/network/v1/vehicles/{vin}"
    with client(platform, staff.keys["warranty_clerk"]) as clerk, client(platform, staff.keys["crm_agent"]) as agent:
        items = [{"code": item["code"], "ok": True} for item in reference.load("pdi_checklist")["items"]]
        checked.post(clerk, f"{car_url}/pdi", {"inspected_on": today, "items": items}, 201,
                     unchanged=lambda: len(clerk.get(car_url).json()["pdi"]))

        def version() -> int:
            return clerk.get(car_url).json()["registration"]["version"]

        checked.post(clerk, f"{car_url}/registration", {
            "buyer": {"name": "Zhou Min", "phone": "13912340001"}, "invoice_date": today,
            "delivered_at": today, "mileage_km": 12, "store_id": staff.id}, 201, unchanged=version)
        # The first shape of the route, the VIN in the body: another car sold the same day.
        other = new_vin()
        checked.post(clerk, "/api/network/v1/vehicles/registrations", {
            "vin": other, "buyer": {"name": "Qian Li", "phone": "13912340002"}, "invoice_date": today,
            "delivery_date": today, "mileage_at_delivery_km": 8, "store_id": staff.id}, 201,
            unchanged=lambda: clerk.get(f"/api/network/v1/vehicles/{other}").json()["registration"]["version"])
        checked.post(clerk, f"{car_url}/registration/corrections", {
            "changes": {"mileage_at_delivery_km": 15}, "reason": "the odometer read again"}, unchanged=version)
        # The store asks HQ, before a repair, to pay for it out of goodwill; HQ grants it.
        goodwill = "/api/network/v1/claims/goodwill-authorisations"
        asked = checked.post(clerk, goodwill, {"vin": vin, "amount_limit_fen": 50000, "valid_until": today,
                                               "reason": "paint fault found after delivery"}, 201,
                             unchanged=lambda: len(all_items(clerk, goodwill, vin=vin)))
        with platform.api(platform.bootstrap_key) as hq:
            granted = checked.post(hq, f"{goodwill}/{asked['id']}/decision", {"decision": "grant"},
                                   unchanged=lambda: hq.get(f"{goodwill}/{asked['id']}").json()["version"])
        assert granted["status"] == "granted" and granted["amount_limit_fen"] == 50000
        # The same pre-authorisations at API.md's /v1/preauthorisations: one more asked, and refused.
        preauth = "/api/network/v1/preauthorisations"
        second = checked.post(clerk, preauth, {"vin": vin, "amount_limit_fen": 20000, "valid_until": today,
                                               "reason": "door seal noise after delivery"}, 201,
                              unchanged=lambda: len(all_items(clerk, preauth, vin=vin)))
        with platform.api(platform.bootstrap_key) as hq:
            refused = checked.post(hq, f"{preauth}/{second['id']}/decision", {"decision": "refuse", "note": "no"},
                                   unchanged=lambda: hq.get(f"{preauth}/{second['id']}").json()["version"])
        assert refused["status"] == "refused"
        crm_knows_vehicle(agent, vin)

        def owners() -> int:
            return len(agent.get(f"/api/crm/v1/vehicles/{vin}/history").json()["owners"])

        moved = checked.post(agent, f"/api/crm/v1/vehicles/{vin}/transfer", {
            "new_owner": {"name": "Wu Lei", "phone": "13912340002"}, "papers_reference": "GH-2026-0001",
            "transfer_date": today}, 201, unchanged=owners)
        assert owners() == 2 and moved["vin"] == vin, moved


WALKS = (hq_runs_the_network, a_store_day, a_warranty_claim_settled, a_new_car_sold_and_sold_on)
FLEET_POSTS_REPLAYED = ("tests/reception/test_fleets.py::"
                        "test_fleet_posts_replay_with_their_idempotency_key_and_write_once")
CREDIT_POSTS_REPLAYED = ("tests/reception/test_receivables_ledger.py::"
                         "test_credit_posts_replay_with_their_idempotency_key_and_write_once")
SUBLET_ORDERS_REPLAYED = ("tests/workshop/test_sublet_orders.py::"
                          "test_another_stores_sublet_orders_are_not_found_and_their_posts_replay_once")
# POST routes no walk can reach on a live platform, each with the test that checks its key instead.
HELD_ELSEWHERE = {
    # A delivery is sent again by hand once delivered or given up, which a live walk's endpoint
    # (a name no test resolves) is not for a day.
    "/api/network/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver":
        "tests/network/test_webhooks.py::test_replayed_webhook_posts_answer_the_first_answer_and_write_once",
    "/api/crm/v1/churn/{episode_id}/win-back-calls":
        "a churn episode starts 13 months after a car's last visit; tests/crm/test_churn_service.py::"
        "test_a_retried_win_back_call_is_recorded_once_and_its_key_is_bound_to_its_body",
    # The walks' warranty claims are labour only (a warranty part line needs stock issued
    # through workshop first), and only a part line has an old part to return.
    "/api/network/v1/claims/{claim_id}/lines/{line_id}/return-required":
        "tests/network/test_part_returns.py::test_replayed_part_return_posts_write_once",
    "/api/network/v1/part-returns/{return_id}/ship":
        "tests/network/test_part_returns.py::test_replayed_part_return_posts_write_once",
    "/api/network/v1/part-returns/{return_id}/receive":
        "tests/network/test_part_returns.py::test_replayed_part_return_posts_write_once",
    # A campaign claim drafts itself from an order with campaign lines, which the walks' orders have not.
    "/api/network/v1/claims/{claim_id}/submit":
        "tests/network/test_campaign_claims.py::"
        "test_a_completed_campaign_drafts_its_claim_once_and_the_clerk_submits_it_to_be_paid",
    # A sublet order goes out on an order's sublet line, and the walks' orders have none.
    "/api/workshop/v1/sublet-orders": SUBLET_ORDERS_REPLAYED,
    "/api/workshop/v1/sublet-orders/{sublet_order_id}/send": SUBLET_ORDERS_REPLAYED,
    "/api/workshop/v1/sublet-orders/{sublet_order_id}/return": SUBLET_ORDERS_REPLAYED,
    "/api/workshop/v1/sublet-orders/{sublet_order_id}/inspection": SUBLET_ORDERS_REPLAYED,
    "/api/workshop/v1/sublet-orders/{sublet_order_id}/invoice": SUBLET_ORDERS_REPLAYED,
    "/api/workshop/v1/sublet-orders/{sublet_order_id}/invoice/accept": SUBLET_ORDERS_REPLAYED,
    "/api/workshop/v1/sublet-orders/{sublet_order_id}/invoice/refuse": SUBLET_ORDERS_REPLAYED,
    "/api/workshop/v1/sublet-orders/{sublet_order_id}/cancel": SUBLET_ORDERS_REPLAYED,
    # The walks' stores keep no fleet accounts and their managers' keys open none.
    "/api/reception/v1/fleets": FLEET_POSTS_REPLAYED,
    "/api/reception/v1/fleets/{fleet_id}/vehicles": FLEET_POSTS_REPLAYED,
    "/api/reception/v1/repair-orders/{repair_order_id}/fleet-approval-link": FLEET_POSTS_REPLAYED,
    "/api/reception/v1/repair-orders/{repair_order_id}/fleet-approval": FLEET_POSTS_REPLAYED,
    "/api/reception/v1/repair-orders/{repair_order_id}/credit-override": FLEET_POSTS_REPLAYED,
    # The walks' stores let no customer pay later: no credit account, no order on credit.
    "/api/reception/v1/credit-accounts": CREDIT_POSTS_REPLAYED,
    "/api/reception/v1/repair-orders/{repair_order_id}/credit-allowance": CREDIT_POSTS_REPLAYED,
    # Money received is matched to what a fleet owes, and the walks' stores keep no fleets.
    "/api/reception/v1/receivables/payments":
        "tests/reception/test_receivables.py::test_a_payment_replayed_with_its_idempotency_key_is_recorded_once",
    # The walks' cars are in no campaign reception has heard of by the time they are checked in.
    "/api/reception/v1/repair-orders/{repair_order_id}/campaign-lines":
        "tests/reception/test_campaign_lines.py::test_a_retried_campaign_lines_request_with_the_same_key_writes_once",
}


def test_hq_network_posts_replay_without_writing_twice(checked):
    checked.walk(hq_runs_the_network)


def test_a_store_days_posts_replay_without_writing_twice(checked):
    checked.walk(a_store_day)


def test_warranty_claim_and_settlement_posts_replay_without_writing_twice(checked):
    checked.walk(a_warranty_claim_settled)


def test_new_car_intake_and_transfer_posts_replay_without_writing_twice(checked):
    checked.walk(a_new_car_sold_and_sold_on)


def test_every_post_route_of_the_contract_is_checked(checked):
    for walk in WALKS:
        checked.walk(walk)
    assert set(HELD_ELSEWHERE) <= checked.post_routes, sorted(set(HELD_ELSEWHERE) - checked.post_routes)
    assert not checked.routes & set(HELD_ELSEWHERE), "a walk checks a route held elsewhere: drop it from HELD_ELSEWHERE"
    unchecked = checked.post_routes - checked.routes - set(HELD_ELSEWHERE)
    assert not unchecked, f"POST routes with no Idempotency-Key check: {sorted(unchecked)}"
