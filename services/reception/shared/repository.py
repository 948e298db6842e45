from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.common.tables import KnownStore
from services.reception.shared.models import Counter, StateChange

_COUNTERS = table_of(Counter)


async def known_store(session: AsyncSession, store_id: str) -> KnownStore | None:
    """Our copy of network's store, kept by the store events."""
    return await session.get(KnownStore, store_id)


async def next_value(session: AsyncSession, name: str) -> int:
    """Increment and return a counter in one statement.

    The upsert takes the counter row's lock until the transaction ends, so concurrent
    callers get distinct values and a rolled-back caller leaves no gap."""
    table = _COUNTERS
    stmt = (
        insert(table)
        .values(name=name, value=1)
        .on_conflict_do_update(index_elements=[table.c.name], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )
    return (await session.exec(stmt)).scalar_one()


def add_change(session: AsyncSession, change: StateChange) -> None:
    session.add(change)


async def history(session: AsyncSession, aggregate: str, aggregate_id: str) -> list[StateChange]:
    stmt = (
        select(StateChange)
        .where(StateChange.aggregate == aggregate, StateChange.aggregate_id == aggregate_id)
        .order_by(col(StateChange.id))
    )
    return list((await session.exec(stmt)).all())
