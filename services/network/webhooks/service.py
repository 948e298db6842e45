"""Outlet webhooks: endpoints an outlet's system registers, and the deliveries of the events
they subscribed to.

Endpoint states: active → paused (by the outlet, or by the deliverer after
`webhooks_pause_after_failures` failed calls in a row) → active (resume); either → deleted.
Delivery states: queued → delivered | failed (given up); failed or delivered → queued again
by hand (redeliver).

Network queues a delivery when it applies an event (services/network/events.py calls
`offer`), in the transaction that records the event in its inbox: an event is queued once
per endpoint however often Kafka brings it. The deliverer sends them (deliverer.py)."""
from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from services.common.events.envelope import CloudEvent
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.stores import acting_store_id, within_stores
from services.network.stores import service as stores
from services.network.webhooks import policy, repository
from services.network.webhooks.models import WebhookDelivery, WebhookEndpoint
from services.network.webhooks.policy import DeliveryStatus, EndpointStatus
from services.network.webhooks.schemas import (
    DeliveryDetail,
    DeliveryList,
    DeliveryPublic,
    EventTypeList,
    EventTypePublic,
    WebhookCreate,
    WebhookList,
    WebhookPublic,
    WebhookSecret,
    WebhookUpdate,
)

# Store roles that manage their outlet's endpoints; others of the store read them.
MANAGERS = frozenset({"outlet_api", "store_manager", "hq_admin", "system"})


def public(endpoint: WebhookEndpoint) -> WebhookPublic:
    return WebhookPublic.model_validate(endpoint, from_attributes=True)


def with_secret(endpoint: WebhookEndpoint) -> WebhookSecret:
    return WebhookSecret.model_validate(endpoint, from_attributes=True)


def delivery_public(row: WebhookDelivery) -> DeliveryPublic:
    shown = DeliveryPublic.model_validate(row, from_attributes=True)
    if row.status != DeliveryStatus.QUEUED.value:
        shown.next_attempt_at = None
    return shown


def delivery_detail(row: WebhookDelivery) -> DeliveryDetail:
    return DeliveryDetail(**delivery_public(row).model_dump(), body=row.body)


def event_types() -> EventTypeList:
    return EventTypeList(items=[EventTypePublic(type=name, title_zh=kind.title_zh, title_en=kind.title_en,
                                                network_wide=kind.network_wide)
                                for name, kind in policy.EVENT_TYPES.items()])


def _manager(principal: Principal) -> None:
    if principal.role not in MANAGERS:
        raise Forbidden(f"role {principal.role} may read the outlet's webhooks but not change them")


def _checked_url(url: str, allow_http_localhost: bool) -> str:
    url = url.strip()
    problem = policy.url_problem(url, allow_http_localhost=allow_http_localhost)
    if problem is not None:
        raise ValidationFailed("url", problem)
    return url


async def register(session: AsyncSession, clock: Clock, principal: Principal, data: WebhookCreate, *,
                   allow_http_localhost: bool) -> WebhookEndpoint:
    _manager(principal)
    store_id = acting_store_id(principal, data.store_id)
    store = await stores.get_visible(session, principal, store_id)
    now = clock.now()
    endpoint = WebhookEndpoint(
        id=new_id(), store_id=store.id, url=_checked_url(data.url, allow_http_localhost),
        description=data.description.strip(), event_types=list(data.event_types), secret=policy.new_secret(),
        status=EndpointStatus.ACTIVE.value, consecutive_failures=0, created_at=now, created_by=principal.id,
        created_by_name=principal.name or None, updated_at=now, version=1)
    session.add(endpoint)
    await session.flush()
    return endpoint


async def get_visible(session: AsyncSession, principal: Principal, endpoint_id: str, *,
                      for_update: bool = False) -> WebhookEndpoint:
    """The endpoint if the caller may see it; another store's, or a deleted one, is 404."""
    endpoint = await repository.endpoint(session, endpoint_id, for_update=for_update)
    if (endpoint is None or endpoint.status == EndpointStatus.DELETED.value
            or not principal.can_see_store(endpoint.store_id)):
        raise NotFound("webhook not found")
    return endpoint


async def list_endpoints(session: AsyncSession, principal: Principal, *, store_id: str | None, status: str | None,
                         limit: int, cursor: str | None) -> WebhookList:
    if principal.store_id and store_id and store_id != principal.store_id:
        return WebhookList(items=[])
    scoped = principal.store_id or store_id
    rows, next_cursor = await repository.endpoints_page(session, store_id=scoped, status=status, limit=limit,
                                                        cursor=cursor, within=within_stores(principal))
    return WebhookList(items=[public(r) for r in rows], next_cursor=next_cursor)


def _changed(endpoint: WebhookEndpoint, now: datetime) -> None:
    endpoint.updated_at = now
    endpoint.version += 1


async def update(session: AsyncSession, clock: Clock, principal: Principal, endpoint: WebhookEndpoint,
                 data: WebhookUpdate, *, allow_http_localhost: bool) -> WebhookEndpoint:
    _manager(principal)
    if data.url is not None:
        endpoint.url = _checked_url(data.url, allow_http_localhost)
    if data.event_types is not None:
        endpoint.event_types = list(data.event_types)
    if data.description is not None:
        endpoint.description = data.description.strip()
    _changed(endpoint, clock.now())
    session.add(endpoint)
    return endpoint


