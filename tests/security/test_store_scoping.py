"""Store scoping, at the gateway and again inside each service: a store principal sees
its own store's objects, and another store's object is 404, never the object."""
from __future__ import annotations

import uuid

import httpx

from services.common.identity import Principal, sign
from tests.security.helpers import new_complaint, new_key, new_store, new_technician, poll, walk_in

# How each service lists and reads one kind of store-scoped object.
KINDS = {
    "reception": ("/api/reception/v1/repair-orders", walk_in, 201),
    "workshop": ("/api/workshop/v1/technicians", new_technician, 201),
    "crm": ("/api/crm/v1/complaints", new_complaint, 201),
}


def _two_stores(platform):
    with platform.api(platform.bootstrap_key) as hq:
        a, b = new_store(hq), new_store(hq)
        keys = {s["id"]: new_key(hq, "store_manager", s["id"])["key"] for s in (a, b)}
    return a, b, keys


def test_network_store_principals_see_only_their_own_store(platform):
    a, b, keys = _two_stores(platform)
    with platform.api(keys[a["id"]]) as manager_a:
        listed = manager_a.get("/api/network/v1/stores").json()["items"]
        assert [s["id"] for s in listed] == [a["id"]]
        assert manager_a.get(f"/api/network/v1/stores/{b['id']}").status_code == 404
        assert manager_a.get(f"/api/network/v1/stores/{a['id']}").status_code == 200
        keys_listed = manager_a.get("/api/network/v1/api-keys").json()["items"]
        assert keys_listed and {k["store_id"] for k in keys_listed} == {a["id"]}


def test_every_service_keeps_each_stores_objects_to_that_store(platform):
    a, b, keys = _two_stores(platform)
    made: dict[str, dict[str, str]] = {}
    for service, (path, make, created) in KINDS.items():
        if service not in platform.services:
            continue
        made[service] = {}
        for store in (a, b):
            with platform.api(keys[store["id"]]) as manager:
                holder: dict = {}

                def attempt():
                    r = make(manager, **({"Idempotency-Key": uuid.uuid4().hex} if make is not walk_in else {}))
                    holder["r"] = r
                    return r.status_code == created

                poll(attempt, 10, f"{service}: could not create in store {store['code']}: {holder.get('r') and holder['r'].text}")
                made[service][store["id"]] = holder["r"].json()["id"]
    assert made, "no store-scoped service is running"

    for service, ids in made.items():
        path = KINDS[service][0]
        own, foreign = ids[a["id"]], ids[b["id"]]
        with platform.api(keys[a["id"]]) as manager_a:
            listed = manager_a.get(path, params={"limit": 200}).json()["items"]
            assert [i["id"] for i in listed] == [own], service
            assert manager_a.get(f"{path}/{own}").status_code == 200, service
            hidden = manager_a.get(f"{path}/{foreign}")
            assert hidden.status_code == 404, (service, hidden.text)
            assert hidden.json()["type"].endswith("/not-found") and "store_id" not in hidden.json()
            # Asking for the other store by filter gives nothing of it either.
            filtered = manager_a.get(path, params={"store_id": b["id"]})
            assert filtered.status_code in (200, 404) and foreign not in str(filtered.json().get("items", ""))
        with platform.api(platform.bootstrap_key) as hq:
            both = hq.get(path, params={"limit": 200}).json()["items"]
            assert {own, foreign} <= {i["id"] for i in both}, service

        # Inside the service too: a valid signed identity of store A never reaches B's object.
        own_path = path.split(f"/api/{service}", 1)[1]
        principal = Principal(id="direct-a", role="store_manager", store_id=a["id"], name="direct")

        def direct_get(target: str, service: str = service, principal: Principal = principal) -> httpx.Response:
            headers = sign(principal, uuid.uuid4().hex, platform.identity_secret, method="GET", target=target,
                           service=service)
            return httpx.get(platform.services[service].url + target, headers=headers, timeout=15)

        direct = direct_get(f"{own_path}/{foreign}")
        assert direct.status_code == 404, (service, direct.text)
        direct_list = direct_get(f"{own_path}?limit=200")
        assert foreign not in direct_list.text, service
