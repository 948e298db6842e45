from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.claims.models import Claim
from services.network.settlements.models import Settlement, SettlementClaim


async def get(session: AsyncSession, settlement_id: str) -> Settlement | None:
    return await session.get(Settlement, settlement_id)


async def get_for_update(session: AsyncSession, settlement_id: str) -> Settlement | None:
    return (await session.exec(select(Settlement).where(Settlement.id == settlement_id).with_for_update())).first()


async def claims_of(session: AsyncSession, settlement_ids: list[str]) -> dict[str, list[tuple[SettlementClaim, Claim]]]:
    out: dict[str, list] = {sid: [] for sid in settlement_ids}
    if settlement_ids:
        stmt = (select(SettlementClaim, Claim).join(Claim, col(Claim.id) == SettlementClaim.claim_id)
                .where(col(SettlementClaim.settlement_id).in_(settlement_ids)).order_by(SettlementClaim.claim_id))
        for link, claim in (await session.exec(stmt)).all():
            out[link.settlement_id].append((link, claim))
    return out


async def page(session: AsyncSession, *, limit: int, cursor: str | None, store_id: str | None = None,
               period: str | None = None, status: str | None = None, within: list[str] | None = None):
    """One page of statements, newest first; `store_id` narrows to one store's."""
    stmt = select(Settlement)
    if store_id:
        stmt = stmt.where(Settlement.store_id == store_id)
    if period:
        stmt = stmt.where(Settlement.period == period)
    if within is not None:  # a region manager: its regions' stores
        stmt = stmt.where(col(Settlement.store_id).in_(within))
    if status:
        stmt = stmt.where(Settlement.status == status)
    return await paginate(session, stmt, Settlement.id, limit, cursor)
