"""`/api/<service>/...` to the owning service's `/...`: who the caller is, what the matrix
lets them do, how much they may send and how often, and the forwarding itself."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import quote

from prometheus_client import Counter, Histogram
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from services.common.addresses import address_group
from services.common.identity import (
    ANONYMOUS_ROLE,
    HQ_ROLES,
    IDENTITY_HEADERS,
    STORE_ROLES,
    Principal,
    SignedRequest,
    body_digest,
    request_target,
    signed_headers,
)
from services.common.logging import get_logger
from services.common.permissions import allowed, area_for

from .keys import KeyCache, NetworkUnavailable, well_formed
from .people import PeopleCache, StoreNotChosen, StoreStates, acting_as
from .problems import problem, too_many
from .ratelimit import TokenBuckets
from .settings import SERVICES, GatewaySettings
from .streams import EventStream, StreamSlot, StreamSlots
from .tokens import SignInUnavailable, TokenRefused, TokenVerifier
from .upstream import CONNECT, NO_ANSWER, TIMEOUT, Upstream, UpstreamFailure

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
_DROP_REQUEST = {h.encode() for h in _HOP | {
    "host", "content-length", "authorization", "cookie", "x-request-id", "x-forwarded-for", "x-forwarded-proto",
    "x-forwarded-host", "forwarded",
    # The gateway has the whole body before it forwards; the service must not wait for a go-ahead.
    "expect"}} | {h.lower().encode() for h in IDENTITY_HEADERS}
_DROP_RESPONSE = {h.encode() for h in _HOP | {"content-length", "server", "date", "x-request-id"}}
# A HEAD answer's Content-Length is the length the GET would have had: passed on as it is.
_DROP_RESPONSE_HEAD = _DROP_RESPONSE - {b"content-length"}
_APPLICATION = re.compile(r"^/v1/outlet-applications/[^/]+$")
_FLEET_APPROVAL = re.compile(r"^/v1/repair-orders/[^/]+/fleet-approval$")
# What a path may hold as sent (RFC 3986's pchar and "/"), and the encodings it may not:
# separators (/ and \), "%" itself (an encoding a second decoder would undo) and control characters.
_PATH_BYTES = re.compile(rb"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$")
_ENCODED_REFUSED = re.compile(rb"%(?:2f|5c|25|[01][0-9a-f]|7f)", re.IGNORECASE)
_DOT_SEGMENT = re.compile(rb"/(?:\.|%2e){1,2}(?=/|$)", re.IGNORECASE)


@dataclass
class Gate:
    """What the proxy needs, built once per app."""

    settings: GatewaySettings
    upstream: Upstream
    keys: KeyCache
    per_key: TokenBuckets
    per_client: TokenBuckets
    public: TokenBuckets
    # Staff sign-in; None when no OpenID Connect provider is configured.
    tokens: TokenVerifier | None = None
    people: PeopleCache | None = None
    stores: StoreStates | None = None

    def __post_init__(self) -> None:
        self.secret = self.settings.identity_secret.encode()
        settings = self.settings
        self.streams = StreamSlots(settings.stream_max_per_principal, settings.upstream_stream_max_connections,
                                   settings.stream_max_seconds)


class ClientGone(Exception):
    """The caller disconnected before its request body arrived whole."""


@dataclass(slots=True)
class Call:
    """One proxied request, read straight from the ASGI scope: the proxy is the gateway's
    hot path, and starlette's Request and URL objects cost more than the checks themselves."""

    scope: Scope
    receive: Receive
    service: str
    sub: str                     # the service's own path, e.g. /v1/stores/42
    headers: dict[bytes, bytes]  # lower-case names; the first of repeated headers
    request_id: str
    path: str                    # as the caller sent it, /api/<service>/...
    method: str
    address: str                 # the client's address, as uvicorn has it

    @classmethod
    def of(cls, scope: Scope, receive: Receive, service: str, rest: str, request_id: str) -> Call:
        client = scope.get("client")
        # reversed: where a header repeats, the first one counts (as starlette's Headers.get).
        return cls(scope, receive, service, "/" + rest, dict(reversed(scope["headers"])), request_id,
                   scope["path"], scope["method"].upper(), client[0] if client else "unknown")

    def header(self, name: bytes) -> str | None:
        value = self.headers.get(name)
        return value.decode("latin-1") if value is not None else None


