"""Signed identity headers: the gateway vouches for the caller, services verify.

Reaching a service port directly grants nothing: without a fresh, valid signature over
principal, role, store, request id and timestamp, every business route answers 401."""
from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import unquote

# region_manager is an HQ role for now: it sees every store until regions scope it.
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
H_SIGNATURE = "X-Identity-Signature"
IDENTITY_HEADERS = (H_PRINCIPAL, H_NAME, H_ROLE, H_STORE, H_CREDENTIAL, H_TIMESTAMP, H_SIGNATURE)


@dataclass(frozen=True)
class Principal:
    """Who is calling. `id` is the person when a person calls (signed in, or with a key
    issued to them), so four-eyes rules compare people; a machine's key is its own `id`.
    `credential` names what they came with ("key:<id>", "token:<session>")."""

    id: str
    role: str
    store_id: str | None = None
    name: str = ""
    credential: str = ""

    @property
    def is_hq(self) -> bool:
        return self.role in HQ_ROLES or self.role == SYSTEM_ROLE

    def can_see_store(self, store_id: str | None) -> bool:
        return self.is_hq or (store_id is not None and store_id == self.store_id)


class IdentityError(Exception):
    pass


def _message(principal: Principal, request_id: str, timestamp: str) -> bytes:
    return "\n".join(
        [principal.id, principal.name, principal.role, principal.store_id or "", principal.credential, request_id,
         timestamp]
    ).encode()


_NAMES = (H_PRINCIPAL, H_NAME, H_ROLE, H_STORE, H_CREDENTIAL, H_REQUEST, H_TIMESTAMP, H_SIGNATURE)
_RAW_NAMES = tuple(h.lower().encode() for h in _NAMES)


def _signed_values(principal: Principal, request_id: str, secret: bytes, now: float | None) -> tuple[str, ...]:
    """The identity header values, in `_NAMES` order, the signature last."""
    ts = str(int(now if now is not None else time.time()))
    mac = hmac.digest(secret, _message(principal, request_id, ts), "sha256").hex()
    return (principal.id, principal.name, principal.role, principal.store_id or "", principal.credential, request_id,
            ts, mac)


def sign(principal: Principal, request_id: str, secret: str, now: float | None = None) -> dict[str, str]:
    return dict(zip(_NAMES, _signed_values(principal, request_id, secret.encode(), now), strict=True))


def signed_headers(principal: Principal, request_id: str, secret: bytes,
                   now: float | None = None) -> list[tuple[bytes, bytes]]:
    """`sign` as raw ASGI header pairs, for the gateway's hot path."""
    values = _signed_values(principal, request_id, secret, now)
    return [(name, value.encode()) for name, value in zip(_RAW_NAMES, values, strict=True)]


def verify(headers: Mapping[str, str], secret: str, max_age: int = 60, now: float | None = None) -> Principal:
    def get(name: str) -> str | None:
        return headers.get(name) if name in headers else headers.get(name.lower())

    sig, ts, pid, role = get(H_SIGNATURE), get(H_TIMESTAMP), get(H_PRINCIPAL), get(H_ROLE)
    if not sig or not ts or not pid or not role:
        raise IdentityError("missing identity headers")
    try:
        issued = int(ts)
    except ValueError as exc:
        raise IdentityError("malformed identity timestamp") from exc
    current = now if now is not None else time.time()
    if abs(current - issued) > max_age:
        raise IdentityError("stale identity")
    principal = Principal(id=pid, role=role, store_id=get(H_STORE) or None, name=get(H_NAME) or "",
                          credential=get(H_CREDENTIAL) or "")
    expected = hmac.digest(secret.encode(), _message(principal, get(H_REQUEST) or "", ts), "sha256").hex()
    if not hmac.compare_digest(expected, sig):
        raise IdentityError("bad identity signature")
    if role not in ROLES:
        raise IdentityError("unknown role")
    # Header values travel as ASCII: the gateway sends a name in Chinese percent-encoded
    # (UTF-8), and the signature covers it as sent; who-fields keep it as written.
    return replace(principal, name=unquote(principal.name)) if "%" in principal.name else principal


def has_role(principal: Principal, roles: Iterable[str]) -> bool:
    return principal.role in set(roles) or principal.role == SYSTEM_ROLE
