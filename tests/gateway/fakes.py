"""Stand-ins for the services, for the gateway's own fast tests.

Small ASGI apps served by uvicorn in the test's event loop, reached by the gateway over
real sockets through its production upstream client: a network that answers
introspection (and checks the gateway's signature the way the real one does), and echo
services that verify the forwarded identity with the platform's own `verify` and answer
with what they received."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.main import create_app
from gateway.settings import GatewaySettings
from services.common.clock import Clock
from services.common.identity import IdentityError, NonceLedger, Principal, SignedRequest, scope_target, verify
from tests.gateway.servers import Served

SECRET = "test-identity-secret-0123456789-abcdef"
CLIENT_ADDRESS = "203.0.113.7"
# What the scraper sends for /metrics (PLATFORM_METRICS_TOKEN).
METRICS_TOKEN = "mt_q8Zr2VbN5xLp0cTw7YhJ3dKf9GsMa4Ue"


async def vouched(request: Request, service: str, seen: NonceLedger | None = None) -> Principal:
    """The principal the gateway signed for, checked as a service checks it: against the
    request as received here (method, path and query, `service`, the body) and, with `seen`,
    refusing a nonce a second time."""
    signed = SignedRequest.of(request.method, scope_target(request.scope), service, await request.body())
    return verify(request.headers, SECRET, signed, seen=seen)


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
                         "requestBody": {"content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/Item"}}}},
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
            "ItemList": {"type": "object", "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}},
            "HTTPValidationError": {"type": "object"},
            "Problem": {"type": "object"},
        }},
    }


def echo_app(service: str, delays: dict[str, float] | None = None) -> Starlette:
    seen = NonceLedger()

    async def echo(request: Request) -> Response:
        body = await request.body()
        if delays and delays.get(service):
            await asyncio.sleep(delays[service])
        try:
            p = await vouched(request, service, seen)
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
    """network's introspection, with keys the test declares, and its staff directory's
    GET /v1/people/{id}, with the people the test declares."""

    def __init__(self, delays: dict[str, float] | None = None) -> None:
        self.keys: dict[str, dict] = {}
        self.people: dict[str, dict] = {}
        self.introspections = 0
        self.person_lookups = 0
        self.app = echo_app("network", delays)
        self.app.router.routes.insert(0, Route("/v1/internal/introspect", self._introspect, methods=["POST"]))
        self.app.router.routes.insert(0, Route("/v1/people/{person_id}", self._person, methods=["GET"]))

    def add_person(self, person_id: str, name: str, assignments: dict[str, str], *, status: str = "active",
                   **extra: Any) -> dict:
        """A person as network's directory answers it: `assignments` maps store to role."""
        self.people[person_id] = person = {
            "id": person_id, "employee_no": f"E{len(self.people):04d}", "name": name, "phone": "13800138000",
            "status": status, "assignments": [{"store_id": s, "role": r, "assigned_at": "2026-01-05T08:00:00Z"}
                                              for s, r in assignments.items()], **extra}
        return person

    async def _person(self, request: Request) -> Response:
        try:
            principal = await vouched(request, "network")
        except IdentityError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=401)
        if principal.role != "system":
            return JSONResponse({"detail": "system only"}, status_code=403)
        self.person_lookups += 1
        person = self.people.get(request.path_params["person_id"])
        if person is None:
            return JSONResponse({"status": 404, "detail": "person not found"}, status_code=404)
        return JSONResponse(person)

    def add_key(self, token: str, key_id: str, role: str, store_id: str | None = None, name: str = "",
                active: bool = True, reason: str | None = None) -> str:
        self.keys[token] = {"active": active, "id": key_id, "role": role, "store_id": store_id,
                            "name": name or key_id, "store_status": "active" if store_id else None, "reason": reason}
        return token

    async def _introspect(self, request: Request) -> Response:
        try:
            principal = await vouched(request, "network")
        except IdentityError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=401)
        if principal.role != "system":
            return JSONResponse({"detail": "system only"}, status_code=403)
        self.introspections += 1
        token = json.loads(await request.body())["key"]
        return JSONResponse(self.keys.get(token, {"active": False, "reason": "unknown key"}))


@dataclass
class Seen:
    """One request as a stand-in service received it."""

    service: str
    method: str
    path: str


def recorded(app, service: str, calls: list[Seen]):
    async def record(scope, receive, send):
        if scope["type"] == "http":
            calls.append(Seen(service, scope["method"], scope["path"]))
        await app(scope, receive, send)
    return record


class Services:
    """The stand-ins served by uvicorn on their own ports: the gateway reaches them over
    real sockets through its production client. `stop` makes one refuse connections,
    `slow` makes one take that long to answer."""

    def __init__(self, apps: dict[str, Any], delays: dict[str, float]) -> None:
        self.calls: list[Seen] = []
        self.delays = delays  # shared with the echo apps
        self.served = {s: Served(recorded(a, s, self.calls)) for s, a in apps.items()}

    def url(self, service: str) -> str:
        return self.served[service].url

    async def start(self, *services: str) -> None:
        await asyncio.gather(*(self.served[s].start() for s in services or self.served))

    async def stop(self, *services: str) -> None:
        await asyncio.gather(*(self.served[s].stop() for s in services or self.served))

    def slow(self, service: str, seconds: float) -> None:
        self.delays[service] = seconds

    def service_calls(self, service: str, path_prefix: str = "/v1/") -> list[Seen]:
        return [c for c in self.calls if c.service == service and c.path.startswith(path_prefix)
                and not c.path.startswith("/v1/internal")]


def settings(**overrides) -> GatewaySettings:
    values: dict[str, Any] = dict(
        identity_secret=SECRET, key_events=False, cors_origins=["https://store.example"],
        rate_limit_key_per_second=1000, rate_limit_key_burst=1000,
        rate_limit_client_per_second=1000, rate_limit_client_burst=1000, log_level="WARNING",
        metrics_token=METRICS_TOKEN,
    )
    values.update(overrides)
    return GatewaySettings(**values)


class Rig:
    def __init__(self, app, network: FakeNetwork, services: Services, client: httpx.AsyncClient) -> None:
        self.app, self.network, self.services, self.client = app, network, services, client

    def key(self, role: str, store_id: str | None = None, name: str = "", key_id: str | None = None) -> str:
        token = f"ak_{role}_{store_id or 'hq'}_{len(self.network.keys)}_0123456789"
        self.network.add_key(token, key_id or f"key-{role}-{len(self.network.keys)}", role, store_id, name)
        return token

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def gateway(*, own: dict[str, str] | None = None, clock: Clock | None = None, **overrides) -> AsyncIterator[Rig]:
    """The gateway in this process, its upstream client (the production one unless
    `upstream_client` says otherwise) forwarding over real sockets to stand-ins served by
    uvicorn; `own` names services the test serves itself, by URL; `clock` is its wall clock."""
    own = own or {}
    delays: dict[str, float] = {}
    network = FakeNetwork(delays)
    apps = {"network": network.app, **{s: echo_app(s, delays) for s in ("reception", "workshop", "crm")}}
    services = Services({s: a for s, a in apps.items() if s not in own}, delays)
    await services.start()
    try:
        urls = {f"{s}_url": own.get(s) or services.url(s) for s in apps}
        app = create_app(settings(**{**urls, **overrides}), clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
                yield Rig(app, network, services, client)
    finally:
        await services.stop()
