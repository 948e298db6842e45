"""The permission matrix, generated from the merged OpenAPI: every route × every role ×
own and foreign store gets what the matrix says, and nothing is a 5xx.

Outside a role's rights the gateway answers 403 itself (naming the area) before any
service is called. Inside them the request reaches the service, which may still refuse
on finer rules (a store role submits claims but does not decide them) or on the input,
but never with 401 or a server error. A store role asking for another store by id gets 404."""
from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date

import httpx

from services.common.permissions import allowed, area_for
from tests.security.helpers import HQ_ROLES, STORE_ROLES, new_key, new_store, new_vin

METHODS = ("get", "post", "put", "patch", "delete")
NO_SUCH_ID = "01a20000-0000-7000-8000-000000000000"


def _value(param: dict) -> str:
    schema = param.get("schema") or {}
    if "anyOf" in schema:
        schema = next((s for s in schema["anyOf"] if s.get("type") != "null"), schema)
    if schema.get("enum"):
        return str(schema["enum"][0])
    if schema.get("format") == "date":
        return date.today().isoformat()
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


async def _call(client: httpx.AsyncClient, key: str, method: str, url: str, query: dict) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {key}"}
    if url.endswith("/stream"):
        async with client.stream(method, url, headers=headers, params=query) as response:
            if response.status_code == 200:
                return 200, {}  # a live stream: its head is the answer
            return response.status_code, (await response.aread()) and response.json()
    body = {} if method in ("POST", "PUT", "PATCH") else None
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
