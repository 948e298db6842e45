"""The permission matrix, generated from the merged OpenAPI: every route × every role ×
own and foreign store gets what the matrix says, and nothing is a 5xx.

Outside a role's rights the gateway answers 403 itself (naming the area) before any
service is called. Inside them the request reaches the service, which may still refuse
on finer rules (a store role submits claims but does not decide them) or on the input,
but never with 401 or a server error. A store role asking for another store by id gets 404.

Every route with an object in its path is also tried by every store role of another
store on a real object of store A (with a body the route accepts): the object is
invisible (404), or the role is refused outright (403, as for an id no one has)."""
from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from services.common.permissions import allowed, area_for
from tests.security.flows import (
    STAFF,
    client,
    deliver_repair_order,
    first_callback,
    open_store,
    store_with_one_of_each,
    vehicle,
)
from tests.security.helpers import HQ_ROLES, STORE_ROLES, new_key, new_store, new_vin, until, walk_in
from tools.client import store_today

METHODS = ("get", "post", "put", "patch", "delete")
NO_SUCH_ID = "01a20000-0000-7000-8000-000000000000"
PHONE = "13800138000"


def _value(param: dict) -> str:
    schema = param.get("schema") or {}
    if "anyOf" in schema:
        schema = next((s for s in schema["anyOf"] if s.get("type") != "null"), schema)
    if schema.get("enum"):
        return str(schema["enum"][0])
    if schema.get("format") == "date":
        return store_today().isoformat()
    if schema.get("type") == "integer":
        return str(schema.get("minimum", 1))
    if re.search(r"vin", param["name"]):
        return new_vin()
    return NO_SUCH_ID


def _cases(document: dict, own: str, foreign: str):
    for path, item in document["paths"].items():
        service = path.split("/")[2]
        sub = path[len(f"/api/{service}"):]
        for method in METHODS:
            operation = item.get(method)
            if operation is None or operation["x-permission"].get("public"):
                continue
            params = [p for p in operation.get("parameters", []) if isinstance(p, dict)]
            query = {p["name"]: _value(p) for p in params if p["in"] == "query" and p.get("required")}
            variants = ("own", "foreign") if "{store_id}" in path else ("any",)
            for variant in variants:
                url = path
                for p in params:
                    if p["in"] == "path":
                        value = {"own": own, "foreign": foreign}.get(variant, own) if p["name"] == "store_id" else _value(p)
                        url = url.replace("{" + p["name"] + "}", value)
                yield service, sub, method.upper(), url, query, variant


async def _call(client: httpx.AsyncClient, key: str, method: str, url: str, query: dict,
                body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {key}", **(headers or {})}
    if url.endswith("/stream"):
        async with client.stream(method, url, headers=headers, params=query) as response:
            if response.status_code == 200:
                return 200, {}  # a live stream: its head is the answer
            return response.status_code, (await response.aread()) and response.json()
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = {}
    response = await client.request(method, url, headers=headers, params=query, json=body)
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    return response.status_code, payload if isinstance(payload, dict) else {}


async def test_every_route_role_and_store_gets_what_the_matrix_says(platform):
    with platform.api(platform.bootstrap_key) as hq:
        own, foreign = new_store(hq), new_store(hq)
        keys = {role: new_key(hq, role, own["id"])["key"] for role in STORE_ROLES + HQ_ROLES if role != "hq_admin"}
    keys["hq_admin"] = platform.bootstrap_key
    document = httpx.get(platform.gateway.url + "/openapi.json", timeout=60).json()
    assert not document["info"].get("x-services-missing"), document["info"]
    cases = list(_cases(document, own["id"], foreign["id"]))
    limit = asyncio.Semaphore(24)
    failures: list[str] = []
    checked = 0

    async def check(client, role, case):
        nonlocal checked
        service, sub, method, url, query, variant = case
        if role in HQ_ROLES and variant == "foreign":
            checked += 1  # HQ has no store of its own: "foreign" is the same call as "own"
            return
        # Writes by HQ admin on a real store could change it for the other roles' calls.
        if role == "hq_admin" and method != "GET" and variant != "any":
            url = url.replace(own["id"], str(uuid.uuid4()))
        async with limit:
            status, body = await _call(client, keys[role], method, url, query)
        checked += 1
        area = area_for(service, sub)
        where = f"{role} {method} {url} ({variant})"
        if status >= 500:
            failures.append(f"{where}: {status} {body}")
        elif not allowed(area, role, method):
            if status != 403 or body.get("area") != area:
                failures.append(f"{where}: matrix denies, got {status} {body}")
        elif status == 401 or (status == 403 and "area" in body):
            failures.append(f"{where}: matrix allows, gateway refused {status} {body}")
        elif variant == "foreign" and role in STORE_ROLES and method == "GET" and status != 404:
            failures.append(f"{where}: another store's object must be 404, got {status}")

    async with platform.async_api(timeout=60) as client:
        await asyncio.gather(*(check(client, role, case) for role in keys for case in cases))
    assert checked == len(keys) * len(cases) and checked > 500
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} in all)"


