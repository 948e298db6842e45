"""Signed identity headers: the gateway vouches for the caller, services verify.

Reaching a service port directly grants nothing: without a fresh, valid signature over
principal, role, store, request id and timestamp, and over the request it came with
(method, path and query, the service it is for, a SHA-256 digest of the body and a nonce),
every business route answers 401. A header set copied onto another route, service, method
or body does not verify, and each service process accepts a nonce once (docs/identity.md)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, quote_from_bytes, unquote

import httpx
from cachetools import TLRUCache

# region_manager is an HQ role (no store of its own) whose stores are those of its regions:
# the service that keeps the regions (network) gives its principal `stores` (docs/network.md).
HQ_ROLES = frozenset({"hq_admin", "hq_analyst", "region_manager"})
STORE_ROLES = frozenset(
    {"store_manager", "service_manager", "service_advisor", "technician", "parts_clerk", "crm_agent",
     "warranty_clerk", "cashier", "outlet_api"}
)
# The gateway itself, e.g. for key introspection; never given to a caller.
SYSTEM_ROLE = "system"
# A caller without a key on a public route (the outlet application form).
ANONYMOUS_ROLE = "anonymous"
ROLES = HQ_ROLES | STORE_ROLES | {SYSTEM_ROLE, ANONYMOUS_ROLE}

H_PRINCIPAL = "X-Principal-Id"
H_NAME = "X-Principal-Name"
H_ROLE = "X-Principal-Role"
H_STORE = "X-Principal-Store"
# The key or sign-in the principal came with, kept beside the person on what they do.
H_CREDENTIAL = "X-Principal-Credential"
H_REQUEST = "X-Request-ID"
H_TIMESTAMP = "X-Identity-Timestamp"
# SHA-256 of the body as sent, in hex; an empty body has the digest of b"".
H_BODY_DIGEST = "X-Identity-Body-Digest"
# Random per signature; a service process accepts it once while the signature is fresh.
H_NONCE = "X-Identity-Nonce"
H_SIGNATURE = "X-Identity-Signature"
IDENTITY_HEADERS = (H_PRINCIPAL, H_NAME, H_ROLE, H_STORE, H_CREDENTIAL, H_TIMESTAMP, H_BODY_DIGEST, H_NONCE,
                    H_SIGNATURE)
DEFAULT_MAX_AGE = 30


@dataclass(frozen=True)
class Principal:
    """Who is calling. `id` is the person when a person calls (signed in, or with a key
    issued to them), so four-eyes rules compare people; a machine's key is its own `id`.
    `credential` names what they came with ("key:<id>", "token:<session>"). `stores`, for an
    HQ caller bounded by region (a region manager), the stores it sees and acts on now; None
    for everyone else. It is never signed or sent: the service that knows the regions sets it
    on each request from its own tables."""

    id: str
    role: str
    store_id: str | None = None
    name: str = ""
    credential: str = ""
    stores: frozenset[str] | None = None

    @property
    def is_hq(self) -> bool:
        return self.role in HQ_ROLES or self.role == SYSTEM_ROLE

    def can_see_store(self, store_id: str | None) -> bool:
        if self.is_hq:
            return self.stores is None or (store_id is not None and store_id in self.stores)
        return store_id is not None and store_id == self.store_id


class IdentityError(Exception):
    pass


EMPTY_BODY_DIGEST = hashlib.sha256(b"").hexdigest()
# RFC 3986's reserved characters, and "%" so that an escape stays as it is.
_TARGET_SAFE = ":/?#[]@!$&'()*+,;=%"


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest() if body else EMPTY_BODY_DIGEST


def request_target(target: str | bytes) -> str:
    """The path and query a signature covers, spelled one way. HTTP clients escape a few
    characters a caller may send bare (httpx sends `{` as `%7B`), so both ends escape every
    character that is neither unreserved nor reserved and leave escapes alone: the same
    request gives the same target whichever client carried it. Text goes as UTF-8, as the
    clients send it."""
    return quote_from_bytes(target, _TARGET_SAFE) if isinstance(target, bytes) else quote(target, _TARGET_SAFE)


def scope_target(scope: Mapping[str, Any]) -> str:
    """The path and query of an ASGI request as the service received them."""
    path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return request_target(path + b"?" + query if query else path)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a signature binds the identity to besides the caller: `target` is
    `request_target(...)`, `service` the name in the gateway's /api/<service>/ and in the
    service's own settings."""

    method: str
    target: str
    service: str
    body_digest: str = EMPTY_BODY_DIGEST

    @classmethod
    def of(cls, method: str, target: str | bytes, service: str, body: bytes = b"") -> SignedRequest:
        return cls(method.upper(), request_target(target), service, body_digest(body))


def _message(principal: Principal, request_id: str, timestamp: str, request: SignedRequest, nonce: str) -> bytes:
    return "\n".join(
        [principal.id, principal.name, principal.role, principal.store_id or "", principal.credential, request_id,
         timestamp, request.method, request.target, request.service, request.body_digest, nonce]
    ).encode()


_NAMES = (H_PRINCIPAL, H_NAME, H_ROLE, H_STORE, H_CREDENTIAL, H_REQUEST, H_TIMESTAMP, H_BODY_DIGEST, H_NONCE,
          H_SIGNATURE)
_RAW_NAMES = tuple(h.lower().encode() for h in _NAMES)


