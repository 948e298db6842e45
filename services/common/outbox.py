"""Outbox writer: the event is written in the caller's own transaction."""
from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from . import context
from .db import OUTBOX_WRITTEN
from .events.envelope import CloudEvent, Event
from .tables import OutboxMessage

NOTIFY_CHANNEL = "outbox"


async def emit(
    session: AsyncSession,
    event: Event,
    *,
    subject: str,
    store_id: str | None,
    time: datetime | None = None,
) -> CloudEvent:
    """Record `event` in the outbox inside the current transaction; the relay publishes
    it after commit. Correlation and causation come from the request or event being handled."""
    envelope = CloudEvent.wrap(
        event,
        subject=subject,
        store_id=store_id,
        time=time,
        correlation_id=context.correlation_id.get() or context.request_id.get(),
        causation_id=context.causation_id.get(),
    )
    session.add(
        OutboxMessage(
            event_id=envelope.id,
            event_type=envelope.type,
            key=subject,
            payload=envelope.to_json(),
            created_at=datetime.now(UTC),
        )
    )
    if not session.info.get(OUTBOX_WRITTEN):
        session.info[OUTBOX_WRITTEN] = True
        # Delivered at commit, so relays in other processes wake at once.
        # On the session's own connection, inside its transaction (SQLModel's session.exec
        # types no text statements, and its session.execute is deprecated).
        await (await session.connection()).execute(sa.text(f"NOTIFY {NOTIFY_CHANNEL}"))
    return envelope
