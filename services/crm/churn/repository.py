from collections.abc import Callable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.crm import batch
from services.crm.churn.models import ChurnEpisode, WinBackCall
from services.crm.customers.models import Customer, RepairOrder
from services.crm.customers.repository import upcoming_booking_exists


async def open_episode(session: AsyncSession, customer: Customer) -> ChurnEpisode | None:
    rows = batch.batch_rows(session)
    if rows is not None and rows.added(customer):
        # Episodes are written by churn detection, for customers already on file: one this
        # transaction added has none in the database, only any the session holds.
        return next(iter(rows.find(ChurnEpisode, open_key=customer.id)), None)
    rows = await batch.answering(session, "open_episode", customer.id)
    if rows is not None:
        return next(iter(rows.find(ChurnEpisode, open_key=customer.id)), None)
    return (await session.exec(select(ChurnEpisode).where(ChurnEpisode.open_key == customer.id))).first()


async def load_open_episodes(session: AsyncSession, customer_ids: set[str]) -> None:
    """A batch's preload: these customers' open episodes, in one query."""
    rows = batch.begin(session)
    ids = rows.not_asked("open_episode", customer_ids)
    if ids:
        (await session.exec(select(ChurnEpisode).where(col(ChurnEpisode.open_key).in_(ids)))).all()
        rows.ask("open_episode", ids)


async def open_episodes_of_store(session: AsyncSession, store_id: str) -> dict[str, ChurnEpisode]:
    stmt = select(ChurnEpisode).where(ChurnEpisode.store_id == store_id, col(ChurnEpisode.open_key).is_not(None))
    return {e.customer_id: e for e in (await session.exec(stmt)).all()}


async def away_since(session: AsyncSession, store_id: str, before: datetime, now: datetime) -> list[Customer]:
    """Customers of the store whose last visit was before `before` and who hold no booking."""
    stmt = select(Customer).where(Customer.store_id == store_id, col(Customer.last_visit_at).is_not(None),
                                  col(Customer.last_visit_at) < before, ~upcoming_booking_exists(Customer.id, now))
    return list((await session.exec(stmt.order_by(Customer.id))).all())


async def page(session: AsyncSession, *, store_id: str | None, level: str | None, include_booked: bool,
               include_ended: bool, now: datetime, limit: int, cursor: str | None):
    """One page of absences: open ones unless `include_ended`, of customers holding no booking
    still to come unless `include_booked`."""
    stmt = select(ChurnEpisode)
    if store_id:
        stmt = stmt.where(ChurnEpisode.store_id == store_id)
    if level:
        stmt = stmt.where(ChurnEpisode.level == level)
    if not include_ended:
        stmt = stmt.where(col(ChurnEpisode.open_key).is_not(None))
    if not include_booked:
        stmt = stmt.where(~upcoming_booking_exists(ChurnEpisode.customer_id, now))
    return await paginate(session, stmt, ChurnEpisode.id, limit, cursor)


async def episodes_during(session: AsyncSession, store_id: str, start: datetime, end: datetime) -> list[ChurnEpisode]:
    """Absences found before `end` that had not ended before `start`."""
    stmt = select(ChurnEpisode).where(ChurnEpisode.store_id == store_id, ChurnEpisode.detected_at < end,
                                      (col(ChurnEpisode.ended_at).is_(None)) | (col(ChurnEpisode.ended_at) >= start))
    return list((await session.exec(stmt)).all())


async def episode(session: AsyncSession, episode_id: str) -> ChurnEpisode | None:
    return await session.get(ChurnEpisode, episode_id)


async def episode_ended_by(session: AsyncSession, customer_id: str, ended_by: str) -> ChurnEpisode | None:
    stmt = select(ChurnEpisode).where(ChurnEpisode.customer_id == customer_id, ChurnEpisode.ended_by == ended_by)
    return (await session.exec(stmt)).first()


async def episodes_with_win_back_calls(session: AsyncSession, episode_ids: set[str]) -> set[str]:
    stmt = select(WinBackCall.episode_id).where(col(WinBackCall.episode_id).in_(episode_ids))
    return set((await session.exec(stmt)).all())


async def win_back_calls_of(session: AsyncSession, episode_ids: list[str]) -> list[WinBackCall]:
    if not episode_ids:
        return []
    stmt = select(WinBackCall).where(col(WinBackCall.episode_id).in_(episode_ids))
    return list((await session.exec(stmt.order_by(col(WinBackCall.made_at), WinBackCall.id))).all())


async def last_counted_visit(session: AsyncSession, customer_id: str, except_order: str,
                             counted: Callable[[list[dict], int, bool], bool]) -> datetime | None:
    """The customer's last visit that counts, leaving out `except_order` and cancelled orders."""
    stmt = select(RepairOrder).where(RepairOrder.customer_id == customer_id, RepairOrder.id != except_order,
                                     RepairOrder.status != "cancelled")
    visits = [o.delivered_at or o.opened_at for o in (await session.exec(stmt)).all()
              if counted(o.operations, o.customer_due_fen, o.status == "delivered")]
    return max((v for v in visits if v is not None), default=None)