def _signed_values(principal: Principal, request_id: str, secret: bytes, request: SignedRequest,
                   now: float | None) -> tuple[str, ...]:
    """The identity header values, in `_NAMES` order, the signature last."""
    ts = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    mac = hmac.digest(secret, _message(principal, request_id, ts, request, nonce), "sha256").hex()
    return (principal.id, principal.name, principal.role, principal.store_id or "", principal.credential, request_id,
            ts, request.body_digest, nonce, mac)


def sign(principal: Principal, request_id: str, secret: str, *, method: str, target: str | bytes, service: str,
         body: bytes = b"", now: float | None = None) -> dict[str, str]:
    """Headers vouching for `principal` on one request: `target` is the path and query as
    sent (`/v1/stores?limit=5`), `service` the service it is for, `body` the bytes sent."""
    request = SignedRequest.of(method, target, service, body)
    return dict(zip(_NAMES, _signed_values(principal, request_id, secret.encode(), request, now), strict=True))


def signed_headers(principal: Principal, request_id: str, secret: bytes, request: SignedRequest,
                   now: float | None = None) -> list[tuple[bytes, bytes]]:
    """`sign` as raw ASGI header pairs, for the gateway's hot path."""
    values = _signed_values(principal, request_id, secret, request, now)
    return [(name, value.encode()) for name, value in zip(_RAW_NAMES, values, strict=True)]


class NonceLedger:
    """The nonces this process has accepted, each kept until its signature is stale anyway,
    so a header set is good for one request. Bounded: past `capacity` nonces alive at once
    (capacity / max age requests a second, sustained) the oldest are forgotten early."""

    def __init__(self, capacity: int = 500_000, clock: Callable[[], float] = time.monotonic) -> None:
        # Each nonce carries its own remaining lifetime: a signature from a gateway whose clock
        # runs ahead is fresh for longer than one from a gateway behind.
        self._seen: TLRUCache[str, float] = TLRUCache(maxsize=capacity, ttu=lambda _nonce, life, now: now + life,
                                                      timer=clock)

    def first_use(self, nonce: str, lifetime: float) -> bool:
        """True the first time `nonce` is seen within `lifetime` seconds from now."""
        if nonce in self._seen:
            return False
        self._seen[nonce] = lifetime
        return True

    def __len__(self) -> int:
        return len(self._seen)


def verify(headers: Mapping[str, str], secret: str, request: SignedRequest, max_age: int = DEFAULT_MAX_AGE,
           now: float | None = None, seen: NonceLedger | None = None) -> Principal:
    """The principal the headers vouch for on `request` (the one the service received), or
    IdentityError. With `seen`, a nonce already accepted is "identity replayed"."""

    def get(name: str) -> str | None:
        return headers.get(name) if name in headers else headers.get(name.lower())

    sig, ts, pid, role = get(H_SIGNATURE), get(H_TIMESTAMP), get(H_PRINCIPAL), get(H_ROLE)
    digest, nonce = get(H_BODY_DIGEST), get(H_NONCE)
    if not sig or not ts or not pid or not role:
        raise IdentityError("missing identity headers")
    if not digest:
        raise IdentityError(f"missing identity header {H_BODY_DIGEST}")
    if not nonce or len(nonce) > 128:
        raise IdentityError(f"missing or malformed identity header {H_NONCE}")
    try:
        issued = int(ts)
    except ValueError as exc:
        raise IdentityError("malformed identity timestamp") from exc
    current = now if now is not None else time.time()
    if abs(current - issued) > max_age:
        raise IdentityError("stale identity")
    if not hmac.compare_digest(digest, request.body_digest):
        raise IdentityError("the body is not the one the identity was signed for")
    principal = Principal(id=pid, role=role, store_id=get(H_STORE) or None, name=get(H_NAME) or "",
                          credential=get(H_CREDENTIAL) or "")
    expected = hmac.digest(secret.encode(), _message(principal, get(H_REQUEST) or "", ts, request, nonce),
                           "sha256").hex()
    if not hmac.compare_digest(expected, sig):
        raise IdentityError("bad identity signature (tampered, or signed for another method, path, service or body)")
    if role not in ROLES:
        raise IdentityError("unknown role")
    # Kept until the signature goes stale, plus a second for the timestamp's whole seconds.
    if seen is not None and not seen.first_use(nonce, issued + max_age - current + 1):
        raise IdentityError("identity replayed")
    # Header values travel as ASCII: the gateway sends a name in Chinese percent-encoded
    # (UTF-8), and the signature covers it as sent; who-fields keep it as written.
    return replace(principal, name=unquote(principal.name)) if "%" in principal.name else principal


class SignedAs(httpx.Auth):
    """An httpx client's requests signed as `principal`, each afresh over its own method,
    path, query and body, as the gateway signs what it forwards. `service` defaults to the
    request's host name (`http://network/...` in tests that run a service in process)."""

    requires_request_body = True

    def __init__(self, principal: Principal, secret: str, service: str | None = None,
                 request_id: Callable[[], str] | None = None) -> None:
        self.principal, self.secret, self.service = principal, secret, service
        self.request_id = request_id or (lambda: secrets.token_hex(16))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(sign(self.principal, self.request_id(), self.secret, method=request.method,
                                    target=request.url.raw_path, service=self.service or request.url.host,
                                    body=request.content))
        yield request


def has_role(principal: Principal, roles: Iterable[str]) -> bool:
    return principal.role in set(roles) or principal.role == SYSTEM_ROLE
