import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.network.three_guarantees.models import ThreeGuaranteesAlert, WatchedRepair


async def get_for_update(session: AsyncSession, repair_order_id: str) -> WatchedRepair | None:
    stmt = select(WatchedRepair).where(WatchedRepair.repair_order_id == repair_order_id).with_for_update()
    return (await session.exec(stmt)).first()


async def repairs_of(session: AsyncSession, vin: str) -> list[WatchedRepair]:
    stmt = select(WatchedRepair).where(WatchedRepair.vin == vin).order_by(col(WatchedRepair.opened_at))
    return list((await session.exec(stmt)).all())


async def repairs_of_each(session: AsyncSession, vins: list[str]) -> dict[str, list[WatchedRepair]]:
    """Many cars' repairs in one query, each car's oldest first."""
    stmt = select(WatchedRepair).where(col(WatchedRepair.vin).in_(vins)).order_by(
        col(WatchedRepair.vin), col(WatchedRepair.opened_at))
    found: dict[str, list[WatchedRepair]] = {vin: [] for vin in vins}
    for row in (await session.exec(stmt)).all():
        found[row.vin].append(row)
    return found


async def vins_with_quality_repairs(session: AsyncSession, store_id: str | None) -> list[str]:
    """VINs with warranty labour on record (the only ones that can be at risk), those a store
    repaired when one is named."""
    stmt = select(WatchedRepair.vin).where(sa.cast(col(WatchedRepair.warranty_op_codes), sa.String) != "[]").distinct()
    if store_id is not None:
        stmt = stmt.where(WatchedRepair.store_id == store_id)
    return sorted((await session.exec(stmt)).all())


async def add_alert(session: AsyncSession, alert: ThreeGuaranteesAlert) -> bool:
    """Insert unless this VIN already has this alert; True when it is new. The primary key, not a
    read first, decides, so a redelivered event or a concurrent consumer raises it once."""
    stmt = insert(table_of(ThreeGuaranteesAlert)).values(**alert.model_dump()).on_conflict_do_nothing(
        index_elements=["vin", "key"]).returning(table_of(ThreeGuaranteesAlert).c.vin)
    return (await session.exec(stmt)).first() is not None