# How to find, among store A's objects (flows.store_with_one_of_each), the one a path
# parameter names. A parameter missing here and from NOT_A_STORE_OBJECT fails the test.
OBJECT_OF = {
    "appointment_id": lambda made: made["appointment"]["id"],
    "repair_order_id": lambda made: made["back"]["id"],
    "line_id": lambda made: made["back"]["lines"][0]["id"],
    "roadside_id": lambda made: made["roadside"]["id"],
    "comeback_id": lambda made: made["comeback"]["id"],
    "job_id": lambda made: made["job"]["id"],
    "po_id": lambda made: made["purchase_order"]["id"],
    "order_id": lambda made: made["back"]["id"],
    "reservation_id": lambda made: made["reservation"]["id"],
    "receipt_id": lambda made: made["receipt"]["id"],
    "technician_id": lambda made: made["staff"].technician_id,
    "callback_id": lambda made: made["callback"]["id"],
    "call_id": lambda made: made["call"]["id"],
    # /v1/{kind}/{call_id}/...: a call task here; its callbacks twin is /v1/callbacks/{callback_id}.
    "kind": lambda made: "calls",
    "complaint_id": lambda made: made["complaint"]["id"],
    "customer_id": lambda made: made["callback"]["customer_id"],
    "reminder_id": lambda made: made["reminder"]["id"],
    "message_id": lambda made: made["message"]["id"],
    "report_id": lambda made: made["report"]["id"],
    "vin": lambda made: made["delivered"]["vehicle"]["vin"],
    "key_id": lambda made: made["staff"].keys["store_manager"]["id"],
    "claim_id": lambda made: made["claim"]["id"],
    "settlement_id": lambda made: made["settlement"]["id"],
    "audit_id": lambda made: made["audit"]["id"],
    "action_id": lambda made: made["audit"]["corrective_actions"][0]["id"],
    "store_id": lambda made: made["staff"].id,
    "person_id": lambda made: made["person"]["id"],
    "certification_id": lambda made: made["certification"]["id"],
    "counter_sale_id": lambda made: made["counter_sale"]["id"],
    "webhook_id": lambda made: made["webhook"]["id"],
    "delivery_id": lambda made: made["delivery"]["id"],
    "fleet_id": lambda made: made["fleet"]["id"],
    # /v1/fleets/{fleet_id}/statements/{statement_month}: this month's; the fleet is the object.
    "statement_month": lambda made: store_today().strftime("%Y-%m"),
    "vendor_id": lambda made: made["vendor"]["id"],
    "credit_account_id": lambda made: made["credit_account"]["id"],
}
NOT_A_STORE_OBJECT = {
    "part_no": "a catalogue part: every store has its own stock of it",
    "name": "a CRM job, or a policy (warranty_policy, labour_operations, parts_prices, ...): the same for every "
            "store",
    "version": "a version of a policy, the same for every store",
    "region_id": "a region of the network: HQ's, which no store role reads (a region manager's scope is "
                 "tests/network/test_regions.py::test_a_region_manager_sees_only_its_regions_stores_and_kpis)",
    "item_code": "an onboarding checklist item, the same for every store",
    "month": "a calendar month of a store's targets: the store in the path is the object",
    "application_id": "an outlet application, which belongs to no store (HQ reviews it)",
    "campaign_id": "a brand's recall or service campaign, the same for every store (a store's completion is "
                   "filtered by the caller's store, tests/network/test_campaigns.py)",
    "year": "a calendar year of a store's targets: the store in the path is the object",
    "date": "a local day of a store's daily report: the store in the path is the object",
    "rebuild_id": "a rebuild of the KPI projections, HQ's administration (hq_admin only), of no store",
    "code": "a course of the brand's training (HV, WTY, ...), the same for every store",
    "store_kind": "a kind of store (every_store, partner_outlet, ev_store, ...) whose required certified staff HQ "
                  "sets: the brand's rule, of no one store",
}
# Store objects a live platform cannot make in a test's time; each has its other-store test.
HELD_ELSEWHERE = {
    "return_id": "an old part HQ asks back from a warranty part line; the flow's claim is labour only: "
                 "tests/network/test_part_returns.py::test_another_stores_part_return_is_not_found",
    "authorisation_id": "a goodwill pre-authorisation is asked for by a store's warranty clerk or service manager, "
                        "roles the flow's store has not: tests/network/test_goodwill.py::"
                        "test_another_stores_pre_authorisation_is_not_found_and_its_posts_replay_once",
    "episode_id": "a churn episode starts 13 months after a car's last visit: "
                  "tests/crm/test_churn_service.py::test_another_stores_episode_cannot_be_worked_nor_told_apart_from_none",
    "sublet_order_id": "a sublet order goes out on a repair order's sublet line, and the flow's orders have none: "
                       "tests/workshop/test_sublet_orders.py::"
                       "test_another_stores_sublet_orders_are_not_found_and_their_posts_replay_once",
}


