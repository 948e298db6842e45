"""`/api/<service>/...` to the owning service's `/...`: who the caller is, what the matrix
lets them do, how much they may send and how often, and the forwarding itself."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from prometheus_client import Counter, Histogram
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from services.common import context
from services.common.identity import (
    ANONYMOUS_ROLE, HQ_ROLES, IDENTITY_HEADERS, STORE_ROLES, Principal, sign,
)
from services.common.logging import get_logger
from services.common.permissions import allowed, area_for

from .keys import KeyCache, NetworkUnavailable, well_formed
from .upstream import CONNECT, NO_ANSWER, TIMEOUT, Upstream, UpstreamFailure
from .problems import problem, too_many
from .ratelimit import TokenBuckets
from .settings import SERVICES, GatewaySettings

log = get_logger(__name__)
UPSTREAM_SECONDS = Histogram(
    "gateway_upstream_seconds", "Time to the upstream's answer head", ["service", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
UPSTREAM_ERRORS = Counter("gateway_upstream_errors_total", "Upstream calls that failed", ["service", "kind"])
RETRIES = Counter("gateway_upstream_retries_total", "Idempotent requests retried after a connect error", ["service"])
REFUSED = Counter("gateway_refused_total", "Requests the gateway answered itself", ["reason"])

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
CALLER_ROLES = HQ_ROLES | STORE_ROLES
# Hop-by-hop headers (RFC 9110 §7.6.1) and what the gateway itself decides.
_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
        "transfer-encoding", "upgrade"}
_DROP_REQUEST = _HOP | {"host", "content-length", "authorization", "cookie", "x-request-id", "x-forwarded-for",
                        "x-forwarded-proto", "x-forwarded-host", "forwarded"}
_DROP_RESPONSE = _HOP | {"content-length", "server", "date", "x-request-id"}
_IDENTITY = {h.lower() for h in IDENTITY_HEADERS}
_APPLICATION = re.compile(r"^/v1/outlet-applications/[^/]+$")


@dataclass
class Gate:
    """What the proxy needs, built once per app."""

    settings: GatewaySettings
    upstream: Upstream
    keys: KeyCache
    per_key: TokenBuckets
    per_client: TokenBuckets
    public: TokenBuckets


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def header_safe(text: str) -> str:
    """Header values travel as ASCII; a label in Chinese is sent percent-encoded (UTF-8),
    and the signature covers exactly what is sent."""
    return quote(text, safe=" !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~") if text else text


def is_public(method: str, sub: str, headers) -> bool:
    """The outlet application form: submitting needs no key; reading one's own
    application needs its X-Application-Token instead (an HQ key goes the normal way)."""
    if method == "POST" and sub.rstrip("/") == "/v1/outlet-applications":
        return True
    return (method in ("GET", "HEAD") and bool(_APPLICATION.match(sub)) and "x-application-token" in headers
            and "authorization" not in headers)


async def handle(gate: Gate, request: Request, service: str, path: str) -> Response:
    settings = gate.settings
    instance = request.url.path
    sub = "/" + path
    if service not in SERVICES or not sub.startswith("/v1/") or sub.startswith("/v1/internal"):
        REFUSED.labels("no_route").inc()
        return problem(404, f"no such route: {instance}", instance=instance)
    if any(seg in (".", "..") for seg in sub.split("/")):
        REFUSED.labels("no_route").inc()
        return problem(404, "dot segments are not allowed in paths", instance=instance)

    address = client_address(request)
    wait = gate.per_client.take(address)
    if wait:
        REFUSED.labels("rate_client").inc()
        return too_many("too many requests from this address", wait, instance=instance, limit="client")

    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            return problem(400, "Content-Length is not a number", instance=instance)
        if int(declared) > settings.max_body_bytes:
            REFUSED.labels("too_large").inc()
            return problem(413, f"request body over {settings.max_body_bytes} bytes", instance=instance,
                           max_bytes=settings.max_body_bytes)

    method = request.method.upper()
    if is_public(method, sub, request.headers):
        principal = Principal(id=f"anon:{address}", role=ANONYMOUS_ROLE, name="anonymous")
        if method == "POST":
            wait = gate.public.take(address)
            if wait:
                REFUSED.labels("rate_public").inc()
                return too_many("too many applications from this address", wait, instance=instance, limit="public")
    else:
        outcome = await authenticate(gate, request, instance)
        if isinstance(outcome, Response):
            return outcome
        principal = outcome
        request.state.principal_id = principal.id
        area = area_for(service, sub)
        if area is None or not allowed(area, principal.role, method):
            REFUSED.labels("forbidden").inc()
            what = "read" if method in ("GET", "HEAD", "OPTIONS") else "write"
            return problem(403, f"role {principal.role} may not {what} {area or service} routes",
                           instance=instance, area=area, role=principal.role)
        wait = gate.per_key.take(principal.id)
        if wait:
            REFUSED.labels("rate_key").inc()
            return too_many("too many requests for this API key", wait, instance=instance, limit="key")

    request.state.principal_id = principal.id
    body = await read_body(request, settings.max_body_bytes)
    if body is None:
        REFUSED.labels("too_large").inc()
        return problem(413, f"request body over {settings.max_body_bytes} bytes", instance=instance,
                       max_bytes=settings.max_body_bytes)
    return await forward(gate, request, service, principal, body)


async def authenticate(gate: Gate, request: Request, instance: str) -> Principal | Response:
    header = request.headers.get("authorization")
    if not header:
        REFUSED.labels("no_key").inc()
        return problem(401, "an API key is required: send Authorization: Bearer <key>", instance=instance)
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not well_formed(token):
        REFUSED.labels("bad_key").inc()
        return problem(401, "malformed Authorization header: expected Bearer <key>", instance=instance)
    try:
        info, _source = await gate.keys.resolve(token)
    except NetworkUnavailable:
        REFUSED.labels("keys_unavailable").inc()
        return problem(503, "the API key cannot be checked right now; try again shortly", instance=instance,
                       headers={"Retry-After": "5"})
    if not info.active:
        if info.reason == "store suspended":
            REFUSED.labels("store_suspended").inc()
            return problem(403, "this key's store is suspended", instance=instance)
        REFUSED.labels("bad_key").inc()
        return problem(401, "API key revoked" if info.reason == "revoked" else "unknown API key", instance=instance)
    if info.role not in CALLER_ROLES or not info.id:
        REFUSED.labels("forbidden").inc()
        return problem(403, "this key has no caller role", instance=instance)
    return Principal(id=info.id, role=info.role, store_id=info.store_id, name=header_safe(info.name))


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None past `limit` (counted as it arrives, for chunked bodies too)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _wants_stream(request: Request, sub_path: str) -> bool:
    return "text/event-stream" in request.headers.get("accept", "") or sub_path.endswith("/stream")


def upstream_headers(request: Request, principal: Principal, secret: str) -> list[tuple[bytes, bytes]]:
    """The caller's headers as raw bytes (whatever they carry, passed on unchanged), less
    hop-by-hop, credentials and any identity claims, plus our signed identity."""
    connection_listed = {t.strip().lower() for t in request.headers.get("connection", "").split(",") if t.strip()}
    out: list[tuple[bytes, bytes]] = []
    for raw_name, raw_value in request.scope["headers"]:
        low = raw_name.decode("latin-1").lower()
        # Nobody vouches for themselves: identity headers only ever come from us.
        if low in _DROP_REQUEST or low in connection_listed or low in _IDENTITY or low.startswith(
                ("x-principal-", "x-identity-")):
            continue
        out.append((raw_name, raw_value))
    rid = context.request_id.get() or request.state.request_id
    out.extend((k.encode(), v.encode()) for k, v in sign(principal, rid, secret).items())
    # The client as we see it (already the original one when a trusted proxy said so).
    out.append((b"x-forwarded-for", client_address(request).encode("latin-1")))
    out.append((b"x-forwarded-proto", request.url.scheme.encode()))
    host = request.headers.get("host")
    if host:
        out.append((b"x-forwarded-host", host.encode("latin-1")))
    return out


async def forward(gate: Gate, request: Request, service: str, principal: Principal, body: bytes) -> Response:
    settings = gate.settings
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    prefix = f"/api/{service}".encode()
    sub_raw = raw_path[len(prefix):] if raw_path.startswith(prefix) else raw_path
    url = settings.upstream(service) + sub_raw.decode("latin-1")
    query = request.scope.get("query_string", b"")
    if query:
        url += "?" + query.decode("latin-1")
    method = request.method.upper()
    streaming = _wants_stream(request, request.url.path)
    headers = upstream_headers(request, principal, settings.identity_secret)
    started = time.perf_counter()
    attempts = 2 if method in IDEMPOTENT else 1
    instance = request.url.path
    for attempt in range(1, attempts + 1):
        try:
            upstream = await gate.upstream.send(method, url, headers, body, streaming=streaming)
            break
        except UpstreamFailure as failure:
            # Nothing was answered yet. For a refused connection or a pooled connection the
            # service had just closed, retrying is safe only for idempotent methods.
            if failure.kind in (CONNECT, NO_ANSWER) and attempt < attempts:
                RETRIES.labels(service).inc()
                continue
            return _failed(service, failure, instance, answering=False)
    UPSTREAM_SECONDS.labels(service, method, str(upstream.status)).observe(time.perf_counter() - started)

    answer_headers = [(k.lower(), v) for k, v in upstream.headers if k.decode("latin-1").lower() not in _DROP_RESPONSE]
    if upstream.content_type.startswith("text/event-stream"):
        # Server-sent events: passed through as they come, never buffered.
        response = StreamingResponse(upstream.stream(), status_code=upstream.status,
                                     background=BackgroundTask(upstream.close))
        _set_headers(response, [(k, v) for k, v in answer_headers if k != b"cache-control"]
                     + [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")])
        return response
    try:
        content = await upstream.read()
    except UpstreamFailure as failure:
        return _failed(service, failure, instance, answering=True)
    finally:
        await upstream.close()
    response = Response(content=content, status_code=upstream.status)
    _set_headers(response, answer_headers)
    return response


def _failed(service: str, failure: UpstreamFailure, instance: str, *, answering: bool) -> Response:
    if failure.kind == CONNECT:
        UPSTREAM_ERRORS.labels(service, "connect").inc()
        log.warning("upstream unreachable", service=service, error=str(failure))
        return problem(503, f"{service} is unavailable", instance=instance, headers={"Retry-After": "2"},
                       service=service)
    if failure.kind == TIMEOUT:
        UPSTREAM_ERRORS.labels(service, "timeout").inc()
        detail = f"{service} did not finish its answer in time" if answering else f"{service} did not answer in time"
        return problem(504, detail, instance=instance, service=service)
    UPSTREAM_ERRORS.labels(service, "protocol").inc()
    log.warning("upstream failed", service=service, error=str(failure), answering=answering)
    if failure.kind == NO_ANSWER:
        return problem(502, f"{service} closed the connection without answering", instance=instance, service=service)
    detail = f"{service} broke off its answer" if answering else f"{service} gave no valid answer"
    return problem(502, detail, instance=instance, service=service)


def _set_headers(response: Response, headers: list[tuple[bytes, bytes]]) -> None:
    names = {k for k, _ in headers}
    kept = [(k, v) for k, v in response.raw_headers if k not in names]
    response.raw_headers[:] = kept + headers
