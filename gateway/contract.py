"""One OpenAPI document for the whole platform, merged from the services' own.

Each service's paths appear under `/api/<service>`, its component schemas under
`<service>.<Name>` (two services may both have an `ItemList`), every operation carries
the bearer security scheme, the permission-matrix area and roles it is open to, an
`Idempotency-Key` header on POST, and the problems the gateway itself may answer."""
from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import httpx
from pydantic import BaseModel, Field

from services.common.errors import PROBLEM_JSON, problem_schema
from services.common.idempotency import MAX_KEY_LENGTH
from services.common.identity import HQ_ROLES, STORE_ROLES
from services.common.logging import get_logger
from services.common.permissions import allowed, area_for

from .settings import SERVICES

log = get_logger(__name__)
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
CALLER_ROLES = sorted(HQ_ROLES | STORE_ROLES)

GATEWAY_ERRORS = {
    "401": "Missing, malformed, unknown or revoked API key",
    "403": "The caller's role may not do this (permission matrix), or its store is suspended",
    "413": "Request body over the gateway's limit (1 MiB by default)",
    "429": "Rate limit reached; see Retry-After",
    "502": "The service gave no valid answer",
    "503": "The service, or key checking, is unavailable; see Retry-After",
    "504": "The service did not answer in time",
}
_WITH_BODY = {"post", "put", "patch"}
AUTH_CONFIG_PATH = "/auth/config"


class AuthConfig(BaseModel):
    """How a store app or the HQ dashboard signs staff in: the group's OpenID Connect provider
    and the public client to use with the authorization code flow and PKCE (S256)."""

    issuer: str = Field(description="the provider's issuer; `iss` of its tokens")
    client_id: str = Field(description="the public client (no secret) to sign in with, e.g. hq-dashboard")
    audience: str = Field(description="`aud` the gateway requires of access tokens")
    authorization_endpoint: str | None = Field(description="where the browser goes to sign in")
    token_endpoint: str | None = Field(description="where the code and the PKCE verifier are exchanged for tokens, "
                                                   "and tokens refreshed")
    end_session_endpoint: str | None = Field(description="where signing out ends the provider's session")
    scopes: list[str] = Field(description="the scopes to ask for")


def gateway_paths() -> tuple[dict[str, dict], dict[str, dict]]:
    """The gateway's own public operations for the merged document: (paths, component schemas)."""
    schema = AuthConfig.model_json_schema(ref_template="#/components/schemas/{model}")
    operation = {
        "operationId": "gateway_auth_config",
        "summary": "How staff sign in",
        "description": ("Public. The staff's OpenID Connect provider and the public client with which the HQ "
                        "dashboard and store apps sign people in (authorization code flow with PKCE S256); "
                        "the access token then goes in `Authorization: Bearer`. May be cached for 5 minutes."),
        "tags": ["gateway: sign-in"],
        "security": [],
        "responses": {
            "200": {"description": "The provider and the client",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AuthConfig"}}}},
            "503": {"description": "The provider cannot be reached right now; see Retry-After",
                    "content": _problem_ref()},
        },
        "x-permission": {"area": None, "public": True},
    }
    return {AUTH_CONFIG_PATH: {"get": operation}}, {"AuthConfig": schema}


def is_public_operation(service: str, path: str, method: str) -> bool:
    if service == "reception":
        # A fleet contact's approval by link: the token in the body instead of a key.
        return method == "post" and path == "/v1/repair-orders/{repair_order_id}/fleet-approval"
    return service == "network" and (
        (method == "post" and path == "/v1/outlet-applications")
        or (method == "get" and path.startswith("/v1/outlet-applications/{") and path.count("/") == 3)
    )


def _problem_ref() -> dict:
    return {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value in renames:
                out[key] = renames[value]
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


def merge(documents: dict[str, dict], *, version: str = "1.0.0", missing: list[str] | None = None,
          sign_in: bool = False) -> dict:
    """The merged document from each service's own OpenAPI (pure; no I/O); with `sign_in` (a
    gateway that trusts a provider), the gateway's own `/auth/config` too."""
    paths: dict[str, dict] = {}
    components: dict[str, dict] = {"schemas": {"Problem": problem_schema()}}
    tags: list[dict] = []
    for service in SERVICES:
        doc = documents.get(service)
        if not doc:
            continue
        doc = copy.deepcopy(doc)
        renames: dict[str, str] = {}
        for section, entries in (doc.get("components") or {}).items():
            for name in entries:
                if section == "schemas" and name == "Problem":
                    renames[f"#/components/schemas/{name}"] = "#/components/schemas/Problem"
                    continue
                renames[f"#/components/{section}/{name}"] = f"#/components/{section}/{service}.{name}"
        for section, entries in (doc.get("components") or {}).items():
            if section == "securitySchemes":
                continue
            target = components.setdefault(section, {})
            for name, value in entries.items():
                if section == "schemas" and name == "Problem":
                    continue
                target[f"{service}.{name}"] = _rewrite_refs(value, renames)
        seen_tags: set[str] = set()
        for path, item in sorted((doc.get("paths") or {}).items()):
            if not path.startswith("/v1/") or path.startswith("/v1/internal"):
                continue
            item = _rewrite_refs(item, renames)
            for method in METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                _decorate(operation, service, path, method)
                seen_tags.update(operation.get("tags", []))
            paths[f"/api/{service}{path}"] = item
        tags.extend({"name": t, "description": f"{service} service"} for t in sorted(seen_tags))

    if sign_in:
        own_paths, own_schemas = gateway_paths()
        paths.update(own_paths)
        components["schemas"].update(own_schemas)
        tags.append({"name": "gateway: sign-in", "description": "the gateway itself: how staff sign in"})
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer",
                       "description": "An API key issued by network: `Authorization: Bearer <key>`"},
        "applicationToken": {"type": "apiKey", "in": "header", "name": "X-Application-Token",
                             "description": "The status token returned when an outlet application was submitted"},
    }
    info: dict[str, Any] = {
        "title": "After-sales service platform",
        "version": version,
        "description": (
            "Every service of the platform behind one gateway. Paths are `/api/<service>/v1/...`; "
            "each operation lists in `x-permission` the matrix area and the roles it is open to. "
            "Errors are RFC 9457 problem+json. Creates accept `Idempotency-Key`; lists page with "
            "`limit` and `cursor`. Every answer carries `X-Request-ID`."
        ),
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": info,
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "tags": tags,
        "paths": paths,
        "components": components,
    }
    if missing:
        info["x-services-missing"] = sorted(missing)
    return document


