from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.network.repair_orders.models import ClosedRepairOrder
from services.network.vehicles.models import PdiInspection, RegistrationCorrection, VehicleRegistration


async def registration(session: AsyncSession, vin: str, *, for_update: bool = False) -> VehicleRegistration | None:
    stmt = select(VehicleRegistration).where(VehicleRegistration.vin == vin)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def pdi_sheets(session: AsyncSession, vin: str) -> list[PdiInspection]:
    stmt = select(PdiInspection).where(PdiInspection.vin == vin).order_by(col(PdiInspection.recorded_at),
                                                                          PdiInspection.id)
    return list((await session.exec(stmt)).all())


async def corrections(session: AsyncSession, vin: str) -> list[RegistrationCorrection]:
    stmt = select(RegistrationCorrection).where(RegistrationCorrection.vin == vin).order_by(
        col(RegistrationCorrection.corrected_at), RegistrationCorrection.id)
    return list((await session.exec(stmt)).all())


async def serviced_at(session: AsyncSession, vin: str) -> set[str]:
    """The stores whose closed repair orders name this VIN."""
    stmt = select(ClosedRepairOrder.store_id).where(ClosedRepairOrder.vin == vin).distinct()
    return set((await session.exec(stmt)).all())