def header_safe(text: str) -> str:
    """Header values travel as ASCII; a label in Chinese is sent percent-encoded (UTF-8),
    and the signature covers exactly what is sent."""
    return quote(text, safe=" !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~") if text else text


def is_public(method: str, sub: str, headers: dict[bytes, bytes]) -> bool:
    """The outlet application form: submitting needs no key; reading one's own
    application needs its X-Application-Token instead (an HQ key goes the normal way).
    A fleet's contact approves an order through the link they were sent: without a key,
    the link's token in the body is what reception checks (with a key, the normal way)."""
    if method == "POST" and sub.rstrip("/") == "/v1/outlet-applications":
        return True
    if method == "POST" and _FLEET_APPROVAL.match(sub) and b"authorization" not in headers:
        return True
    return (method in ("GET", "HEAD") and bool(_APPLICATION.match(sub)) and b"x-application-token" in headers
            and b"authorization" not in headers)


def odd_path(scope: Scope, service: str) -> str | None:
    """Why the path after /api/<service>, as the caller sent it, may not go to the service,
    or None. It is appended to the service's base URL as sent (forward), so it must begin
    with a plain "/" (an encoded one there would join the host's port) and hold nothing
    that a server, or a proxy before it, may read as another path: no encoded separators
    or second encodings, no empty or dot segments, only bytes a URL path may carry."""
    raw: bytes = scope.get("raw_path") or quote(scope["path"]).encode()
    prefix = b"/api/" + service.encode() + b"/"
    if not raw.startswith(prefix):
        return "the service must be followed by a plain /"
    rest = raw[len(prefix) - 1:]
    if not _PATH_BYTES.match(rest):
        return "the path holds characters a URL path may not"
    if _ENCODED_REFUSED.search(rest):
        return "encoded slashes, backslashes, percent signs and control characters are not allowed in paths"
    if b"//" in rest:
        return "empty path segments are not allowed"
    if _DOT_SEGMENT.search(rest):
        return "dot segments are not allowed in paths"
    return None


async def serve(gate: Gate, call: Call, send: Send) -> None:
    """Answer one `/api/<service>/...` request: refused by the gateway, or the service's answer."""
    try:
        outcome = await handle(gate, call)
    except ClientGone:
        return
    if isinstance(outcome, Response):
        await outcome(call.scope, call.receive, send)
        return
    await send({"type": "http.response.start", "status": outcome[0], "headers": outcome[1]})
    await send({"type": "http.response.body", "body": outcome[2]})


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


