from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.network.kpis import repository as kpis
from services.network.people.models import Assignment, Person
from services.network.stores.models import Store
from services.network.targets.models import PersonMonthTarget, StoreMonthTarget, StoreTarget


async def store(session: AsyncSession, store_id: str, *, for_update: bool = False) -> Store | None:
    stmt = select(Store).where(Store.id == store_id)
    if for_update:
        # One change of a store's targets at a time: a split is checked against what it splits.
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def stores(session: AsyncSession, only: str | None = None) -> list[Store]:
    return await kpis.stores(session, only)


async def annual(session: AsyncSession, store_id: str, year: int) -> list[StoreTarget]:
    stmt = select(StoreTarget).where(StoreTarget.store_id == store_id, StoreTarget.year == year)
    return list((await session.exec(stmt)).all())


async def annual_of(session: AsyncSession, store_ids: list[str], year: int) -> list[StoreTarget]:
    stmt = select(StoreTarget).where(col(StoreTarget.store_id).in_(store_ids), StoreTarget.year == year)
    return list((await session.exec(stmt)).all())


async def months(session: AsyncSession, store_ids: list[str], year: int, month: int | None = None
                 ) -> list[StoreMonthTarget]:
    stmt = select(StoreMonthTarget).where(col(StoreMonthTarget.store_id).in_(store_ids), StoreMonthTarget.year == year)
    if month is not None:
        stmt = stmt.where(StoreMonthTarget.month == month)
    return list((await session.exec(stmt.order_by(col(StoreMonthTarget.month)))).all())


async def shares(session: AsyncSession, *, year: int, month: int | None = None, store_ids: list[str] | None = None,
                 person_id: str | None = None) -> list[PersonMonthTarget]:
    stmt = select(PersonMonthTarget).where(PersonMonthTarget.year == year)
    if month is not None:
        stmt = stmt.where(PersonMonthTarget.month == month)
    if store_ids is not None:
        stmt = stmt.where(col(PersonMonthTarget.store_id).in_(store_ids))
    if person_id is not None:
        stmt = stmt.where(PersonMonthTarget.person_id == person_id)
    stmt = stmt.order_by(col(PersonMonthTarget.month), col(PersonMonthTarget.person_id))
    return list((await session.exec(stmt)).all())


async def replace(session: AsyncSession, model, rows: Iterable, **where) -> None:
    """Delete the model's rows matching `where` (column = value), then add `rows`."""
    stmt = delete(model)
    for name, value in where.items():
        stmt = stmt.where(col(getattr(model, name)) == value)
    await session.exec(stmt)
    session.add_all(list(rows))


async def drop_months(session: AsyncSession, store_id: str, year: int, measures: list[str]) -> None:
    await session.exec(delete(StoreMonthTarget).where(
        col(StoreMonthTarget.store_id) == store_id, col(StoreMonthTarget.year) == year,
        col(StoreMonthTarget.measure).in_(measures)))
    await drop_shares(session, store_id, year, [(m, None) for m in measures])


async def drop_shares(session: AsyncSession, store_id: str, year: int, which: list[tuple[str, int | None]]) -> None:
    """Drop people's shares of (measure, month), of every month where month is None."""
    for measure, month in which:
        stmt = delete(PersonMonthTarget).where(col(PersonMonthTarget.store_id) == store_id,
                                               col(PersonMonthTarget.year) == year,
                                               col(PersonMonthTarget.measure) == measure)
        if month is not None:
            stmt = stmt.where(col(PersonMonthTarget.month) == month)
        await session.exec(stmt)


async def people(session: AsyncSession, person_ids: Iterable[str]) -> dict[str, Person]:
    ids = list(set(person_ids))
    if not ids:
        return {}
    return {p.id: p for p in (await session.exec(select(Person).where(col(Person.id).in_(ids)))).all()}


async def assignments(session: AsyncSession, store_ids: list[str]) -> dict[str, dict[str, str]]:
    """store id -> person id -> role in that store."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    stmt = select(Assignment).where(col(Assignment.store_id).in_(store_ids))
    for row in (await session.exec(stmt)).all():
        out[row.store_id][row.person_id] = row.role
    return out


async def assignments_of(session: AsyncSession, person_id: str) -> dict[str, str]:
    """store id -> the person's role there."""
    stmt = select(Assignment).where(Assignment.person_id == person_id)
    return {row.store_id: row.role for row in (await session.exec(stmt)).all()}


async def counters(session: AsyncSession, metrics: tuple[str, ...], since: date, until: date, store_ids: list[str]
                   ) -> dict[str, dict[str, int]]:
    return await kpis.sums(session, metrics, since=since, until=until, store_ids=store_ids)


async def person_counters(session: AsyncSession, metrics: tuple[str, ...], since: date, until: date, *,
                          store_ids: list[str] | None = None, person_id: str | None = None
                          ) -> dict[tuple[str, str], dict[str, int]]:
    return await kpis.person_sums(session, metrics, since=since, until=until, store_ids=store_ids, person_id=person_id)
