import base64
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.errors import ValidationFailed
from services.crm import batch
from services.crm.complaints.models import StaffMember
from services.crm.customer_base.models import BaseCar
from services.crm.customers.models import Customer, Vehicle


async def car(session: AsyncSession, store_id: str, vin: str, *, lock: bool = False) -> BaseCar | None:
    if not lock:
        rows = await batch.answering(session, "base_car", (store_id, vin))
        if rows is not None:
            return next(iter(rows.find(BaseCar, store_id=store_id, vin=vin)), None)
    stmt = select(BaseCar).where(BaseCar.store_id == store_id, BaseCar.vin == vin)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def load_cars(session: AsyncSession, keys: set[tuple[str, str]]) -> None:
    """The base's rows for these (store_id, vin) pairs, in one query, for a batch of deliveries."""
    rows = batch.begin(session)
    keys = rows.not_asked("base_car", keys)
    if not keys:
        return
    stmt = select(BaseCar).where(col(BaseCar.vin).in_({v for _, v in keys}),
                                 col(BaseCar.store_id).in_({s for s, _ in keys}))
    (await session.exec(stmt)).all()
    rows.ask("base_car", keys)


async def cars_of_vin(session: AsyncSession, vin: str) -> list[BaseCar]:
    return list((await session.exec(select(BaseCar).where(BaseCar.vin == vin))).all())


async def cars_of_advisor(session: AsyncSession, store_id: str, advisor_id: str, *,
                          lock: bool = False) -> list[BaseCar]:
    stmt = (select(BaseCar).where(BaseCar.store_id == store_id, BaseCar.advisor_id == advisor_id)
            .order_by(col(BaseCar.last_visit_at).desc(), col(BaseCar.vin)))
    if lock:
        stmt = stmt.with_for_update()
    return list((await session.exec(stmt)).all())


async def counts(session: AsyncSession, store_id: str, retained_from: datetime,
                 advisor_id: str | None = None) -> dict[str, tuple[int, int]]:
    """Per advisor of the store (or the one named): (cars, cars whose last visit is at or after
    `retained_from`)."""
    retained = func.count().filter(col(BaseCar.last_visit_at) >= retained_from)
    stmt = (select(BaseCar.advisor_id, func.count(), retained)
            .where(BaseCar.store_id == store_id).group_by(col(BaseCar.advisor_id)))
    if advisor_id is not None:
        stmt = stmt.where(BaseCar.advisor_id == advisor_id)
    return {advisor: (int(cars), int(kept)) for advisor, cars, kept in (await session.exec(stmt)).all()}


async def counts_as_written(session: AsyncSession, store_id: str, advisor_id: str,
                            retained_from: datetime) -> tuple[int, int]:
    """`counts` of one advisor as they will be once this transaction's changes are written,
    without writing them: the rows this transaction added or changed are counted as they are
    in the session, the others as the database has them. A batch of deliveries runs without
    autoflush and is flushed once (services.crm.batch); a flush per car would undo that."""
    changed = [r for r in (*session.new, *session.dirty) if isinstance(r, BaseCar) and r.store_id == store_id]
    retained = func.count().filter(col(BaseCar.last_visit_at) >= retained_from)
    stmt = select(func.count(), retained).where(BaseCar.store_id == store_id, BaseCar.advisor_id == advisor_id)
    if changed:
        stmt = stmt.where(col(BaseCar.id).not_in([r.id for r in changed]))
    with session.no_autoflush:
        cars, kept = (await session.exec(stmt)).one()
    mine = [r for r in changed if r.advisor_id == advisor_id]
    return int(cars) + len(mine), int(kept) + sum(1 for r in mine if r.last_visit_at >= retained_from)


async def advisor_names(session: AsyncSession, store_id: str) -> dict[str, str | None]:
    """The name each advisor of the store's base was last known by there."""
    stmt = (select(BaseCar.advisor_id, func.max(BaseCar.advisor_name))
            .where(BaseCar.store_id == store_id).group_by(col(BaseCar.advisor_id)))
    return {advisor: name for advisor, name in (await session.exec(stmt)).all()}


async def stores_of_advisor(session: AsyncSession, advisor_id: str) -> set[str]:
    stmt = select(BaseCar.store_id).where(BaseCar.advisor_id == advisor_id).distinct()
    return set((await session.exec(stmt)).all())


def _encode(at: datetime, vin: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{vin}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, vin = raw.split("|", 1)
        return datetime.fromisoformat(when), vin
    except Exception as exc:
        raise ValidationFailed("cursor", "not a cursor this API issued") from exc


async def page(session: AsyncSession, store_id: str, advisor_id: str, *, retained_from: datetime,
               retained: bool | None, limit: int, cursor: str | None
               ) -> tuple[list[tuple[BaseCar, Vehicle | None, Customer | None]], str | None]:
    """One page of an advisor's cars, the latest visit first, with each car and its customer."""
    stmt = (
        select(BaseCar, Vehicle, Customer)
        .join(Vehicle, col(Vehicle.vin) == BaseCar.vin, isouter=True)
        .join(Customer, col(Customer.id) == BaseCar.customer_id, isouter=True)
        .where(BaseCar.store_id == store_id, BaseCar.advisor_id == advisor_id)
    )
    if retained is True:
        stmt = stmt.where(col(BaseCar.last_visit_at) >= retained_from)
    elif retained is False:
        stmt = stmt.where(col(BaseCar.last_visit_at) < retained_from)
    if cursor:
        when, vin = _decode(cursor)
        stmt = stmt.where(sa.or_(col(BaseCar.last_visit_at) < when,
                                 sa.and_(col(BaseCar.last_visit_at) == when, col(BaseCar.vin) > vin)))
    stmt = stmt.order_by(col(BaseCar.last_visit_at).desc(), col(BaseCar.vin)).limit(limit + 1)
    rows: list[tuple[BaseCar, Vehicle | None, Customer | None]] = [
        (row[0], row[1], row[2]) for row in (await session.exec(stmt)).all()]
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        return rows, _encode(last.last_visit_at, last.vin)
    return rows, None


async def staff_member(session: AsyncSession, person_id: str) -> StaffMember | None:
    return await session.get(StaffMember, person_id)


async def active_staff(session: AsyncSession) -> list[StaffMember]:
    # The directory is a few hundred people; their roles are JSON, matched in Python.
    return list((await session.exec(select(StaffMember).where(StaffMember.status == "active"))).all())


async def stores_with_base(session: AsyncSession) -> list[str]:
    return list((await session.exec(select(BaseCar.store_id).distinct())).all())