# Routes that read a store object's parameter across stores on purpose, and why.
ACROSS_STORES = {
    ("network", "/v1/vehicles/{vin}/campaigns"): "a car's open recall and service campaigns are the brand's: "
                                                 "the store a car first comes to must see them (docs/network.md)",
    ("network", "/v1/vehicles/{vin}/registration"): "a registration records a sale by the selling store in the body; "
                                                    "a VIN another store once repaired is no object of that store "
                                                    "(one registration per VIN: 409 after, "
                                                    "tests/network/test_vehicle_registrations.py)",
}


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _resolve(document, schema["allOf"][0])
    if "anyOf" in schema:
        return _resolve(document, next((s for s in schema["anyOf"] if s.get("type") != "null"), schema["anyOf"][0]))
    return schema


def _example(document: dict, schema: dict):
    """The smallest value the schema accepts: required properties only, the first enum
    value, the shortest string, the least number."""
    schema = _resolve(document, schema)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: _example(document, props[name]) for name in schema.get("required", [])}
    if kind == "array":
        return [_example(document, schema["items"]) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1)
        return int(low) if kind == "integer" else low
    if kind == "boolean":
        return True
    if kind == "string":
        if schema.get("format") == "date":
            return store_today().isoformat()
        if schema.get("format") == "date-time":
            # Ahead of now: promised times, due dates and bookings are refused in the past.
            return (datetime.now(UTC) + timedelta(days=1)).isoformat()
        shortest = "x" * max(1, schema.get("minLength", 1))
        # A phone number (an assessor's, a contact's) has a pattern no run of x's meets.
        if "pattern" in schema and not re.search(schema["pattern"], shortest) and re.search(schema["pattern"], PHONE):
            return PHONE
        return shortest
    return None


