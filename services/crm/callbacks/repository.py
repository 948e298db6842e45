from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.crm.callbacks.models import Callback, CallbackAttempt, Survey
from services.crm.lookups import lookups


async def get(session: AsyncSession, callback_id: str) -> Callback | None:
    return await session.get(Callback, callback_id)


async def get_for_update(session: AsyncSession, callback_id: str) -> Callback | None:
    stmt = select(Callback).where(Callback.id == callback_id).with_for_update()
    return (await session.exec(stmt)).first()


async def by_origin(session: AsyncSession, origin_key: str) -> Callback | None:
    cache = lookups(session)
    if cache is not None and origin_key in cache.callbacks:
        return cache.callbacks[origin_key]
    return (await session.exec(select(Callback).where(Callback.origin_key == origin_key))).first()


async def page(session: AsyncSession, *, where: list, limit: int, cursor: str | None):
    stmt = select(Callback)
    for clause in where:
        stmt = stmt.where(clause)
    return await paginate(session, stmt, Callback.id, limit, cursor)


async def attempts_of(session: AsyncSession, callback_ids: list[str]) -> list[CallbackAttempt]:
    if not callback_ids:
        return []
    stmt = select(CallbackAttempt).where(CallbackAttempt.callback_id.in_(callback_ids))
    return list((await session.exec(stmt.order_by(CallbackAttempt.made_at, CallbackAttempt.id))).all())


async def surveys_of(session: AsyncSession, callback_ids: list[str]) -> list[Survey]:
    if not callback_ids:
        return []
    return list((await session.exec(select(Survey).where(Survey.callback_id.in_(callback_ids)))).all())


async def due_between(session: AsyncSession, store_id: str, start: datetime, end: datetime) -> list[Callback]:
    stmt = select(Callback).where(Callback.store_id == store_id, Callback.due_at >= start, Callback.due_at < end)
    return list((await session.exec(stmt)).all())


async def closed_between(session: AsyncSession, store_id: str, start: datetime, end: datetime) -> list[Callback]:
    """Callbacks that ended (survey recorded, or unreachable) inside [start, end)."""
    done = select(Callback).where(Callback.store_id == store_id, Callback.completed_at >= start, Callback.completed_at < end)
    gave_up = select(Callback).where(Callback.store_id == store_id, Callback.unreachable_at >= start,
                                     Callback.unreachable_at < end)
    return list((await session.exec(done)).all()) + list((await session.exec(gave_up)).all())


async def surveys_between(session: AsyncSession, store_id: str, start: datetime, end: datetime) -> list[Survey]:
    stmt = select(Survey).where(Survey.store_id == store_id, Survey.recorded_at >= start, Survey.recorded_at < end)
    return list((await session.exec(stmt.order_by(Survey.recorded_at, Survey.id))).all())
