"""A region manager sees and acts on its regions' stores only, on every route.

The walk is the permission matrix's (test_matrix.py), as a region manager of another
region: every non-public operation of the merged OpenAPI is called through the gateway on
store A's real objects (store A sits in region East; the caller manages region West), with
store A named wherever a route takes a `store_id` (path, query or body). An object route
must answer as it does for ids no one has (404, or the same refusal), and no answer may
carry any of store A's ids; a write naming store A must not succeed. East's manager reads
the same objects, so the walk is not refused for some other reason. A new store-bound
route that forgets the region fails here."""
from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx

from services.common.permissions import allowed, area_for
from tests.security.flows import store_with_one_of_each
from tests.security.test_matrix import (
    ACROSS_STORES,
    METHODS,
    NO_SUCH_ID,
    NOT_A_STORE_OBJECT,
    OBJECT_OF,
    _call,
    _example,
    _resolve,
    _value,
)


def _region(hq: httpx.Client, code: str) -> dict:
    made = hq.post("/api/network/v1/regions", json={
        "code": code, "name": f"{code} 大区", "areas": [{"code": "A1", "name": "一片区"}],
        "claim_review_limit_fen": 100_000_000})
    assert made.status_code == 201, made.text
    return made.json()


def _manager_key(hq: httpx.Client, region: dict) -> str:
    person = hq.post("/api/network/v1/people", json={
        "name": "Qian Hui", "phone": "13600136000", "employee_no": "RM-" + uuid.uuid4().hex[:10].upper(),
        "assignments": [], "hq_role": "region_manager"})
    assert person.status_code == 201, person.text
    named = hq.put(f"/api/network/v1/regions/{region['id']}/managers", json={"person_ids": [person.json()["id"]]})
    assert named.status_code == 200, named.text
    key = hq.post("/api/network/v1/api-keys", json={"role": "region_manager", "label": f"{region['code']} manager",
                                                    "person_id": person.json()["id"]})
    assert key.status_code == 201, key.text
    return key.json()["key"]


def _object(made: dict, name: str) -> str:
    try:
        return OBJECT_OF[name](made)
    except KeyError:  # an object of reception or workshop this walk did not make: no region manager reaches them
        return NO_SUCH_ID


def _ids_of(made: dict) -> set[str]:
    ids = {made["staff"].id, made["delivered"]["vehicle"]["vin"]}
    for value in made.values():
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            ids.add(value["id"])
    return ids


def _cases(document: dict, made: dict, store_a: str):
    """(area, method, url on store A's objects, url on ids no one has, query, body, names store A)."""
    for path, item in document["paths"].items():
        service = path.split("/")[2]
        sub = path[len(f"/api/{service}"):]
        names = re.findall(r"\{([^}]+)\}", path)
        if (service, sub) in ACROSS_STORES:
            continue  # read across stores on purpose (a car's campaigns are the brand's): test_matrix.py says why
        for method in METHODS:
            operation = item.get(method)
            if operation is None or operation["x-permission"].get("public"):
                continue
            params = [p for p in operation.get("parameters", []) if isinstance(p, dict)]
            query = {p["name"]: _value(p) for p in params if p["in"] == "query" and p.get("required")}
            names_a = any(p["in"] == "query" and p["name"] == "store_id" for p in params)
            if names_a:
                query["store_id"] = store_a
            schema = (((operation.get("requestBody") or {}).get("content") or {}).get("application/json") or {}
                      ).get("schema")
            body = _example(document, schema) if schema else None
            if isinstance(body, dict) and "store_id" in _resolve(document, schema).get("properties", {}):
                body["store_id"], names_a = store_a, True
            url, nobody = path, path
            for name in names:
                mine = name in OBJECT_OF and name not in NOT_A_STORE_OBJECT
                url = url.replace("{" + name + "}", _object(made, name) if mine else _value({"name": name}))
                nobody = nobody.replace("{" + name + "}", str(uuid.uuid4()) if mine else _value({"name": name}))
            objects = any(n in OBJECT_OF for n in names)
            yield (area_for(service, sub), method.upper(), url, nobody if objects else None, query, body,
                   names_a or "{store_id}" in path)