async def handle(gate: Gate, call: Call) -> Response | Answer:
    settings = gate.settings
    instance = call.path
    sub, service = call.sub, call.service
    if service not in SERVICES or not sub.startswith("/v1/") or sub.startswith("/v1/internal"):
        REFUSED.labels("no_route").inc()
        return problem(404, f"no such route: {instance}", instance=instance)
    odd = odd_path(call.scope, service)
    if odd is not None:
        REFUSED.labels("odd_path").inc()
        return problem(404, f"no such route: {odd}", instance=instance)

    address = call.address
    wait = gate.per_client.take(address)
    if wait:
        REFUSED.labels("rate_client").inc()
        return too_many("too many requests from this address", wait, instance=instance, limit="client")

    declared = call.header(b"content-length")
    if declared is not None:
        if not declared.isdigit():
            return problem(400, "Content-Length is not a number", instance=instance)
        if int(declared) > settings.max_body_bytes:
            REFUSED.labels("too_large").inc()
            return problem(413, f"request body over {settings.max_body_bytes} bytes", instance=instance,
                           max_bytes=settings.max_body_bytes)

    method = call.method
    if is_public(method, sub, call.headers):
        principal = Principal(id=f"anon:{address}", role=ANONYMOUS_ROLE, name="anonymous")
        if method == "POST":
            # An IPv6 client by its /64: one subscriber holds all of it (services.common.addresses).
            wait = gate.public.take(address_group(address))
            if wait:
                REFUSED.labels("rate_public").inc()
                return too_many("too many applications from this address", wait, instance=instance, limit="public")
    else:
        outcome = await authenticate(gate, call.header(b"authorization"), instance, call.headers)
        if isinstance(outcome, Response):
            return outcome
        principal = outcome
        call.scope["state"]["principal_id"] = principal.id
        area = area_for(service, sub)
        if area is None or not allowed(area, principal.role, method):
            REFUSED.labels("forbidden").inc()
            what = "read" if method in ("GET", "HEAD", "OPTIONS") else "write"
            return problem(403, f"role {principal.role} may not {what} {area or service} routes",
                           instance=instance, area=area, role=principal.role)
        wait = gate.per_key.take(principal.id)
        if wait:
            REFUSED.labels("rate_key").inc()
            return too_many("too many requests for this API key or person", wait, instance=instance, limit="key")

    call.scope["state"]["principal_id"] = principal.id
    body = await read_body(call.receive, settings.max_body_bytes)
    if body is None:
        REFUSED.labels("too_large").inc()
        return problem(413, f"request body over {settings.max_body_bytes} bytes", instance=instance,
                       max_bytes=settings.max_body_bytes)
    if _wants_stream(call):
        return await forward_stream(gate, call, principal, body)
    return await forward(gate, call, principal, body)


async def forward_stream(gate: Gate, call: Call, principal: Principal, body: bytes) -> Response | Answer:
    """A request for an event stream: counted against the principal's streams before it is
    sent, and counted for as long as the stream is open (released when it ends however it
    ends, or at once when the service answers with anything else)."""
    slot = open_stream(gate, principal, call.path)
    if isinstance(slot, Response):
        return slot
    try:
        outcome = await forward(gate, call, principal, body, slot=slot)
    except BaseException:
        slot.release()
        raise
    if not isinstance(outcome, EventStream):
        slot.release()
    return outcome


def open_stream(gate: Gate, principal: Principal, instance: str) -> StreamSlot | Response:
    streams = gate.streams
    if streams.full():
        REFUSED.labels("streams_full").inc()
        return problem(503, f"this gateway carries {streams.total} event streams at once and all are open; "
                       "try again shortly", instance=instance, headers={"Retry-After": "5"})
    slot = streams.open(principal.id)
    if slot is None:
        REFUSED.labels("streams").inc()
        held = streams.held(principal.id)
        return too_many(f"{held} event streams are open for this API key or person, and {streams.per_principal} "
                        "is the most at once: close one, or open another when one ends",
                        streams.retry_after(principal.id), instance=instance, limit="streams", open_streams=held,
                        max_streams=streams.per_principal)
    return slot


async def authenticate(gate: Gate, header: str | None, instance: str,
                       headers: dict[bytes, bytes] | None = None) -> Principal | Response:
    if not header:
        REFUSED.labels("no_key").inc()
        return problem(401, "an API key or access token is required: send Authorization: Bearer <key or token>",
                       instance=instance)
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    # An access token is a JWT (three dot-separated parts); API keys start "ak_".
    if not token.startswith("ak_") and token.count(".") == 2 and scheme.lower() == "bearer":
        return await sign_in(gate, token, instance, headers or {})
    if scheme.lower() != "bearer" or not well_formed(token):
        REFUSED.labels("bad_key").inc()
        return problem(401, "malformed Authorization header: expected Bearer <key or token>", instance=instance)
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
    # A key issued to a person acts as the person, so four-eyes rules count people whatever
    # keys they hold; a machine's key, issued to nobody, acts as itself.
    name = info.person_name if info.person_id else info.name
    who = (info.id, info.role, info.store_id, info.person_id, name)
    principal = _principals.get(who)
    if principal is None:
        if len(_principals) >= 10_000:
            _principals.clear()
        principal = _principals[who] = Principal(id=info.person_id or info.id, role=info.role, store_id=info.store_id,
                                                 name=header_safe(name), credential=f"key:{info.id}")
    return principal


