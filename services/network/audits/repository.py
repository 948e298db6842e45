from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.audits.models import Audit, CorrectiveAction


async def get(session: AsyncSession, audit_id: str) -> Audit | None:
    return await session.get(Audit, audit_id)


async def actions_of(session: AsyncSession, audit_ids: list[str]) -> list[CorrectiveAction]:
    if not audit_ids:
        return []
    stmt = select(CorrectiveAction).where(col(CorrectiveAction.audit_id).in_(audit_ids)).order_by(CorrectiveAction.id)
    return list((await session.exec(stmt)).all())


async def page(session: AsyncSession, store_id: str, *, limit: int, cursor: str | None):
    return await paginate(session, select(Audit).where(Audit.store_id == store_id), Audit.id, limit, cursor)


async def action_for_update(session: AsyncSession, action_id: str) -> CorrectiveAction | None:
    stmt = select(CorrectiveAction).where(CorrectiveAction.id == action_id).with_for_update()
    return (await session.exec(stmt)).first()


async def actions_page(session: AsyncSession, store_id: str, *, limit: int, cursor: str | None, status: str | None):
    stmt = select(CorrectiveAction).where(CorrectiveAction.store_id == store_id)
    if status:
        stmt = stmt.where(CorrectiveAction.status == status)
    return await paginate(session, stmt, CorrectiveAction.id, limit, cursor)
