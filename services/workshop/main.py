from pathlib import Path

from fastapi import FastAPI

from services.common.app import Role, ServiceSpec, create_service_app
from services.common.clock import Clock
from services.workshop import events
from services.workshop.board.router import router as board
from services.workshop.comebacks.router import router as comebacks
from services.workshop.costs.router import router as costs
from services.workshop.jobs.router import router as jobs
from services.workshop.orders.router import router as orders
from services.workshop.parts.router import parts_router, reservations_router, stock_router
from services.workshop.purchasing.router import purchase_orders_router, suggestions_router
from services.workshop.reports.router import router as reports
from services.workshop.settings import WorkshopSettings
from services.workshop.sublets.router import sublet_orders_router, vendors_router
from services.workshop.technicians.router import router as technicians

spec = ServiceSpec(
    name="workshop",
    title="Workshop service",
    description="Technicians, jobs from approved repair orders, clocked labour, quality check, rework and comebacks; "
                "the work-in-progress board, orders at risk of missing their promised time, what orders cost; "
                "parts catalogue, stock, reservations, issue, returns, reorder and purchase orders.",
    routers=[technicians, jobs, orders, costs, board, comebacks, reports, parts_router, stock_router,
             reservations_router, suggestions_router, purchase_orders_router, vendors_router, sublet_orders_router],
    handlers=events.handlers,
    migrations_dir=Path(__file__).parent / "migrations",
)


def create_app(settings: WorkshopSettings | None = None, *, role: Role = "all", clock: Clock | None = None) -> FastAPI:
    return create_service_app(spec, settings or WorkshopSettings(), role=role, clock=clock)
