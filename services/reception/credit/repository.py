from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.reception.credit.models import CreditAccount, CreditAllowance


async def get(session: AsyncSession, account_id: str, *, for_update: bool = False) -> CreditAccount | None:
    stmt = select(CreditAccount).where(CreditAccount.id == account_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def by_phone(session: AsyncSession, store_id: str, phone: str, *,
                   for_update: bool = False) -> CreditAccount | None:
    stmt = select(CreditAccount).where(CreditAccount.store_id == store_id, CreditAccount.phone == phone)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def page(session: AsyncSession, *, store_id: str | None, phone: str | None, limit: int, cursor: str | None):
    stmt = select(CreditAccount)
    if store_id:
        stmt = stmt.where(CreditAccount.store_id == store_id)
    if phone:
        stmt = stmt.where(CreditAccount.phone == phone)
    return await paginate(session, stmt, CreditAccount.id, limit, cursor)


async def allowance(session: AsyncSession, repair_order_id: str) -> CreditAllowance | None:
    return await session.get(CreditAllowance, repair_order_id)
