from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.crm.churn.models import ChurnEpisode
from services.crm.customers.models import Customer
from services.crm.customers.repository import upcoming_booking_exists
from services.crm.lookups import lookups


async def open_episode(session: AsyncSession, customer_id: str) -> ChurnEpisode | None:
    cache = lookups(session)
    if cache is not None and customer_id in cache.open_episodes:
        return cache.open_episodes[customer_id]
    return (await session.exec(select(ChurnEpisode).where(ChurnEpisode.open_key == customer_id))).first()


async def open_episodes_of_store(session: AsyncSession, store_id: str) -> dict[str, ChurnEpisode]:
    stmt = select(ChurnEpisode).where(ChurnEpisode.store_id == store_id, ChurnEpisode.open_key.is_not(None))
    return {e.customer_id: e for e in (await session.exec(stmt)).all()}


async def away_since(session: AsyncSession, store_id: str, before: datetime, now: datetime) -> list[Customer]:
    """Customers of the store whose last visit was before `before` and who hold no booking."""
    stmt = select(Customer).where(Customer.store_id == store_id, Customer.last_visit_at.is_not(None),
                                  Customer.last_visit_at < before, ~upcoming_booking_exists(Customer.id, now))
    return list((await session.exec(stmt.order_by(Customer.id))).all())


async def page(session: AsyncSession, *, where: list, limit: int, cursor: str | None):
    stmt = select(ChurnEpisode)
    for clause in where:
        stmt = stmt.where(clause)
    return await paginate(session, stmt, ChurnEpisode.id, limit, cursor)


async def episodes_during(session: AsyncSession, store_id: str, start: datetime, end: datetime) -> list[ChurnEpisode]:
    """Absences found before `end` that had not ended before `start`."""
    stmt = select(ChurnEpisode).where(ChurnEpisode.store_id == store_id, ChurnEpisode.detected_at < end,
                                      (ChurnEpisode.ended_at.is_(None)) | (ChurnEpisode.ended_at >= start))
    return list((await session.exec(stmt)).all())
