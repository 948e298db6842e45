from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.keys.models import ApiKey
from services.network.people.models import Person


async def by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    return (await session.exec(select(ApiKey).where(ApiKey.key_hash == key_hash))).first()


async def get(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def page(session: AsyncSession, *, limit: int, cursor: str | None, store_id: str | None = None,
               within: list[str] | None = None):
    stmt = select(ApiKey)
    if store_id:
        stmt = stmt.where(ApiKey.store_id == store_id)
    if within is not None:  # a region manager: its regions' stores
        stmt = stmt.where(col(ApiKey.store_id).in_(within))
    return await paginate(session, stmt, ApiKey.id, limit, cursor)


async def active_of_person(session: AsyncSession, person_id: str) -> list[ApiKey]:
    stmt = (select(ApiKey).where(ApiKey.person_id == person_id, col(ApiKey.revoked_at).is_(None))
            .order_by(col(ApiKey.id)).with_for_update())
    return list((await session.exec(stmt)).all())


async def active_bootstrap_keys(session: AsyncSession, issuer: str) -> list[ApiKey]:
    """The bootstrap keys still working: those the platform issued itself at start."""
    stmt = (select(ApiKey).where(ApiKey.created_by == issuer, col(ApiKey.revoked_at).is_(None))
            .order_by(col(ApiKey.id)).with_for_update())
    return list((await session.exec(stmt)).all())


async def people(session: AsyncSession, person_ids: set[str]) -> dict[str, Person]:
    """The people keys are issued to, by id."""
    if not person_ids:
        return {}
    rows = await session.exec(select(Person).where(col(Person.id).in_(sorted(person_ids))))
    return {p.id: p for p in rows.all()}
