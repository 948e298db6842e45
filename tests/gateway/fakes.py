"""In-process stand-ins for the services, for the gateway's own fast tests.

The gateway's upstream client is given a transport that routes by host to small ASGI
apps: a network that answers introspection (and checks the gateway's signature the way
the real one does), and echo services that verify the forwarded identity with the
platform's own `verify` and answer with what they received."""
from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.main import create_app
from gateway.settings import GatewaySettings
from services.common.identity import IdentityError, verify

SECRET = "test-identity-secret-0123456789-abcdef"
HOSTS = {s: f"{s}.test" for s in ("reception", "workshop", "crm", "network")}
CLIENT_ADDRESS = "203.0.113.7"


def service_openapi(service: str) -> dict:
    """A small service document with the shapes FastAPI produces (and a name every service shares)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{service} service", "version": "1.0.0"},
        "paths": {
            "/v1/things": {
                "get": {"operationId": "list_things", "tags": ["things"],
                        "responses": {"200": {"description": "ok", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/ItemList"}}}}}},
                "post": {"operationId": "create_thing", "tags": ["things"],
                         "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}},
                         "responses": {"201": {"description": "created"},
                                       "404": {"description": "Not found", "content": {"application/problem+json": {
                                           "schema": {"$ref": "#/components/schemas/Problem"}}}},
                                       "422": {"description": "Validation Error", "content": {"application/json": {
                                           "schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}}}},
            },
            "/v1/internal/secret": {"post": {"operationId": "secret", "responses": {"200": {"description": "ok"}}}},
            "/healthz": {"get": {"operationId": "healthz", "responses": {"200": {"description": "ok"}}}},
        },
        "components": {"schemas": {
            "Item": {"type": "object", "properties": {"name": {"type": "string"}}, "title": f"{service} item"},
            "ItemList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}},
            "HTTPValidationError": {"type": "object"},
            "Problem": {"type": "object"},
        }},
    }


def echo_app(service: str) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        try:
            p = verify(request.headers, SECRET)
            principal: Any = {"id": p.id, "role": p.role, "store_id": p.store_id, "name": p.name}
        except IdentityError as exc:
            principal = {"error": str(exc)}
        return JSONResponse({
            "service": service, "method": request.method, "path": request.url.path,
            "raw_path": request.scope["raw_path"].decode(), "query": request.url.query,
            "headers": {k.lower(): v for k, v in request.headers.items()}, "body": body.decode(errors="replace"),
            "principal": principal,
        }, headers={"x-upstream": service, "set-cookie": "a=1", "connection": "keep-alive"})

    async def openapi(request: Request) -> Response:
        return JSONResponse(service_openapi(service))

    async def readyz(request: Request) -> Response:
        return JSONResponse({"status": "ready"})

    return Starlette(routes=[
        Route("/openapi.json", openapi), Route("/readyz", readyz),
        Route("/{path:path}", echo, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    ])


class FakeNetwork:
    """network's introspection, with keys the test declares."""

    def __init__(self) -> None:
        self.keys: dict[str, dict] = {}
        self.introspections = 0
        self.app = echo_app("network")
        self.app.router.routes.insert(0, Route("/v1/internal/introspect", self._introspect, methods=["POST"]))

    def add_key(self, token: str, key_id: str, role: str, store_id: str | None = None, name: str = "",
                active: bool = True, reason: str | None = None) -> str:
        self.keys[token] = {"active": active, "id": key_id, "role": role, "store_id": store_id,
                            "name": name or key_id, "store_status": "active" if store_id else None, "reason": reason}
        return token

    async def _introspect(self, request: Request) -> Response:
        try:
            principal = verify(request.headers, SECRET)
        except IdentityError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=401)
        if principal.role != "system":
            return JSONResponse({"detail": "system only"}, status_code=403)
        self.introspections += 1
        token = json.loads(await request.body())["key"]
        return JSONResponse(self.keys.get(token, {"active": False, "reason": "unknown key"}))


class Upstreams(httpx.AsyncBaseTransport):
    """Routes upstream calls by host to in-process apps; `down` hosts refuse connections."""

    def __init__(self, apps: dict[str, Any]) -> None:
        self.transports = {HOSTS[s]: httpx.ASGITransport(app=a) for s, a in apps.items()}
        self.down: set[str] = set()
        self.refuse_next: dict[str, int] = {}
        self.timeout: set[str] = set()
        self.calls: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.calls.append(request)
        if host in self.timeout:
            raise httpx.ReadTimeout("upstream too slow", request=request)
        if self.refuse_next.get(host):
            self.refuse_next[host] -= 1
            raise httpx.ConnectError("connection refused", request=request)
        if host in self.down or host not in self.transports:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.transports[host].handle_async_request(request)

    def service_calls(self, service: str, path_prefix: str = "/v1/") -> list[httpx.Request]:
        return [c for c in self.calls if c.url.host == HOSTS[service] and c.url.path.startswith(path_prefix)
                and not c.url.path.startswith("/v1/internal")]


def settings(**overrides) -> GatewaySettings:
    values: dict[str, Any] = dict(
        reception_url=f"http://{HOSTS['reception']}", workshop_url=f"http://{HOSTS['workshop']}",
        crm_url=f"http://{HOSTS['crm']}", network_url=f"http://{HOSTS['network']}",
        identity_secret=SECRET, key_events=False, cors_origins=["https://store.example"],
        rate_limit_key_per_second=1000, rate_limit_key_burst=1000,
        rate_limit_client_per_second=1000, rate_limit_client_burst=1000, log_level="WARNING",
    )
    values.update(overrides)
    return GatewaySettings(**values)


class Rig:
    def __init__(self, app, network: FakeNetwork, upstreams: Upstreams, client: httpx.AsyncClient) -> None:
        self.app, self.network, self.upstreams, self.client = app, network, upstreams, client

    def key(self, role: str, store_id: str | None = None, name: str = "", key_id: str | None = None) -> str:
        token = f"ak_{role}_{store_id or 'hq'}_{len(self.network.keys)}_0123456789"
        self.network.add_key(token, key_id or f"key-{role}-{len(self.network.keys)}", role, store_id, name)
        return token

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def gateway(**overrides) -> AsyncIterator[Rig]:
    network = FakeNetwork()
    apps = {"network": network.app, **{s: echo_app(s) for s in ("reception", "workshop", "crm")}}
    upstreams = Upstreams(apps)
    app = create_app(settings(**overrides), transport=upstreams)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield Rig(app, network, upstreams, client)
