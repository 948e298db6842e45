from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.reception.policy_copies.models import PolicyCopy, PolicyCopyPart

COPIES = table_of(PolicyCopy)
PARTS = table_of(PolicyCopyPart)


async def lock(session: AsyncSession, name: str) -> None:
    """Serialises the handlers of one policy's events: version 1's row, which the migration made."""
    await session.exec(select(PolicyCopy.version).where(PolicyCopy.name == name, PolicyCopy.version == 1)
                       .with_for_update())


async def announce(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.exec(pg_insert(COPIES).values(**values, document=sa.null(), complete=False)
                       .on_conflict_do_nothing(index_elements=[COPIES.c.name, COPIES.c.version]))


async def keep_part(session: AsyncSession, name: str, version: int, part: int, changes: list[dict[str, Any]]) -> None:
    await session.exec(pg_insert(PARTS).values(name=name, version=version, part=part, changes=changes)
                       .on_conflict_do_nothing(index_elements=[PARTS.c.name, PARTS.c.version, PARTS.c.part]))


async def latest_complete(session: AsyncSession, name: str) -> PolicyCopy | None:
    return (await session.exec(select(PolicyCopy).where(PolicyCopy.name == name, col(PolicyCopy.complete))
                               .order_by(col(PolicyCopy.version).desc()).limit(1))).first()


async def copy(session: AsyncSession, name: str, version: int) -> PolicyCopy | None:
    return await session.get(PolicyCopy, (name, version))


async def parts_of(session: AsyncSession, name: str, version: int) -> list[PolicyCopyPart]:
    return list((await session.exec(select(PolicyCopyPart).where(
        PolicyCopyPart.name == name, PolicyCopyPart.version == version).order_by(col(PolicyCopyPart.part)))).all())


async def drop_parts(session: AsyncSession, name: str, version: int) -> None:
    await session.exec(sa.delete(PARTS).where(PARTS.c.name == name, PARTS.c.version == version))


async def in_force(session: AsyncSession, name: str, day: date) -> PolicyCopy | None:
    """The latest complete version taking effect on or before `day`."""
    return (await session.exec(select(PolicyCopy).where(
        PolicyCopy.name == name, col(PolicyCopy.complete), col(PolicyCopy.effective_from) <= day)
        .order_by(col(PolicyCopy.version).desc()).limit(1))).first()
