import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import table_of
from services.network.three_guarantees.models import PublishedFigures, ThreeGuaranteesAlert, WatchedRepair
from services.network.vehicles.models import VehicleRegistration


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
    """VINs with warranty labour or parts on record (the only ones that can be at risk); when a
    store is named, those it repaired or sold (the seller answers for a replacement or refund)."""
    stmt = select(WatchedRepair.vin).where(sa.or_(
        sa.cast(col(WatchedRepair.warranty_op_codes), sa.String) != "[]",
        sa.cast(col(WatchedRepair.warranty_part_nos), sa.String) != "[]")).distinct()
    if store_id is not None:
        sold = select(VehicleRegistration.vin).where(VehicleRegistration.store_id == store_id)
        stmt = stmt.where(sa.or_(col(WatchedRepair.store_id) == store_id, col(WatchedRepair.vin).in_(sold)))
    return sorted((await session.exec(stmt)).all())


async def registration_of(session: AsyncSession, vin: str) -> VehicleRegistration | None:
    """The car's warranty registration: its invoice date starts the validity period."""
    return (await session.exec(select(VehicleRegistration).where(VehicleRegistration.vin == vin))).first()


async def registrations_of(session: AsyncSession, vins: list[str]) -> dict[str, VehicleRegistration]:
    stmt = select(VehicleRegistration).where(col(VehicleRegistration.vin).in_(vins))
    return {row.vin: row for row in (await session.exec(stmt)).all()}


async def lock_figures(session: AsyncSession, vin: str) -> PublishedFigures:
    """The car's published figures, locked (made empty the first time): whoever recomputes the
    car waits here for whoever is at it, then reads the repairs and registration it committed."""
    table = table_of(PublishedFigures)
    await session.exec(insert(table).values(vin=vin).on_conflict_do_nothing(index_elements=["vin"]))
    stmt = select(PublishedFigures).where(PublishedFigures.vin == vin).with_for_update()
    return (await session.exec(stmt)).one()


async def add_alert(session: AsyncSession, alert: ThreeGuaranteesAlert) -> bool:
    """Insert unless this VIN already has this alert; True when it is new. The primary key, not a
    read first, decides, so a redelivered event or a concurrent consumer raises it once."""
    stmt = insert(table_of(ThreeGuaranteesAlert)).values(**alert.model_dump()).on_conflict_do_nothing(
        index_elements=["vin", "key"]).returning(table_of(ThreeGuaranteesAlert).c.vin)
    return (await session.exec(stmt)).first() is not None
