"""The gateway application: create_app(settings=None)."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import time
from collections.abc import Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common import context, scrape
from services.common.clock import Clock, clock_from_setting
from services.common.events.asyncapi import build_asyncapi
from services.common.identity import Principal, SignedAs
from services.common.ids import new_id, new_request_id
from services.common.logging import configure_logging, get_logger

from . import proxy
from .contract import AuthConfig, ContractCache
from .keyevents import KeyEventFeed
from .keys import IntrospectionFailed, KeyCache
from .people import PeopleCache, StoreStates
from .problems import problem
from .ratelimit import TokenBuckets
from .settings import SERVICES, GatewaySettings
from .tokens import SignInUnavailable, TokenVerifier
from .upstream import create_upstream

log = get_logger(__name__)
STATIC = Path(__file__).parent / "static"
REQUESTS = Counter("gateway_requests_total", "Requests answered by the gateway", ["service", "method", "status"])
LATENCY = Histogram(
    "gateway_request_seconds", "Gateway request latency (to the answer head)", ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
GATEWAY_PRINCIPAL = Principal(id="gateway", role="system", name="gateway")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
CORS_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "X-Request-ID",
                "X-Application-Token", "X-Store-Id", "Accept"]


_SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                     (b"referrer-policy", b"no-referrer"), (b"content-security-policy", API_CSP.encode()))
_PROXY_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


async def _serve_proxied(gate: proxy.Gate, scope: Scope, receive: Receive, send: Send, target: tuple[str, str],
                         request_id: str) -> None:
    if scope["method"] not in _PROXY_METHODS:
        await problem(405, f"{scope['method']} is not allowed here", instance=scope["path"])(scope, receive, send)
        return
    await proxy.serve(gate, proxy.Call.of(scope, receive, target[0], target[1], request_id), send)


def _proxied(path: str) -> tuple[str, str] | None:
    """(service, rest) for `/api/<service>/<rest>`, else None."""
    if not path.startswith("/api/"):
        return None
    service, slash, rest = path[5:].partition("/")
    return (service, rest) if slash and service else None


class RequestContext:
    """Outermost: request id (made if absent or unusable, echoed, forwarded), security
    headers, metrics, one structured access-log line per request, and a problem+json 500
    for anything that escapes.

    Proxied calls without an Origin header go from here straight to the proxy: no routing,
    no CORS (it has nothing to do for them), no starlette Request. Calls from a browser on
    another origin pass through CORSMiddleware to the same proxy."""

    def __init__(self, app: ASGIApp, gate: proxy.Gate) -> None:
        self.app = app
        self.gate = gate
        self._latency = {name: LATENCY.labels(name) for name in (*SERVICES, "gateway", "unknown")}
        self._requests: dict[tuple[str, str, int], Counter] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        incoming = ""
        has_origin = False
        for name, value in headers:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
            elif name == b"origin":
                has_origin = True
        rid = incoming if incoming and _REQUEST_ID.match(incoming) else new_request_id()
        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state["request_id"] = rid
        token = context.request_id.set(rid)
        started = time.perf_counter()
        status = 500
        answered = False
        path = scope["path"]
        target = _proxied(path)
        # Only known names become metric labels: a caller must not be able to mint series.
        service = "gateway" if target is None else target[0] if target[0] in SERVICES else "unknown"
        latency = self._latency[service]

        async def send_with_headers(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                answered = True
                status = message["status"]
                out = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                present = {k.lower() for k, _ in out}
                out.append((b"x-request-id", rid.encode()))
                for name, value in _SECURITY_HEADERS:
                    if name not in present:
                        out.append((name, value))
                message = {**message, "headers": out}
                latency.observe(time.perf_counter() - started)
            await send(message)

        try:
            if target is not None and not has_origin:
                await _serve_proxied(self.gate, scope, receive, send_with_headers, target, rid)
            else:
                await self.app(scope, receive, send_with_headers)
        except Exception:
            if answered:
                raise
            log.exception("request failed", method=scope.get("method"), path=path)
            await problem(500, "the gateway failed to answer this request; it has been logged",
                          instance=path)(scope, receive, send_with_headers)
        finally:
            key = (service, scope.get("method", ""), status)
            counter = self._requests.get(key)
            if counter is None:
                counter = self._requests[key] = REQUESTS.labels(service, key[1], str(status))
            counter.inc()
            if path not in ("/healthz", "/readyz", "/metrics"):
                log.info("request", method=scope.get("method"), path=path, status=status,
                         ms=round((time.perf_counter() - started) * 1000, 1), principal=state.get("principal_id"))
            context.request_id.reset(token)


class ProxyRoutes:
    """Inside CORS: `/api/<service>/<path>` from a browser on another origin goes to the
    proxy; everything else to the gateway's own routes."""

    def __init__(self, app: ASGIApp, gate: proxy.Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = _proxied(scope["path"]) if scope["type"] == "http" else None
        if target is None:
            await self.app(scope, receive, send)
            return
        await _serve_proxied(self.gate, scope, receive, send, target, scope["state"]["request_id"])


class GatewayApp(FastAPI):
    """FastAPI with RequestContext outside everything else, ServerErrorMiddleware included."""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestContext(super().build_middleware_stack(), self.state.gate)


def _inline_hashes(html: str, tag: str) -> list[str]:
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.S)
    return ["'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'" for b in blocks]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _dashboard(sign_in_issuer: str | None = None) -> tuple[str, str]:
    html = (STATIC / "dashboard.html").read_text(encoding="utf-8")
    # Inline code is allowed by its hash only: nothing injected can run, and nothing leaves but for
    # this gateway and, with staff sign-in, the provider's origin (the token call: code and refresh).
    connect = "'self'" if sign_in_issuer is None else f"'self' {_origin(sign_in_issuer)}"
    csp = ("default-src 'none'; script-src " + " ".join(_inline_hashes(html, "script")) + "; style-src "
           + " ".join(_inline_hashes(html, "style")) + f"; connect-src {connect}; img-src 'self' data:; "
           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return html, csp


def _swagger_assets() -> Path | None:
    try:
        import swagger_ui_bundle  # provided by the swagger-ui-bundle-v2 distribution
    except ImportError:
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def create_app(settings: GatewaySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """`clock` is the wall clock tokens are checked against (exp, nbf); PLATFORM_CLOCK's by default."""
    settings = settings or GatewaySettings()
    configure_logging("gateway", settings.log_level)
    clock = clock or clock_from_setting(settings.clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = asyncio.Event()
        tasks = []
        if settings.key_events:
            tasks.append(asyncio.create_task(app.state.feed.run(stop), name="gateway-key-events"))
        tasks.append(asyncio.create_task(contract.warm(stop), name="gateway-contract"))
        if tokens is not None:
            tasks.append(asyncio.create_task(tokens.warm(stop), name="gateway-oidc"))
        log.info("gateway started", upstreams=settings.upstreams, key_events=settings.key_events,
                 oidc_issuer=settings.oidc_issuer)
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                try:
                    await asyncio.wait_for(task, 10)
                except (TimeoutError, asyncio.CancelledError):
                    task.cancel()
                except Exception as exc:
                    log.warning("task ended with error", task=task.get_name(), error=repr(exc))
            await upstream.aclose()
            await client.aclose()

    app = GatewayApp(title="After-sales gateway", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  # Our own metrics and access log cover this; FastAPI's OpenTelemetry hooks would
                  # look providers up on every request.
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    client = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=settings.upstream_max_connections,
                            max_keepalive_connections=settings.upstream_max_keepalive,
                            keepalive_expiry=settings.upstream_keepalive_expiry),
        timeout=httpx.Timeout(connect=settings.upstream_connect_timeout, read=settings.upstream_read_timeout,
                              write=settings.upstream_write_timeout, pool=settings.upstream_pool_timeout),
        follow_redirects=False,
        trust_env=False,
    )

    async def introspect(token: str) -> dict:
        rid = context.request_id.get() or new_id()
        try:
            response = await client.post(
                f"{settings.upstream('network')}/v1/internal/introspect", json={"key": token},
                auth=SignedAs(GATEWAY_PRINCIPAL, settings.identity_secret, "network", lambda: rid),
                timeout=settings.introspect_timeout,
            )
        except httpx.HTTPError as exc:
            raise IntrospectionFailed(repr(exc)) from exc
        if response.status_code != 200:
            if response.status_code in (401, 403):
                log.error("network refused the gateway's introspection; check PLATFORM_IDENTITY_SECRET",
                          status=response.status_code)
            raise IntrospectionFailed(f"network answered {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise IntrospectionFailed("network answered no JSON") from exc

    keys = KeyCache(introspect, ttl=settings.key_cache_ttl_seconds,
                    fallback_ttl=settings.key_cache_fallback_ttl_seconds, stale=settings.key_cache_stale_seconds,
                    max_entries=settings.key_cache_max_entries)

    async def from_network(path: str, what: str) -> Mapping[str, Any] | None:
        """One of network's directory entries (a person, a store), asked as the gateway's system
        identity: the answer's body, None when network has no such one."""
        rid = context.request_id.get() or new_id()
        try:
            response = await client.get(
                f"{settings.upstream('network')}{path}",
                auth=SignedAs(GATEWAY_PRINCIPAL, settings.identity_secret, "network", lambda: rid),
                timeout=settings.introspect_timeout,
            )
        except httpx.HTTPError as exc:
            raise IntrospectionFailed(repr(exc)) from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            if response.status_code in (401, 403):
                log.error(f"network refused the gateway's {what} lookup; check PLATFORM_IDENTITY_SECRET",
                          status=response.status_code)
            raise IntrospectionFailed(f"network answered {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise IntrospectionFailed("network answered no JSON") from exc
        if not isinstance(body, dict):
            raise IntrospectionFailed(f"network answered no {what}")
        return body

    async def person(person_id: str) -> Mapping[str, Any] | None:
        return await from_network(f"/v1/people/{quote(person_id, safe='')}", "person")

    async def store(store_id: str) -> Mapping[str, Any] | None:
        return await from_network(f"/v1/stores/{quote(store_id, safe='')}", "store")

    tokens: TokenVerifier | None = None
    people: PeopleCache | None = None
    stores: StoreStates | None = None
    if settings.oidc_issuer:
        tokens = TokenVerifier(client, issuer=settings.oidc_issuer, audience=settings.oidc_audience, clock=clock,
                               leeway_seconds=settings.oidc_leeway_seconds, jwks_ttl=settings.oidc_jwks_ttl_seconds,
                               refetch_min=settings.oidc_jwks_refetch_min_seconds,
                               fetch_timeout=settings.oidc_fetch_timeout)
        people = PeopleCache(person, ttl=settings.person_cache_ttl_seconds,
                             fallback_ttl=settings.person_cache_fallback_ttl_seconds,
                             stale=settings.person_cache_stale_seconds, max_entries=settings.person_cache_max_entries)
        # Stores' states for signed-in people (keys learn theirs by introspection), cached as people are.
        stores = StoreStates(store, ttl=settings.person_cache_ttl_seconds,
                             fallback_ttl=settings.person_cache_fallback_ttl_seconds,
                             stale=settings.person_cache_stale_seconds, max_entries=settings.person_cache_max_entries)
    feed = KeyEventFeed(settings, keys, people, stores)
    keys.feed_live = feed.live
    if people is not None:
        people.feed_live = feed.live
    if stores is not None:
        stores.feed_live = feed.live
    upstream = create_upstream(settings.upstream_client, settings.upstream_limits)
    gate = proxy.Gate(
        settings=settings, upstream=upstream, keys=keys,
        per_key=TokenBuckets(settings.rate_limit_key_per_second, settings.rate_limit_key_burst),
        per_client=TokenBuckets(settings.rate_limit_client_per_second, settings.rate_limit_client_burst),
        public=TokenBuckets(settings.rate_limit_public_per_minute / 60.0, settings.rate_limit_public_burst),
        tokens=tokens, people=people, stores=stores,
    )
    contract = ContractCache(client, settings.upstreams, settings.openapi_cache_seconds, settings.openapi_fetch_timeout)
    app.state.settings = settings
    app.state.client = client
    app.state.keys = keys
    app.state.feed = feed
    app.state.gate = gate
    app.state.tokens = tokens
    app.state.people = people
    app.state.stores = stores
    app.state.clock = clock
    app.state.contract = contract

    # Proxied calls skip FastAPI's routing and dependency resolution, which cost the
    # gateway more CPU than the forwarding itself. RequestContext wraps all of it (GatewayApp).
    app.add_middleware(ProxyRoutes, gate=gate)
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], allow_headers=CORS_HEADERS,
        expose_headers=["X-Request-ID", "Retry-After", "ETag", "Location", "Idempotent-Replayed"], max_age=600,
    )

    @app.get("/", include_in_schema=False)
    async def index():
        return RedirectResponse("/dashboard", status_code=307)

    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz():
        async def check(service: str, base: str) -> bool:
            try:
                response = await client.get(f"{base}/readyz", timeout=settings.readiness_timeout)
                return response.status_code == 200
            except httpx.HTTPError:
                return False

        results = await asyncio.gather(*(check(s, u) for s, u in settings.upstreams.items()))
        checks = dict(zip(settings.upstreams, results, strict=True))
        ok = all(checks.values())
        # The key feed is reported, not required: without it keys are re-checked every couple of seconds.
        body = {"status": "ready" if ok else "not ready", "checks": checks, "key_events_live": feed.live()}
        return JSONResponse(body, status_code=200 if ok else 503)

    # Documented in the merged contract (gateway/contract.py), where sign-in is configured.
    contract.sign_in = tokens is not None

    @app.get("/auth/config", include_in_schema=False)
    async def auth_config():
        """What a store app or the dashboard needs to sign staff in (public)."""
        if tokens is None:
            return problem(404, "staff sign-in is not configured on this gateway (GATEWAY_OIDC_ISSUER); "
                           "callers use API keys", instance="/auth/config")
        try:
            provider = await tokens.provider()
        except SignInUnavailable as exc:
            log.warning("sign-in provider unavailable for /auth/config", error=str(exc))
            return problem(503, "the sign-in provider cannot be reached right now", instance="/auth/config",
                           headers={"Retry-After": "5"})
        config = AuthConfig(
            issuer=provider.issuer, client_id=settings.oidc_client_id, audience=settings.oidc_audience,
            authorization_endpoint=provider.authorization_endpoint, token_endpoint=provider.token_endpoint,
            end_session_endpoint=provider.end_session_endpoint, scopes=settings.oidc_scopes.split(),
        )
        return JSONResponse(config.model_dump(mode="json"), headers={"Cache-Control": "public, max-age=300"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request):
        # The gateway is the public entry: its metrics (routes, callers' failures, key lookups)
        # are for the scraper holding PLATFORM_METRICS_TOKEN only (docs/gateway.md).
        refused = scrape.refusal(settings.metrics_token, request.headers.get("authorization"))
        if refused is not None:
            return problem(401, refused, instance="/metrics", headers={"WWW-Authenticate": scrape.METRICS_REALM})
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi():
        return JSONResponse(await contract.document())

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi():
        return JSONResponse(build_asyncapi())

    assets = _swagger_assets()
    docs_csp = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                "connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'")

    @app.get("/docs", include_in_schema=False)
    async def docs():
        page = "docs.html" if assets is not None else "docs-minimal.html"
        return HTMLResponse((STATIC / page).read_text(encoding="utf-8"), headers={"Content-Security-Policy": docs_csp})

    @app.get("/docs/init.js", include_in_schema=False)
    async def docs_init():
        return FileResponse(STATIC / "docs-init.js", media_type="text/javascript")

    allowed_assets = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                      "favicon-32x32.png", "favicon-16x16.png"}

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def docs_asset(name: str):
        if assets is None or name not in allowed_assets:
            return problem(404, "no such asset")
        return FileResponse(assets / name, headers={"Cache-Control": "public, max-age=86400"})

    dashboard_html, dashboard_csp = _dashboard(settings.oidc_issuer)

    @app.get("/dashboard", include_in_schema=False)
    async def dashboard():
        return HTMLResponse(dashboard_html, headers={"Content-Security-Policy": dashboard_csp,
                                                     "Cache-Control": "no-cache"})

    @app.exception_handler(404)
    async def not_found(request: Request, exc):
        return problem(404, f"no such route: {request.url.path}", instance=request.url.path)

    @app.exception_handler(405)
    async def not_allowed(request: Request, exc):
        return problem(405, f"{request.method} is not allowed here", instance=request.url.path)

    return app
