"""Issue 2 through the gateway, all real processes: a store created with the bootstrap
key is known to the other services within seconds and its key works on each; a request
straight to a service port without a valid signature is 401."""
from __future__ import annotations

import uuid

import httpx

from tests.security.helpers import new_complaint, new_key, new_store, new_technician, poll
from tools.client import store_today


def test_a_new_store_is_known_everywhere_within_seconds_and_its_key_works_on_every_service(platform):
    with platform.api(platform.bootstrap_key) as hq:
        store = new_store(hq)
        key = new_key(hq, "store_manager", store["id"], label="店长 manager")
    sid = store["id"]
    with platform.api(key["key"]) as manager:
        once = {"Idempotency-Key": uuid.uuid4().hex}
        # Each service's own behaviour that needs the store in its local registry.
        needs_the_store = {
            "network": lambda: manager.get(f"/api/network/v1/stores/{sid}").status_code == 200,
            "reception": lambda: manager.get("/api/reception/v1/appointments/availability",
                                             params={"date": store_today().isoformat()}).status_code == 200,
            "workshop": lambda: new_technician(manager, **once).status_code == 201,
            "crm": lambda: new_complaint(manager, **once).status_code == 201,
        }
        took = {}
        for service in platform.services:
            took[service] = poll(needs_the_store[service], 10, f"{service} never learned of store {store['code']}")
        assert set(took) == set(platform.services)
        assert max(took.values()) < 10


def test_a_request_straight_to_a_service_without_a_valid_signature_is_401(platform):
    document = httpx.get(platform.gateway.url + "/openapi.json", timeout=60).json()
    for name, process in platform.services.items():
        prefix = f"/api/{name}"
        routes = [p[len(prefix):] for p, item in document["paths"].items()
                  if p.startswith(prefix + "/") and "get" in item and "{" not in p and not p.endswith("/stream")]
        assert routes, name
        for path in routes:
            bare = httpx.get(process.url + path, timeout=10)
            assert bare.status_code == 401, (name, path, bare.text)
            assert bare.headers["content-type"] == "application/problem+json"
            # Whatever a caller claims in headers of its own making counts for nothing.
            claimed = httpx.get(process.url + path, timeout=10, headers={
                "X-Principal-Id": "me", "X-Principal-Role": "hq_admin", "X-Identity-Timestamp": "1",
                "X-Identity-Signature": "0" * 64})
            assert claimed.status_code == 401, (name, path)
