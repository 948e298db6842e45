from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.network.policies.models import PolicyVersion


async def latest_for_update(session: AsyncSession, name: str) -> PolicyVersion | None:
    """The newest version, locked: versions of one policy are numbered one writer at a time."""
    stmt = (select(PolicyVersion).where(PolicyVersion.name == name)
            .order_by(col(PolicyVersion.version).desc()).limit(1).with_for_update())
    return (await session.exec(stmt)).first()


async def versions(session: AsyncSession, name: str) -> list[PolicyVersion]:
    stmt = select(PolicyVersion).where(PolicyVersion.name == name).order_by(col(PolicyVersion.version))
    return list((await session.exec(stmt)).all())


async def version(session: AsyncSession, name: str, number: int) -> PolicyVersion | None:
    return await session.get(PolicyVersion, (name, number))


async def in_force(session: AsyncSession, name: str, day: date) -> PolicyVersion | None:
    stmt = (select(PolicyVersion).where(PolicyVersion.name == name, PolicyVersion.effective_from <= day)
            .order_by(col(PolicyVersion.effective_from).desc()).limit(1))
    return (await session.exec(stmt)).first()


async def after(session: AsyncSession, name: str, day: date) -> list[PolicyVersion]:
    """The versions taking effect after `day`, oldest first."""
    stmt = (select(PolicyVersion).where(PolicyVersion.name == name, PolicyVersion.effective_from > day)
            .order_by(col(PolicyVersion.version)))
    return list((await session.exec(stmt)).all())


async def headings(session: AsyncSession) -> list[tuple[str, int, date]]:
    """(name, version, effective_from) of every version of every policy, without bodies."""
    stmt = select(col(PolicyVersion.name), col(PolicyVersion.version), col(PolicyVersion.effective_from)).order_by(
        col(PolicyVersion.name), col(PolicyVersion.version))
    return [(name, number, day) for name, number, day in (await session.exec(stmt)).all()]