async def rotate_secret(session: AsyncSession, clock: Clock, principal: Principal,
                        endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret signs every delivery from now on, queued ones included; the old one no longer does."""
    _manager(principal)
    now = clock.now()
    endpoint.secret, endpoint.secret_rotated_at = policy.new_secret(), now
    _changed(endpoint, now)
    session.add(endpoint)
    return endpoint


async def pause(session: AsyncSession, clock: Clock, principal: Principal,
                endpoint: WebhookEndpoint) -> WebhookEndpoint:
    _manager(principal)
    if endpoint.status != EndpointStatus.ACTIVE.value:
        raise InvalidTransition(endpoint.status, "pause")
    endpoint.status, endpoint.status_reason = EndpointStatus.PAUSED.value, "由外部系统暂停 paused by the outlet"
    _changed(endpoint, clock.now())
    session.add(endpoint)
    return endpoint


async def resume(session: AsyncSession, clock: Clock, principal: Principal,
                 endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Back to active: what queued up meanwhile goes out, from the oldest, without waiting out a backoff."""
    _manager(principal)
    if endpoint.status != EndpointStatus.PAUSED.value:
        raise InvalidTransition(endpoint.status, "resume")
    endpoint.status, endpoint.status_reason = EndpointStatus.ACTIVE.value, None
    endpoint.consecutive_failures, endpoint.retry_at = 0, None
    _changed(endpoint, clock.now())
    session.add(endpoint)
    return endpoint


async def delete(session: AsyncSession, clock: Clock, principal: Principal, endpoint: WebhookEndpoint) -> None:
    """Nothing more is sent to it; its delivery log is kept."""
    _manager(principal)
    endpoint.status, endpoint.status_reason = EndpointStatus.DELETED.value, None
    _changed(endpoint, clock.now())
    session.add(endpoint)


def _row(endpoint: WebhookEndpoint, envelope: CloudEvent, now: datetime) -> dict:
    return dict(id=new_id(), endpoint_id=endpoint.id, store_id=endpoint.store_id, event_id=envelope.id,
                event_type=envelope.type, subject=envelope.subject[:200], body=envelope.to_json(),
                status=DeliveryStatus.QUEUED.value, attempts=0, next_attempt_at=now, redeliveries=0,
                created_at=now, queued_at=now)


async def offer(session: AsyncSession, envelope: CloudEvent, now: datetime) -> int:
    """Queue `envelope` for every endpoint that subscribed to it and may see it: its own
    store's endpoints, or every store's for a network-wide event. Returns how many were queued
    now (an event queued before for an endpoint is not queued again)."""
    kind = policy.EVENT_TYPES.get(envelope.type)
    if kind is None or (envelope.storeid is None and not kind.network_wide):
        return 0
    scope = None if kind.network_wide else envelope.storeid
    endpoints = [e for e in await repository.subscribers(session, scope)
                 if policy.wants(e.store_id, e.event_types, envelope.type, envelope.storeid)]
    return await repository.queue(session, [_row(e, envelope, now) for e in endpoints])


async def ping(session: AsyncSession, clock: Clock, principal: Principal, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A test delivery of type `network.webhook.ping`, queued like any other, to see the endpoint answer."""
    _manager(principal)
    now = clock.now()
    envelope = CloudEvent(source="/services/network", type=policy.PING_TYPE, subject=endpoint.id, time=now,
                          data={"webhook_id": endpoint.id, "message_zh": "测试推送", "message_en": "test delivery"},
                          storeid=endpoint.store_id)
    await repository.queue(session, [_row(endpoint, envelope, now)])
    found = await repository.delivery_of_event(session, endpoint.id, envelope.id)
    if found is None:
        raise RuntimeError("a ping just queued is not found")
    return found


async def deliveries(session: AsyncSession, endpoint: WebhookEndpoint, *, status: str | None,
                     event_type: str | None, limit: int, cursor: str | None) -> DeliveryList:
    rows, next_cursor = await repository.deliveries_page(session, endpoint.id, status=status, event_type=event_type,
                                                         limit=limit, cursor=cursor)
    return DeliveryList(items=[delivery_public(r) for r in rows], next_cursor=next_cursor)


async def delivery_of(session: AsyncSession, endpoint: WebhookEndpoint, delivery_id: str, *,
                      for_update: bool = False) -> WebhookDelivery:
    row = await repository.delivery(session, delivery_id, for_update=for_update)
    if row is None or row.endpoint_id != endpoint.id:
        raise NotFound("delivery not found")
    return row


async def redeliver(session: AsyncSession, clock: Clock, principal: Principal, endpoint: WebhookEndpoint,
                    row: WebhookDelivery) -> WebhookDelivery:
    """Send a delivered or given-up delivery again, with a new round of attempts. It keeps its
    place in its aggregate's order, so later queued events of that aggregate wait for it."""
    _manager(principal)
    if row.status == DeliveryStatus.QUEUED.value:
        raise InvalidTransition(row.status, "redeliver")
    now = clock.now()
    row.status, row.attempts, row.redeliveries = DeliveryStatus.QUEUED.value, 0, row.redeliveries + 1
    row.next_attempt_at, row.queued_at, row.failed_at = now, now, None
    session.add(row)
    return row
