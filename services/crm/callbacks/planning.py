"""Making a callback: when it is due and the event that announces it. Used for first
callbacks (after a delivery) and follow-ups (after a complaint is resolved)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.events.catalogue.crm import CallbackCreated
from services.common.ids import new_id
from services.common.outbox import emit
from services.crm.callbacks import repository, windows
from services.crm.callbacks.models import Callback
from services.crm.localtime import zone_of


async def due_time(session: AsyncSession, store_id: str, start: datetime, days: int) -> datetime:
    """`days` after `start`, moved to the next opening of the store's call windows when it
    falls outside them (store local time)."""
    return windows.place(start + timedelta(days=days), await zone_of(session, store_id),
                         await windows.of_store(session, store_id))


async def due_on_day(session: AsyncSession, store_id: str, start: datetime, days: int,
                     preferred: str | None) -> datetime:
    """Inside the last call window of the `days`-th store day after `start` (of the customer's
    preferred part of the day), never later."""
    return windows.due_on_day(start, days, await zone_of(session, store_id), await windows.of_store(session, store_id),
                              preferred)


async def open_callback(session: AsyncSession, *, store_id: str, kind: str, origin_key: str, start: datetime, days: int,
                        created_at: datetime, repair_order_id: str | None = None,
                        repair_order_number: str | None = None,
                        complaint_id: str | None = None, customer_id: str | None = None, vin: str | None = None,
                        advisor_id: str | None = None, due_at: datetime | None = None) -> Callback:
    existing = await repository.by_origin(session, origin_key)
    if existing is not None:
        return existing
    callback = Callback(
        id=new_id(), store_id=store_id, kind=kind, origin_key=origin_key, repair_order_id=repair_order_id,
        repair_order_number=repair_order_number, complaint_id=complaint_id, customer_id=customer_id, vin=vin,
        advisor_id=advisor_id, due_at=due_at or await due_time(session, store_id, start, days), status="pending",
        created_at=created_at,
    )
    session.add(callback)
    await emit(
        session,
        CallbackCreated(callback_id=callback.id, store_id=store_id, repair_order_id=repair_order_id, kind=kind,
                        due_at=callback.due_at, created_at=created_at, complaint_id=complaint_id),
        subject=callback.id, store_id=store_id, time=created_at,
    )
    return callback
