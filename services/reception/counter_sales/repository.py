from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.reception.counter_sales.models import CounterSale, CounterSaleLine, CounterSaleSettings


async def get(session: AsyncSession, counter_sale_id: str, *, for_update: bool = False) -> CounterSale | None:
    stmt = select(CounterSale).where(CounterSale.id == counter_sale_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def lines(session: AsyncSession, counter_sale_id: str) -> list[CounterSaleLine]:
    stmt = (select(CounterSaleLine).where(CounterSaleLine.counter_sale_id == counter_sale_id)
            .order_by(col(CounterSaleLine.position)))
    return list((await session.exec(stmt)).all())


async def page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
               since: date | None = None, until: date | None = None, status: str | None = None,
               number: str | None = None, vin: str | None = None):
    """One page of sales, newest first; `store_id` narrows to one store's, `since`..`until`
    (inclusive) to the store's local days they were rung up on."""
    stmt = select(CounterSale)
    if store_id:
        stmt = stmt.where(CounterSale.store_id == store_id)
    if since:
        stmt = stmt.where(col(CounterSale.sale_day) >= since)
    if until:
        stmt = stmt.where(col(CounterSale.sale_day) <= until)
    if status:
        stmt = stmt.where(CounterSale.status == status)
    if number:
        stmt = stmt.where(CounterSale.number == number)
    if vin:
        stmt = stmt.where(CounterSale.vin == vin)
    return await paginate(session, stmt, CounterSale.id, limit, cursor)


async def settings_of(session: AsyncSession, store_id: str, *, for_update: bool = False) -> CounterSaleSettings | None:
    stmt = select(CounterSaleSettings).where(CounterSaleSettings.store_id == store_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()
