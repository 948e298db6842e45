from datetime import datetime

from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.network.claims.models import Chargeback, Claim, ClaimedLine, ClaimHistory, ClaimLine
from services.network.stores.models import Store


async def get(session: AsyncSession, claim_id: str) -> Claim | None:
    return await session.get(Claim, claim_id)


async def get_for_update(session: AsyncSession, claim_id: str) -> Claim | None:
    return (await session.exec(select(Claim).where(Claim.id == claim_id).with_for_update())).first()


async def lines_of(session: AsyncSession, claim_ids: list[str]) -> dict[str, list[ClaimLine]]:
    out: dict[str, list[ClaimLine]] = {cid: [] for cid in claim_ids}
    if claim_ids:
        stmt = (select(ClaimLine).where(col(ClaimLine.claim_id).in_(claim_ids))
                .order_by(ClaimLine.claim_id, col(ClaimLine.position)))
        for line in (await session.exec(stmt)).all():
            out[line.claim_id].append(line)
    return out


async def history_of(session: AsyncSession, claim_id: str) -> list[ClaimHistory]:
    stmt = select(ClaimHistory).where(ClaimHistory.claim_id == claim_id).order_by(ClaimHistory.id)
    return list((await session.exec(stmt)).all())


async def claimed(session: AsyncSession, repair_order_id: str, line_ids: list[str]) -> list[ClaimedLine]:
    stmt = select(ClaimedLine).where(
        ClaimedLine.repair_order_id == repair_order_id, col(ClaimedLine.line_id).in_(line_ids)
    )
    return list((await session.exec(stmt)).all())


async def release_lines(session: AsyncSession, claim_id: str, line_ids: list[str] | None = None) -> None:
    stmt = delete(ClaimedLine).where(col(ClaimedLine.claim_id) == claim_id)
    if line_ids is not None:
        stmt = stmt.where(col(ClaimedLine.line_id).in_(line_ids))
    await session.exec(stmt)


async def delete_lines(session: AsyncSession, claim_id: str) -> None:
    await session.exec(delete(ClaimLine).where(col(ClaimLine.claim_id) == claim_id))


async def page(session: AsyncSession, *, limit: int, cursor: str | None, store_id: str | None = None,
               status: str | None = None, repair_order_id: str | None = None, kind: str | None = None,
               within: list[str] | None = None, region_id: str | None = None):
    """One page of claims, newest first; `store_id` narrows to one store's, `region_id` to
    those of the stores in the region now."""
    stmt = select(Claim)
    if region_id:
        stmt = stmt.where(col(Claim.store_id).in_(select(Store.id).where(Store.region_id == region_id)))
    if kind:
        stmt = stmt.where(Claim.kind == kind)
    if store_id:
        stmt = stmt.where(Claim.store_id == store_id)
    if status:
        stmt = stmt.where(Claim.status == status)
    if within is not None:  # a region manager: its regions' stores
        stmt = stmt.where(col(Claim.store_id).in_(within))
    if repair_order_id:
        stmt = stmt.where(Claim.repair_order_id == repair_order_id)
    return await paginate(session, stmt, Claim.id, limit, cursor)


async def settleable(session: AsyncSession, store_id: str, decided_before) -> list[Claim]:
    stmt = select(Claim).where(
        Claim.store_id == store_id, col(Claim.status).in_(("approved", "partially_approved")),
        col(Claim.settlement_id).is_(None), Claim.decided_at < decided_before,
    ).order_by(Claim.id)
    return list((await session.exec(stmt)).all())


async def by_ids(session: AsyncSession, claim_ids: list[str]) -> list[Claim]:
    if not claim_ids:
        return []
    return list((await session.exec(select(Claim).where(col(Claim.id).in_(claim_ids)).order_by(Claim.id))).all())


async def chargebacks_of(session: AsyncSession, claim_ids: list[str]) -> dict[str, list[Chargeback]]:
    out: dict[str, list[Chargeback]] = {cid: [] for cid in claim_ids}
    if claim_ids:
        stmt = select(Chargeback).where(col(Chargeback.claim_id).in_(claim_ids)).order_by(Chargeback.id)
        for row in (await session.exec(stmt)).all():
            out[row.claim_id].append(row)
    return out


async def charged_back_fen(session: AsyncSession, claim_id: str) -> int:
    stmt = select(func.coalesce(func.sum(Chargeback.amount_fen), 0)).where(Chargeback.claim_id == claim_id)
    return int((await session.exec(stmt)).one())


async def unsettled_chargebacks(session: AsyncSession, store_id: str, charged_before: datetime) -> list[Chargeback]:
    """A store's debits on no statement yet, locked: a statement issued at the same moment
    waits, then finds them taken."""
    stmt = (select(Chargeback).where(Chargeback.store_id == store_id, col(Chargeback.settlement_id).is_(None),
                                     Chargeback.charged_at <= charged_before)
            .order_by(Chargeback.id).with_for_update())
    return list((await session.exec(stmt)).all())


async def chargebacks_on(session: AsyncSession, settlement_ids: list[str]) -> dict[str, list[Chargeback]]:
    out: dict[str, list[Chargeback]] = {sid: [] for sid in settlement_ids}
    if settlement_ids:
        stmt = (select(Chargeback).where(col(Chargeback.settlement_id).in_(settlement_ids))
                .order_by(Chargeback.claim_id, Chargeback.id))
        for row in (await session.exec(stmt)).all():
            out[row.settlement_id or ""].append(row)
    return out


async def campaign_claim(session: AsyncSession, campaign_id: str, repair_order_id: str) -> Claim | None:
    stmt = select(Claim).where(Claim.campaign_id == campaign_id, Claim.repair_order_id == repair_order_id)
    return (await session.exec(stmt)).first()


async def by_goodwill_authorisation(session: AsyncSession, authorisation_id: str) -> Claim | None:
    return (await session.exec(select(Claim).where(Claim.goodwill_authorisation_id == authorisation_id))).first()


async def first_maintenance_claims(session: AsyncSession, vin: str, *, exclude: str | None = None) -> list[Claim]:
    """A car's first-maintenance claims still standing (not rejected), oldest first."""
    stmt = select(Claim).where(Claim.kind == "first_maintenance", Claim.vin == vin, Claim.status != "rejected")
    if exclude is not None:
        stmt = stmt.where(Claim.id != exclude)
    return list((await session.exec(stmt.order_by(Claim.id))).all())
