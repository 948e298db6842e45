from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.common.pagination import paginate
from services.network.webhooks.models import WebhookDelivery, WebhookEndpoint
from services.network.webhooks.policy import DeliveryStatus, EndpointStatus


async def endpoint(session: AsyncSession, endpoint_id: str, *, for_update: bool = False) -> WebhookEndpoint | None:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def endpoints_page(session: AsyncSession, *, store_id: str | None, status: str | None, limit: int,
                         cursor: str | None, within: list[str] | None = None
                         ) -> tuple[Sequence[WebhookEndpoint], str | None]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.status != EndpointStatus.DELETED.value)
    if store_id:
        stmt = stmt.where(WebhookEndpoint.store_id == store_id)
    if within is not None:  # a region manager: its regions' stores
        stmt = stmt.where(col(WebhookEndpoint.store_id).in_(within))
    if status:
        stmt = stmt.where(WebhookEndpoint.status == status)
    return await paginate(session, stmt, WebhookEndpoint.id, limit, cursor)


async def subscribers(session: AsyncSession, store_id: str | None) -> list[WebhookEndpoint]:
    """Endpoints that may get an event of `store_id` (None: a network-wide event, every store's);
    paused ones too, whose deliveries wait for them to resume."""
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.status != EndpointStatus.DELETED.value)
    if store_id is not None:
        stmt = stmt.where(WebhookEndpoint.store_id == store_id)
    return list((await session.exec(stmt)).all())


async def queue(session: AsyncSession, rows: list[dict]) -> int:
    """Queue deliveries; one already queued for its endpoint and event is left as it is."""
    if not rows:
        return 0
    table = table_of(WebhookDelivery)
    stmt = insert(table).on_conflict_do_nothing(constraint="uq_webhook_deliveries_endpoint_event")
    result = await session.exec(stmt.returning(table.c.id), params=rows)
    return len(result.all())


async def delivery(session: AsyncSession, delivery_id: str, *, for_update: bool = False) -> WebhookDelivery | None:
    stmt = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def delivery_of_event(session: AsyncSession, endpoint_id: str, event_id: str) -> WebhookDelivery | None:
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id,
                                         WebhookDelivery.event_id == event_id)
    return (await session.exec(stmt)).first()


async def deliveries_page(session: AsyncSession, endpoint_id: str, *, status: str | None, event_type: str | None,
                          limit: int, cursor: str | None) -> tuple[Sequence[WebhookDelivery], str | None]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    if event_type:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    return await paginate(session, stmt, WebhookDelivery.id, limit, cursor)


# --- the deliverer's claim: rows it takes are locked, and others skip them

async def next_due(session: AsyncSession, now: datetime) -> tuple[WebhookDelivery, WebhookEndpoint] | None:
    """The next delivery due to an active endpoint that is not backing off, with no earlier
    queued delivery of the same aggregate for that endpoint (an aggregate's events go in order)."""
    earlier = sa.orm.aliased(WebhookDelivery)
    held_back = (select(earlier.id)
                 .where(earlier.endpoint_id == WebhookDelivery.endpoint_id, earlier.subject == WebhookDelivery.subject,
                        earlier.status == DeliveryStatus.QUEUED.value, col(earlier.seq) < col(WebhookDelivery.seq))
                 .exists())
    stmt = (select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
            .where(WebhookDelivery.status == DeliveryStatus.QUEUED.value, col(WebhookDelivery.next_attempt_at) <= now,
                   WebhookEndpoint.status == EndpointStatus.ACTIVE.value,
                   sa.or_(col(WebhookEndpoint.retry_at).is_(None), col(WebhookEndpoint.retry_at) <= now),
                   ~held_back)
            .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.seq))
            .limit(1)
            .with_for_update(of=table_of(WebhookDelivery), skip_locked=True))
    row = (await session.exec(stmt)).first()
    return None if row is None else (row[0], row[1])
