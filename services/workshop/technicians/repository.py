import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.workshop.technicians.models import StaffMember, Technician


async def get(session: AsyncSession, technician_id: str) -> Technician | None:
    return await session.get(Technician, technician_id)


async def get_for_update(session: AsyncSession, technician_id: str) -> Technician | None:
    stmt = select(Technician).where(Technician.id == technician_id).with_for_update()
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


async def by_principal(session: AsyncSession, store_id: str, principal_id: str) -> Technician | None:
    stmt = select(Technician).where(Technician.store_id == store_id, Technician.principal_id == principal_id)
    return (await session.exec(stmt)).first()


async def staff_member(session: AsyncSession, person_id: str) -> StaffMember | None:
    return await session.get(StaffMember, person_id)


async def by_any_principal(session: AsyncSession, store_id: str, principal_ids: frozenset[str],
                           first: str) -> Technician | None:
    """The technician linked to any of these ids, the one linked to `first` if several are."""
    stmt = select(Technician).where(Technician.store_id == store_id, col(Technician.principal_id).in_(principal_ids))
    found = list((await session.exec(stmt)).all())
    return next((t for t in found if t.principal_id == first), found[0] if found else None)


async def by_ids(session: AsyncSession, ids: set[str]) -> list[Technician]:
    if not ids:
        return []
    return list((await session.exec(select(Technician).where(col(Technician.id).in_(ids)))).all())


async def in_stores(session: AsyncSession, store_id: str | None) -> list[Technician]:
    """The roster of one store, or of every store (None), by store and name."""
    stmt = select(Technician)
    if store_id:
        stmt = stmt.where(Technician.store_id == store_id)
    return list((await session.exec(stmt.order_by(Technician.store_id, Technician.name))).all())


async def page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
               skill: str | None = None, active: bool | None = None):
    """One page of technicians; each filter given narrows it (`skill`: may be given that category)."""
    stmt = select(Technician)
    if store_id:
        stmt = stmt.where(Technician.store_id == store_id)
    if active is not None:
        stmt = stmt.where(Technician.active == active)
    if skill:
        # Skills are a short JSON list of plain words; matching its text works on every backend.
        stmt = stmt.where(sa.cast(Technician.skills, sa.Text).contains(f'"{skill}"'))
    return await paginate(session, stmt, Technician.id, limit, cursor)
