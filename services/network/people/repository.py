from collections import defaultdict

from sqlmodel import col, exists, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.people.models import Assignment, Person


async def get(session: AsyncSession, person_id: str, *, for_update: bool = False) -> Person | None:
    stmt = select(Person).where(Person.id == person_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def by_employee_no(session: AsyncSession, employee_no: str) -> Person | None:
    return (await session.exec(select(Person).where(Person.employee_no == employee_no))).first()


async def assignments_of(session: AsyncSession, person_ids: list[str]) -> dict[str, list[Assignment]]:
    found: dict[str, list[Assignment]] = defaultdict(list)
    if person_ids:
        stmt = select(Assignment).where(col(Assignment.person_id).in_(person_ids)).order_by(Assignment.store_id)
        for row in (await session.exec(stmt)).all():
            found[row.person_id].append(row)
    return found


async def page(session: AsyncSession, *, limit: int, cursor: str | None, store_id: str | None = None,
               status: str | None = None, role: str | None = None, within: list[str] | None = None):
    """People newest first; `store_id` and `role` ask for an assignment with them (the role
    in that store when both are given, in any store otherwise); `within` (a region manager's
    stores) for an assignment in one of them."""
    stmt = select(Person)
    if store_id or role or within is not None:
        assigned = exists().where(col(Assignment.person_id) == Person.id)
        if store_id:
            assigned = assigned.where(col(Assignment.store_id) == store_id)
        if within is not None:
            assigned = assigned.where(col(Assignment.store_id).in_(within))
        if role:
            assigned = assigned.where(col(Assignment.role) == role)
        stmt = stmt.where(assigned)
    if status:
        stmt = stmt.where(Person.status == status)
    return await paginate(session, stmt, Person.id, limit, cursor)


async def remove(session: AsyncSession, assignments: list[Assignment]) -> None:
    for assignment in assignments:
        await session.delete(assignment)
