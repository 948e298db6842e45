from collections.abc import Iterable
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.network.daily_reports.models import DailyReportSignOff
from services.network.kpis import repository as kpis
from services.network.kpis.models import KpiFact
from services.network.repair_orders.models import ClosedRepairOrder
from services.network.stores.models import Store


async def store(session: AsyncSession, store_id: str, *, for_update: bool = False) -> Store | None:
    stmt = select(Store).where(Store.id == store_id)
    if for_update:
        # One sign-off of a store at a time: the second finds the first and is refused.
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def stores(session: AsyncSession, only: str | None = None) -> list[Store]:
    return await kpis.stores(session, only)


async def day_sums(session: AsyncSession, metrics: tuple[str, ...], store_id: str, day: date) -> dict[str, int]:
    return (await kpis.sums(session, metrics, since=day, until=day, store_ids=[store_id])).get(store_id, {})


async def facts_of_day(session: AsyncSession, store_id: str, day: date, metrics: tuple[str, ...]) -> list[KpiFact]:
    stmt = select(KpiFact).where(KpiFact.store_id == store_id, KpiFact.day == day, col(KpiFact.metric).in_(metrics))
    return list((await session.exec(stmt.order_by(col(KpiFact.entity_key)))).all())


async def order_numbers(session: AsyncSession, order_ids: Iterable[str]) -> dict[str, str]:
    ids = list(set(order_ids))
    if not ids:
        return {}
    stmt = select(ClosedRepairOrder.id, ClosedRepairOrder.number).where(col(ClosedRepairOrder.id).in_(ids))
    return {order_id: number for order_id, number in (await session.exec(stmt)).all()}


async def sign_off(session: AsyncSession, store_id: str, day: date) -> DailyReportSignOff | None:
    stmt = select(DailyReportSignOff).where(DailyReportSignOff.store_id == store_id, DailyReportSignOff.day == day)
    return (await session.exec(stmt)).first()


async def sign_offs(session: AsyncSession, day: date, store_ids: list[str]) -> dict[str, DailyReportSignOff]:
    stmt = select(DailyReportSignOff).where(DailyReportSignOff.day == day,
                                            col(DailyReportSignOff.store_id).in_(store_ids))
    return {row.store_id: row for row in (await session.exec(stmt)).all()}
