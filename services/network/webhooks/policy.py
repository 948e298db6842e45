"""The rules of outlet webhooks, apart from the database: which events an outlet may
subscribe to and whose they are, how a delivery is signed, which URLs are accepted, and
when a failed delivery is tried again, given up, and its endpoint paused.

A delivery's body is the event as CloudEvents JSON; its `X-Signature` header is
`t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<body>" keyed with the endpoint's secret>`
(API.md), which a partner recomputes to know the body is ours and recent (docs/network.md)."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "X-Signature"
EVENT_ID_HEADER = "X-Event-Id"
EVENT_TYPE_HEADER = "X-Event-Type"
DELIVERY_ID_HEADER = "X-Delivery-Id"
ATTEMPT_HEADER = "X-Delivery-Attempt"
CONTENT_TYPE = "application/cloudevents+json"
# A test delivery an outlet asks for to see its endpoint answer; not an event of the catalogue.
PING_TYPE = "network.webhook.ping"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # by its outlet, or by us after too many failures in a row: nothing is sent
    DELETED = "deleted"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"  # waiting for its time, its endpoint, or an earlier delivery of its aggregate
    DELIVERED = "delivered"
    FAILED = "failed"  # given up: too many attempts or too long; can be sent again by hand


@dataclass(frozen=True)
class Subscribable:
    title_zh: str
    title_en: str
    # Whose the event is: the store it names (its own outlet only), or the whole network's
    # (every subscribed endpoint of every store).
    network_wide: bool = False


EVENT_TYPES: dict[str, Subscribable] = {
    "network.claim.decided": Subscribable("索赔审核结果", "a warranty claim of the store was decided"),
    "network.claim.charged_back": Subscribable("索赔扣回", "HQ took money back from a claim of the store"),
    "network.settlement.issued": Subscribable("结算单已开具", "a settlement statement was issued to the store"),
    "network.settlement.paid": Subscribable("结算已付款", "a settlement of the store was paid"),
    "network.campaign.published": Subscribable("召回/服务活动发布", "HQ published a recall or service campaign",
                                               network_wide=True),
    "network.policy.version_published": Subscribable("政策新版本发布", "HQ published a new version of a policy "
                                                 "(warranty, flat hours, parts prices, standards)", network_wide=True),
    "reception.repair_order.opened": Subscribable("工单已开", "a repair order of the store was opened"),
    "reception.repair_order.approved": Subscribable("工单已确认", "the customer approved a repair order's work"),
    "reception.repair_order.cancelled": Subscribable("工单已取消", "a repair order was cancelled"),
    "reception.repair_order.settled": Subscribable("工单已结算", "a repair order was settled"),
    "reception.repair_order.delivered": Subscribable("车辆已交付", "a repaired car was handed back"),
    "workshop.repair_order.work_started": Subscribable("维修开工", "the workshop started on a repair order"),
    "workshop.repair_order.ready": Subscribable("维修完工", "a repair order's work passed quality check"),
}


def wants(endpoint_store_id: str, event_types: list[str], event_type: str, event_store_id: str | None) -> bool:
    """Whether an endpoint of `endpoint_store_id` subscribed to `event_types` gets this event."""
    kind = EVENT_TYPES.get(event_type)
    if kind is None or event_type not in event_types:
        return False
    return kind.network_wide or event_store_id == endpoint_store_id


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Signature` value of `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance_seconds: int = 300) -> bool:
    """What a receiver does (docs/network.md shows it standalone): the header's time is recent
    and one of its `v1` values is the HMAC of "<t>.<body>"."""
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [value for key, value in parts if key.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(now - int(stamps[0])) > tolerance_seconds:
        return False
    expected = sign(secret, int(stamps[0]), body).split("v1=", 1)[1]
    return any(hmac.compare_digest(value, expected) for key, value in parts if key.strip() == "v1")


def url_problem(url: str, *, allow_http_localhost: bool) -> str | None:
    """Why `url` cannot be an endpoint, or None. HTTPS only; plain HTTP to this machine only
    where a setting allows it (tests, development). Addresses inside a private network are
    refused, so an outlet cannot have us call into ours."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        return "is not a URL"
    if not host:
        return "has no host"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    if parts.fragment:
        return "must not have a fragment"
    local = host in LOCAL_HOSTS
    if parts.scheme == "http":
        if local and allow_http_localhost:
            return None
        return "must be https (plain http only to localhost, where the service allows it)"
    if parts.scheme != "https":
        return "must be https"
    if local:
        return None if allow_http_localhost else "must not point at this machine"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name; resolved when delivering
    if not address.is_global:
        return "must not point at a private, loopback or reserved address"
    return None


@dataclass(frozen=True)
class RetryRules:
    base_seconds: float
    max_seconds: float
    max_attempts: int
    retry_for: timedelta
    pause_after_failures: int


def backoff(failures: int, rules: RetryRules) -> timedelta:
    """The wait after the `failures`-th failure in a row: doubling from the base, at most the cap."""
    return timedelta(seconds=min(rules.base_seconds * 2 ** max(failures - 1, 0), rules.max_seconds))


def next_try(attempts: int, created_at: datetime, now: datetime, rules: RetryRules) -> datetime | None:
    """When a delivery that failed its `attempts`-th attempt is tried again; None when it is
    given up (as many attempts as allowed, or the next would come after its time to retry)."""
    if attempts >= rules.max_attempts:
        return None
    at = now + backoff(attempts, rules)
    return at if at <= created_at + rules.retry_for else None


def pauses(consecutive_failures: int, rules: RetryRules) -> bool:
    return consecutive_failures >= rules.pause_after_failures
