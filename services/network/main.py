from pathlib import Path

from fastapi import FastAPI

from services.common.app import Role, ServiceRuntime, ServiceSpec, create_service_app
from services.common.clock import Clock
from services.network.events import handlers
from services.network.keys import router as keys
from services.network.keys.service import ensure_bootstrap_key
from services.network.settings import NetworkSettings
from services.network.stores import router as stores


async def _startup(runtime: ServiceRuntime) -> None:
    settings: NetworkSettings = runtime.settings  # type: ignore[assignment]
    if settings.bootstrap_key:
        async with runtime.db.transaction() as session:
            await ensure_bootstrap_key(session, runtime.clock, settings.bootstrap_key)


spec = ServiceSpec(
    name="network",
    title="Network service",
    description="Stores and partner outlets, onboarding, API keys, audits, warranty claims, settlements, HQ KPIs.",
    routers=[stores.router, keys.router, keys.internal],
    handlers=handlers,
    migrations_dir=Path(__file__).parent / "migrations",
    startup=_startup,
)


def create_app(settings: NetworkSettings | None = None, *, role: Role = "all", clock: Clock | None = None) -> FastAPI:
    return create_service_app(spec, settings or NetworkSettings(), role=role, clock=clock)