def _decorate(operation: dict, service: str, path: str, method: str) -> None:
    if operation.get("operationId"):
        operation["operationId"] = f"{service}_{operation['operationId']}"
    operation["tags"] = [f"{service}: {t}" for t in operation.get("tags") or ["other"]]
    responses = operation.setdefault("responses", {})
    public = is_public_operation(service, path, method)
    if public:
        operation["security"] = (
            [] if method == "post" else [{"applicationToken": []}, {"bearerAuth": []}]
        )
        operation["x-permission"] = {"area": None, "public": True}
    else:
        area = area_for(service, path)
        operation["x-permission"] = {
            "area": area,
            "roles": [r for r in CALLER_ROLES if area and allowed(area, r, method.upper())],
        }
    # Services answer bad input as problem+json, whatever FastAPI's default says.
    if "422" in responses:
        responses["422"] = {"description": responses["422"].get("description") or "Invalid input",
                            "content": _problem_ref()}
    for status, description in GATEWAY_ERRORS.items():
        if status == "413" and method not in _WITH_BODY:
            continue
        if status == "401" and public and method == "post":
            continue
        responses.setdefault(status, {"description": description, "content": _problem_ref()})
    if method == "post":
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name", "").lower() == "idempotency-key" for p in parameters if isinstance(p, dict)):
            parameters.append({
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": ("Makes a retry safe: the same key and body return the first answer and write "
                                "nothing new"),
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
                           "pattern": "^[\\x20-\\x7e]+$"},
            })


class ContractCache:
    """The merged document, rebuilt from the services' live documents at most every
    `ttl` seconds; a service that does not answer keeps its last known document."""

    def __init__(self, client: httpx.AsyncClient, upstreams: dict[str, str], ttl: float, timeout: float = 3.0) -> None:
        self.client, self.upstreams, self.ttl, self.timeout = client, upstreams, ttl, timeout
        # Whether the gateway offers staff sign-in: its /auth/config is documented only then.
        self.sign_in = False
        self._known: dict[str, dict] = {}
        self._merged: dict | None = None
        self._built = float("-inf")
        self._lock = asyncio.Lock()

    async def document(self) -> dict:
        if self._fresh():
            return self._merged  # type: ignore[return-value]
        async with self._lock:
            if self._fresh():
                return self._merged  # type: ignore[return-value]
            full = self._merged is None or time.monotonic() - self._built >= self.ttl
            # A full refresh every `ttl`; in between, only services never reached are asked again.
            targets = list(self.upstreams) if full else [s for s in self.upstreams if s not in self._known]
            results = await asyncio.gather(*(self._fetch(s, self.upstreams[s]) for s in targets))
            for service, doc in zip(targets, results, strict=True):
                if doc is not None:
                    self._known[service] = doc
            missing = [s for s in self.upstreams if s not in self._known]
            self._merged = merge(self._known, missing=missing, sign_in=self.sign_in)
            if full:
                self._built = time.monotonic()
            return self._merged

    def _fresh(self) -> bool:
        return (self._merged is not None and not self._merged["info"].get("x-services-missing")
                and time.monotonic() - self._built < self.ttl)

    async def warm(self, stop: asyncio.Event) -> None:
        """Build the document in the background at start, until every service has answered
        once, so the first reader of /openapi.json does not wait for four services."""
        delay = 1.0
        while not stop.is_set():
            try:
                document = await self.document()
                if not document["info"].get("x-services-missing"):
                    return
            except Exception as exc:
                log.warning("cannot build the merged OpenAPI yet", error=repr(exc))
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, 30.0)

    async def _fetch(self, service: str, base: str) -> dict | None:
        try:
            response = await self.client.get(f"{base}/openapi.json", timeout=self.timeout)
            if response.status_code == 200:
                return response.json()
            log.warning("service OpenAPI unavailable", service=service, status=response.status_code)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("service OpenAPI unavailable", service=service, error=repr(exc))
        return None