async def test_a_region_manager_cannot_see_or_act_on_another_regions_store_on_any_route(platform):
    document = httpx.get(platform.gateway.url + "/openapi.json", timeout=60).json()
    # Every path parameter has its object or its reason in test_matrix.py's tables, which that test holds to.
    made = await asyncio.to_thread(store_with_one_of_each, platform)
    store_a = made["staff"].id
    suffix = uuid.uuid4().hex[:6].upper()
    with platform.api(platform.bootstrap_key) as hq:
        east, west = _region(hq, f"E{suffix}"), _region(hq, f"W{suffix}")
        placed = hq.put(f"/api/network/v1/stores/{store_a}/area",
                        json={"area_id": east["areas"][0]["id"], "reason": "华东 East"})
        assert placed.status_code == 200, placed.text
        person = hq.post("/api/network/v1/people", json={
            "name": "Zhou Min", "phone": "13700137000", "employee_no": "M-" + uuid.uuid4().hex[:10].upper(),
            "assignments": [{"store_id": store_a, "role": "service_advisor"}]})
        assert person.status_code == 201, person.text
        made["person"] = person.json()
        hook = hq.post("/api/network/v1/webhooks", json={"store_id": store_a, "url": "https://dms.example.cn/hooks",
                                                         "event_types": ["network.claim.decided"]})
        assert hook.status_code == 201, hook.text
        made["webhook"] = hook.json()
        ping = hq.post(f"/api/network/v1/webhooks/{made['webhook']['id']}/ping")
        assert ping.status_code == 201, ping.text
        made["delivery"] = ping.json()
        east_key, west_key = _manager_key(hq, east), _manager_key(hq, west)

    # East's manager sees store A's objects: what West's manager is refused is the region's doing.
    with platform.api(east_key) as own:
        for url in (f"/api/network/v1/claims/{made['claim']['id']}", f"/api/network/v1/stores/{store_a}/audits",
                    f"/api/network/v1/settlements/{made['settlement']['id']}",
                    f"/api/network/v1/people/{made['person']['id']}",
                    f"/api/network/v1/webhooks/{made['webhook']['id']}"):
            assert own.get(url).status_code == 200, url
        assert made["claim"]["id"] in own.get("/api/network/v1/claims").text
        assert made["claim"]["id"] in own.get("/api/network/v1/claims", params={"region_id": east["id"]}).text
    # Naming East as a claims filter tells West's manager nothing: refused as a region that does not exist.
    with platform.api(west_key) as other:
        named = other.get("/api/network/v1/claims", params={"region_id": east["id"]})
        unknown = other.get("/api/network/v1/claims", params={"region_id": str(uuid.uuid4())})
        assert (named.status_code, unknown.status_code) == (422, 422) and made["claim"]["id"] not in named.text
        assert named.json()["detail"] == unknown.json()["detail"], (named.text, unknown.text)

    ids = _ids_of(made)
    cases = list(_cases(document, made, store_a))
    assert sum(1 for c in cases if c[3] is not None) > 40, cases
    limit = asyncio.Semaphore(24)
    failures: list[str] = []

    async def check(client, case):
        area, method, url, nobody, query, body, names_a = case
        async with limit:
            status, answer = await _call(client, west_key, method, url, query, body)
            where = f"West's manager: {method} {url} {query} {body}"
            text = json.dumps(answer)
            if status >= 500:
                failures.append(f"{where}: {status} {answer}")
            elif not allowed(area, "region_manager", method):
                if status != 403 or answer.get("area") != area:
                    failures.append(f"{where}: matrix denies, got {status} {answer}")
            elif status < 300 and (leaked := sorted(i for i in ids if i in text)):
                failures.append(f"{where}: {status} shows store A's {leaked}")
            elif status < 300 and method != "GET" and names_a:
                failures.append(f"{where}: {status}, acted on store A")
            elif nobody is not None and status != 404:
                unknown, _ = await _call(client, west_key, method, nobody, query, body)
                if unknown != status:
                    failures.append(f"{where}: {status} for store A's object but {unknown} for an unknown one")

    async with platform.async_api(timeout=60) as client:
        await asyncio.gather(*(check(client, case) for case in cases))
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} in all)"