def _object_cases(document: dict, made: dict):
    """(area, method, url with store A's objects, url with ids no one has, query, body,
    headers) for every non-public operation with an object of a store in its path. A write
    that takes If-Match gets the first version, so that it is not refused for lacking one."""
    for path, item in document["paths"].items():
        service = path.split("/")[2]
        names = re.findall(r"\{([^}]+)\}", path)
        if (service, path[len(f"/api/{service}"):]) in ACROSS_STORES:
            continue
        objects = [n for n in names if n in OBJECT_OF and n != "store_id"]
        for method in METHODS:
            operation = item.get(method)
            if operation is None or operation["x-permission"].get("public") or not objects:
                continue
            params = [p for p in operation.get("parameters", []) if isinstance(p, dict)]
            query = {p["name"]: _value(p) for p in params if p["in"] == "query" and p.get("required")}
            schema = (((operation.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema")
            body = _example(document, schema) if schema else None
            headers = {"If-Match": '"1"'} if any(p["in"] == "header" and p["name"].lower() == "if-match"
                                                 for p in params) else {}
            url, nobody = path, path
            for name in names:
                url = url.replace("{" + name + "}", OBJECT_OF[name](made))
                nobody = nobody.replace("{" + name + "}", OBJECT_OF[name](made) if name in ("store_id", "kind") else NO_SUCH_ID)
            yield area_for(service, path[len(f"/api/{service}"):]), method.upper(), url, nobody, query, body, headers


async def test_another_stores_objects_are_invisible_to_every_store_role(platform):
    document = httpx.get(platform.gateway.url + "/openapi.json", timeout=60).json()
    named = {n for path in document["paths"] for n in re.findall(r"\{([^}]+)\}", path)}
    known = OBJECT_OF.keys() | NOT_A_STORE_OBJECT.keys() | HELD_ELSEWHERE.keys()
    assert named <= known, f"path parameters with no way to make their object: {sorted(named - known)}"
    made = await asyncio.to_thread(store_with_one_of_each, platform)
    with platform.api(platform.bootstrap_key) as hq:
        other = new_store(hq)
        keys = {role: new_key(hq, role, other["id"])["key"] for role in STORE_ROLES}
        person = hq.post("/api/network/v1/people", json={
            "name": "Zhou Min", "phone": "13700137000", "employee_no": "M-" + uuid.uuid4().hex[:10].upper(),
            "assignments": [{"store_id": made["staff"].id, "role": "service_advisor"}]})
        assert person.status_code == 201, person.text
        made["person"] = person.json()
        # A certificate of that person's, which another store's managers must not find.
        certificate = hq.post("/api/network/v1/certifications", json={
            "person_id": made["person"]["id"], "course_code": "SVC", "certificate_no": "SVC-" + uuid.uuid4().hex[:10],
            "issued_on": store_today().isoformat()})
        assert certificate.status_code == 201, certificate.text
        made["certification"] = certificate.json()
        # An accessory sold over the counter, rung up by HQ in store A and left open, so every
        # action on it is one another store's roles could still take.
        sale = hq.post("/api/reception/v1/counter-sales", json={
            "store_id": made["staff"].id, "lines": [{"accessory_code": "ACC-DASHCAM"}]})
        assert sale.status_code == 201, sale.text
        made["counter_sale"] = sale.json()
        # An outlet webhook of store A (its system's receiver), and the test delivery it was sent.
        hook = hq.post("/api/network/v1/webhooks", json={"store_id": made["staff"].id, "url": "https://dms.example.cn/hooks",
                                                         "event_types": ["network.claim.decided"]})
        assert hook.status_code == 201, hook.text
        made["webhook"] = hook.json()
        ping = hq.post(f"/api/network/v1/webhooks/{made['webhook']['id']}/ping")
        assert ping.status_code == 201, ping.text
        made["delivery"] = ping.json()
        # A fleet account of store A with the delivered car on its contract.
        fleet = hq.post("/api/reception/v1/fleets", json={
            "store_id": made["staff"].id, "name": "Shunda Logistics",
            "contract": {"labour_discount_percent": "10", "parts_discount_percent": "5",
                         "approval_limit_fen": 500_000, "credit_limit_fen": 5_000_000, "payment_terms_days": 30},
            "contacts": [{"name": "Wang Qiang", "phone": "13911112222", "approves": True}],
            "vehicles": [{"vin": made["delivered"]["vehicle"]["vin"]}]})
        assert fleet.status_code == 201, fleet.text
        made["fleet"] = fleet.json()
        # A vendor of store A's, kept by HQ: another store's roles must not find it.
        vendor = hq.post("/api/workshop/v1/vendors", json={
            "store_id": made["staff"].id, "name": "Huaxin Glass", "specialties": ["glass"]})
        assert vendor.status_code == 201, vendor.text
        made["vendor"] = vendor.json()
        # A customer of store A's allowed to pay later (赊账).
        account = hq.post("/api/reception/v1/credit-accounts", json={
            "store_id": made["staff"].id, "customer": {"name": "Zhou Min", "phone": "13912345678"},
            "credit_limit_fen": 100_000, "payment_terms_days": 15})
        assert account.status_code == 201, account.text
        made["credit_account"] = account.json()
    cases = list(_object_cases(document, made))
    assert len({url for _, _, url, *_ in cases}) > 40, cases
    limit = asyncio.Semaphore(24)
    failures: list[str] = []

    async def check(client, role, case):
        area, method, url, nobody, query, body, headers = case
        async with limit:
            status, answer = await _call(client, keys[role], method, url, query, body, headers)
            where = f"{role} of another store: {method} {url} {body}"
            if not allowed(area, role, method):
                if status != 403 or answer.get("area") != area:
                    failures.append(f"{where}: matrix denies, got {status} {answer}")
            elif status == 403 and "area" not in answer:
                # The service refuses the role itself; then it must do so for an id no one has too.
                unknown, _ = await _call(client, keys[role], method, nobody, query, body, headers)
                if unknown != 403:
                    failures.append(f"{where}: 403 for store A's object but {unknown} for an unknown one")
            elif status != 404:
                failures.append(f"{where}: another store's object must be 404, got {status} {answer}")

    async with platform.async_api(timeout=60) as client:
        await asyncio.gather(*(check(client, role, case) for role in keys for case in cases))
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} in all)"


def test_the_information_clerk_books_at_reception_and_makes_no_other_reception_write(platform):
    """crm_agent's one reception write is the booking (the next service, booked on the call):
    the body CRM hands back goes to reception as it is; cancelling, a walk-in and roadside
    stay refused by the gateway, naming reception's area."""
    staff = open_store(platform, roles=STAFF + ("crm_agent",))
    delivered = deliver_repair_order(platform, staff, car=vehicle(staff.today().replace(year=staff.today().year - 1)))
    tomorrow = (datetime.now(staff.zone) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    with client(platform, staff.keys["crm_agent"]) as agent:
        callback = first_callback(agent, delivered["id"])
        offer = agent.post(f"/api/crm/v1/callbacks/{callback['id']}/next-service-booking",
                           json={"scheduled_at": tomorrow.isoformat()})
        assert offer.status_code == 201, offer.text
        booked = agent.post("/api/reception/v1/appointments", json=offer.json()["appointment_request"])
        assert booked.status_code == 201, booked.text
        appointment = booked.json()
        assert appointment["vehicle"]["vin"] == delivered["vehicle"]["vin"]

        def offer_booked() -> bool:
            upcoming = agent.get(f"/api/crm/v1/callbacks/{callback['id']}").json()["next_service"] or {}
            return (upcoming.get("booking") or {}).get("appointment_id") == appointment["id"]

        until(offer_booked, 15, "CRM never marked the offer booked by reception's appointment")
        refused = {
            "cancel": agent.post(f"/api/reception/v1/appointments/{appointment['id']}/cancel",
                                 json={"reason": "customer changed their mind"}),
            "no-show": agent.post(f"/api/reception/v1/appointments/{appointment['id']}/no-show"),
            "walk-in": walk_in(agent),
            "roadside": agent.post("/api/reception/v1/roadside-requests", json={
                "customer": {"name": "Liu Yang", "phone": "13900139000"}, "vehicle": vehicle(),
                "location": {"lat": 31.2, "lng": 121.5, "address": "Century Avenue 100"}, "problem": "flat battery"}),
        }
        for what, response in refused.items():
            assert response.status_code == 403, (what, response.status_code, response.text)
            assert response.json()["area"] == "reception" and response.json()["role"] == "crm_agent", what
        assert agent.get(f"/api/reception/v1/appointments/{appointment['id']}").json()["status"] == "booked"
