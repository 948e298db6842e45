"""The merged OpenAPI document, Swagger UI with local assets, AsyncAPI, and the dashboard page."""
from __future__ import annotations

import base64
import hashlib
import re

from gateway.contract import merge
from services.common.events.asyncapi import build_asyncapi
from tests.gateway.fakes import gateway, service_openapi
from tests.support.processes import free_port


def refs(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node)) if node else set()
    return set()


def test_paths_are_prefixed_and_internal_or_platform_routes_left_out():
    doc = merge({s: service_openapi(s) for s in ("reception", "network")})
    assert set(doc["paths"]) == {"/api/reception/v1/things", "/api/network/v1/things"}


def test_schemas_are_namespaced_per_service_and_every_ref_resolves():
    doc = merge({s: service_openapi(s) for s in ("reception", "workshop", "crm", "network")})
    schemas = doc["components"]["schemas"]
    assert schemas["reception.Item"]["title"] == "reception item"
    assert schemas["crm.Item"]["title"] == "crm item"
    assert "Item" not in schemas
    get = doc["paths"]["/api/crm/v1/things"]["get"]
    assert get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/crm.ItemList"
    assert schemas["crm.ItemList"]["properties"]["items"]["items"]["$ref"] == "#/components/schemas/crm.Item"
    for ref in refs(doc):
        section, name = ref.split("/")[2:4]
        assert name in doc["components"][section], ref
    # Every service's Problem is the one Problem.
    post = doc["paths"]["/api/crm/v1/things"]["post"]
    assert post["responses"]["404"]["content"]["application/problem+json"]["schema"]["$ref"] == "#/components/schemas/Problem"


def test_operations_carry_security_permissions_gateway_errors_and_idempotency():
    doc = merge({"workshop": service_openapi("workshop")})
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"]}
    get = doc["paths"]["/api/workshop/v1/things"]["get"]
    post = doc["paths"]["/api/workshop/v1/things"]["post"]
    assert get["operationId"] == "workshop_list_things" and get["tags"] == ["workshop: things"]
    assert get["x-permission"]["area"] == "workshop_jobs"
    assert "crm_agent" not in get["x-permission"]["roles"] and "technician" in get["x-permission"]["roles"]
    assert "service_advisor" in get["x-permission"]["roles"] and "service_advisor" not in post["x-permission"]["roles"]
    for status in ("401", "403", "429", "503", "504"):
        assert get["responses"][status]["content"]["application/problem+json"]["schema"]["$ref"] == "#/components/schemas/Problem"
    assert "413" in post["responses"] and "413" not in get["responses"]
    # FastAPI's default 422 shape is replaced by what services really answer.
    assert list(post["responses"]["422"]["content"]) == ["application/problem+json"]
    idem = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]
    assert idem and idem[0]["in"] == "header" and not idem[0]["required"]
    assert "parameters" not in get or not any(p["name"] == "Idempotency-Key" for p in get["parameters"])


def test_the_outlet_application_form_is_public_in_the_contract():
    network = service_openapi("network")
    network["paths"]["/v1/outlet-applications"] = {"post": {"operationId": "apply", "responses": {"201": {"description": "ok"}}}}
    network["paths"]["/v1/outlet-applications/{application_id}"] = {
        "get": {"operationId": "read_application", "responses": {"200": {"description": "ok"}}}}
    doc = merge({"network": network})
    post = doc["paths"]["/api/network/v1/outlet-applications"]["post"]
    assert post["security"] == [] and "401" not in post["responses"]
    get = doc["paths"]["/api/network/v1/outlet-applications/{application_id}"]["get"]
    assert {"applicationToken": []} in get["security"]


async def test_openapi_json_is_merged_live_and_survives_a_service_going_away():
    async with gateway(openapi_cache_seconds=0) as rig:
        doc = (await rig.client.get("/openapi.json")).json()
        assert {p.split("/")[2] for p in doc["paths"]} == {"reception", "workshop", "crm", "network"}
        assert "x-services-missing" not in doc["info"]
        await rig.services.stop("crm")
        again = (await rig.client.get("/openapi.json")).json()
        assert "/api/crm/v1/things" in again["paths"]  # last known document kept


async def test_openapi_names_services_never_reached():
    async with gateway(own={"workshop": f"http://127.0.0.1:{free_port()}"}) as rig:
        doc = (await rig.client.get("/openapi.json")).json()
        assert doc["info"]["x-services-missing"] == ["workshop"]
        assert not any(p.startswith("/api/workshop/") for p in doc["paths"])


async def test_swagger_ui_is_served_with_its_assets_from_the_gateway():
    async with gateway() as rig:
        page = await rig.client.get("/docs")
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") for s in sources)  # nothing from elsewhere
        for source in sources:
            asset = await rig.client.get(source)
            assert asset.status_code == 200, source
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "/openapi.json" in (await rig.client.get("/docs/init.js")).text
        assert (await rig.client.get("/docs/assets/../settings.py")).status_code == 404
        assert (await rig.client.get("/docs/assets/index.html")).status_code == 404


async def test_asyncapi_is_the_catalogues():
    async with gateway() as rig:
        assert (await rig.client.get("/asyncapi.json")).json() == build_asyncapi()


async def test_dashboard_is_one_self_contained_page_allowed_only_its_own_inline_code():
    async with gateway() as rig:
        page = await rig.client.get("/dashboard")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        assert not re.search(r'(?:src|href)="(?!#)[^"]*"', html)
        assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
        csp = page.headers["content-security-policy"]
        for tag, directive in (("script", "script-src"), ("style", "style-src")):
            blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.S)
            assert blocks
            for block in blocks:
                digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in csp.split(directive, 1)[1].split(";")[0]
        assert "unsafe-inline" not in csp and "connect-src 'self'" in csp
        assert not re.search(r"\son[a-z]+=", html)  # no inline handlers: CSP would block them
        assert (await rig.client.get("/", follow_redirects=False)).headers["location"] == "/dashboard"