# The same key's principal on every request: built (and its name percent-encoded) once.
_principals: dict[tuple[str, str, str | None, str | None, str], Principal] = {}


async def sign_in(gate: Gate, token: str, instance: str, headers: dict[bytes, bytes]) -> Principal | Response:
    """A person signed in through the provider: the token verified, the person looked up in
    the staff directory, and the store they act for chosen (X-Store-Id)."""
    if gate.tokens is None or gate.people is None:
        REFUSED.labels("no_signin").inc()
        return problem(401, "access tokens are not accepted here: this gateway has no sign-in provider "
                       "configured (GATEWAY_OIDC_ISSUER); use an API key", instance=instance)
    try:
        claims = await gate.tokens.verify(token)
    except TokenRefused as exc:
        REFUSED.labels("bad_token").inc()
        return problem(401, f"access token refused: {exc}", instance=instance)
    except SignInUnavailable as exc:
        REFUSED.labels("signin_unavailable").inc()
        log.warning("access token cannot be checked", error=str(exc))
        return problem(503, "the access token cannot be checked right now; try again shortly", instance=instance,
                       headers={"Retry-After": "5"})
    person_id: str = claims["person_id"]
    try:
        person, _source = await gate.people.resolve(person_id)
    except NetworkUnavailable:
        REFUSED.labels("people_unavailable").inc()
        return problem(503, "the staff directory cannot be asked right now; try again shortly", instance=instance,
                       headers={"Retry-After": "5"})
    if not person.active:
        REFUSED.labels("person_inactive").inc()
        detail = "you have left the group" if person.found else "you are not in the staff directory"
        return problem(401, f"sign-in refused: {detail}", instance=instance, person_id=person_id)
    wanted = headers.get(b"x-store-id")
    try:
        role, store_id = acting_as(person, wanted.decode("latin-1").strip() if wanted else None)
    except StoreNotChosen as exc:
        REFUSED.labels("store_not_chosen").inc()
        return problem(exc.status, exc.detail, instance=instance, **exc.extra)
    if store_id is not None and gate.stores is not None:
        # A suspended store's keys stop at introspection; its people stop here, for that store
        # only: HQ people act for none, and a person of two stores keeps the other.
        try:
            store, _source = await gate.stores.resolve(store_id)
        except NetworkUnavailable:
            REFUSED.labels("stores_unavailable").inc()
            return problem(503, "the store's state cannot be checked right now; try again shortly",
                           instance=instance, headers={"Retry-After": "5"})
        if store.suspended:
            REFUSED.labels("store_suspended").inc()
            return problem(403, f"门店 {store_id} 已停业整顿 / store {store_id} is suspended: its staff may not act "
                           "for it until HQ reactivates it", instance=instance, store_id=store_id,
                           store_status=store.status)
    # The provider's session (sid), or the token itself (jti) where it names none.
    session = claims.get("sid") or claims.get("jti") or ""
    return Principal(id=person.id, role=role, store_id=store_id, name=header_safe(person.name),
                     credential="token:" + header_safe(str(session)[:128]))


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The body, or None past `limit` (counted as it arrives, for chunked bodies too)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGone()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks) if len(chunks) != 1 else chunks[0]


def _wants_stream(call: Call) -> bool:
    return b"text/event-stream" in call.headers.get(b"accept", b"") or call.path.endswith("/stream")


