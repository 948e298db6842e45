from pathlib import Path

from fastapi import FastAPI

from services.common.app import Role, ServiceSpec, create_service_app
from services.common.clock import Clock
from services.reception.accessories import router as accessories
from services.reception.appointments import router as appointments
from services.reception.counter_sales import router as counter_sales
from services.reception.credit import router as credit
from services.reception.events import handlers
from services.reception.fleets import router as fleets
from services.reception.insurance import router as insurance
from services.reception.receivables import router as receivables
from services.reception.repair_orders import router as repair_orders
from services.reception.roadside import router as roadside
from services.reception.settings import ReceptionSettings
from services.reception.stores import router as stores

spec = ServiceSpec(
    name="reception",
    title="Reception service",
    description="Appointments, check-in with walk-around inspection, repair orders from estimate to handover, "
                "settlement and payment, insurance jobs, accessory sales, 24-hour roadside assistance.",
    routers=[appointments.router, repair_orders.router, roadside.router, stores.router, accessories.router,
             counter_sales.router, fleets.router, receivables.router, insurance.router, credit.router],
    handlers=handlers,
    migrations_dir=Path(__file__).parent / "migrations",
)


def create_app(settings: ReceptionSettings | None = None, *, role: Role = "all", clock: Clock | None = None) -> FastAPI:
    return create_service_app(spec, settings or ReceptionSettings(), role=role, clock=clock)