def upstream_headers(call: Call, principal: Principal, secret: bytes,
                     signed: SignedRequest) -> list[tuple[bytes, bytes]]:
    """The caller's headers as raw bytes (whatever they carry, passed on unchanged), less
    hop-by-hop, credentials and any identity claims, plus our identity signed over `signed`
    (method, path and query, service, body digest) with a fresh nonce."""
    connection = call.headers.get(b"connection")
    connection_listed = ({t.strip().lower() for t in connection.split(b",") if t.strip()} if connection
                         else frozenset())
    out: list[tuple[bytes, bytes]] = []
    for raw_name, raw_value in call.scope["headers"]:
        low = raw_name.lower()
        # Nobody vouches for themselves: identity headers only ever come from us.
        if low in _DROP_REQUEST or low in connection_listed or low.startswith((b"x-principal-", b"x-identity-")):
            continue
        out.append((raw_name, raw_value))
    out += signed_headers(principal, call.request_id, secret, signed)
    # The client as we see it (already the original one when a trusted proxy said so).
    out.append((b"x-forwarded-for", call.address.encode("latin-1")))
    out.append((b"x-forwarded-proto", call.scope.get("scheme", "http").encode()))
    host = call.headers.get(b"host")
    if host:
        out.append((b"x-forwarded-host", host))
    return out


async def forward(gate: Gate, call: Call, principal: Principal, body: bytes,
                  slot: StreamSlot | None = None) -> Response | Answer:
    settings = gate.settings
    service = call.service
    raw_path: bytes = call.scope.get("raw_path") or call.path.encode()
    prefix = f"/api/{service}".encode()
    sub_raw = raw_path[len(prefix):] if raw_path.startswith(prefix) else raw_path
    target = sub_raw.decode("latin-1")
    query = call.scope.get("query_string", b"")
    if query:
        target += "?" + query.decode("latin-1")
    url = settings.upstream(service) + target
    method = call.method
    streaming = _wants_stream(call)
    # The whole body is in hand (read_body), so its digest is of exactly what is sent.
    signed = SignedRequest(method, request_target(target), service, body_digest(body))
    headers = upstream_headers(call, principal, gate.secret, signed)
    started = time.perf_counter()
    attempts = 2 if method in IDEMPOTENT else 1
    instance = call.path
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            # A fresh nonce: the service may have seen the first one before the connection went.
            headers = upstream_headers(call, principal, gate.secret, signed)
        try:
            upstream = await gate.upstream.send(method, url, headers, body, streaming=streaming)
            break
        except UpstreamFailure as failure:
            # Nothing was answered yet. For a refused connection or a pooled connection the
            # service had just closed, retrying is safe only for idempotent methods, and once
            # (aiohttp may have sent it again already).
            if failure.kind in (CONNECT, NO_ANSWER) and not failure.retried and attempt < attempts:
                RETRIES.labels(service).inc()
                continue
            return _failed(service, failure, instance, answering=False)
    _upstream_seconds(service, method, upstream.status).observe(time.perf_counter() - started)

    drop = _DROP_RESPONSE if method != "HEAD" else _DROP_RESPONSE_HEAD
    answer_headers = [(k.lower(), v) for k, v in upstream.headers if k.lower() not in drop]
    if upstream.content_type.startswith("text/event-stream"):
        if slot is None:
            # A stream for a request that did not look like one (no Accept, no /stream):
            # counted all the same, and refused past the principal's limit.
            opened = open_stream(gate, principal, instance)
            if isinstance(opened, Response):
                await upstream.close()
                return opened
            slot = opened
        # Server-sent events: passed through as they come, never buffered.
        passed = [(k, v) for k, v in answer_headers if k != b"cache-control"]
        return EventStream(upstream.status, passed + [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")],
                           upstream.stream(), upstream.close, slot, heartbeat=settings.stream_heartbeat_seconds,
                           retry_ms=settings.stream_retry_ms, service=service)
    try:
        content = await upstream.read()
    except UpstreamFailure as failure:
        return _failed(service, failure, instance, answering=True)
    finally:
        await upstream.close()
    status = upstream.status
    if method != "HEAD" and status >= 200 and status not in (204, 304):
        answer_headers.append((b"content-length", b"%d" % len(content)))
    return status, answer_headers, content


_upstream_children: dict[tuple[str, str, int], Histogram] = {}


def _upstream_seconds(service: str, method: str, status: int):
    # labels() takes a lock and builds its key on every call; the children are few and fixed.
    child = _upstream_children.get((service, method, status))
    if child is None:
        child = _upstream_children[(service, method, status)] = UPSTREAM_SECONDS.labels(service, method, str(status))
    return child


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
