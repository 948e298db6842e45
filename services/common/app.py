"""The service application factory: the same shape for every service."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, FastAPI

from .api import NO_OTEL, RequestContextMiddleware, install_platform_routes, refuse_unstorable_input
from .clock import Clock, clock_from_setting
from .consumer import EventConsumer, EventHandlers, HandlerContext
from .db import Database
from .errors import install_error_handlers
from .kafka import broker_reachable, ensure_topics_with_retry
from .logging import configure_logging, get_logger
from .migrations import upgrade_async
from .relay import OutboxRelay
from .settings import PlatformSettings
from .stores import store_handlers

Role = Literal["api", "worker", "all"]
log = get_logger(__name__)


@dataclass
class ScheduledJob:
    """A job the worker runs periodically; it must be idempotent per day (the service's rule)."""

    name: str
    run: Callable[[ServiceRuntime], Awaitable[object]]
    every_seconds: float = 300.0


@dataclass
class ConsumerGroup:
    """Event types a service applies in a consumer group of their own (`<service>.<name>`), so
    that what their handlers wait for (network's identity provider) holds back nothing else.
    Their dead letters and a test's `deliver` go through the app's handlers as all others do."""

    name: str
    handlers: EventHandlers


@dataclass
class ServiceSpec:
    name: str
    title: str
    routers: Sequence[APIRouter]
    handlers: EventHandlers
    migrations_dir: Path
    version: str = "1.0.0"
    scheduled: Sequence[ScheduledJob] = ()
    description: str = ""
    # Runs once after migrations, before serving (e.g. network's bootstrap key).
    startup: Callable[[ServiceRuntime], Awaitable[None]] | None = None
    consumer_groups: Sequence[ConsumerGroup] = ()


@dataclass
class ServiceRuntime:
    settings: PlatformSettings
    db: Database
    clock: Clock
    relay: OutboxRelay | None = None
    consumer: EventConsumer | None = None
    group_consumers: list[EventConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


def create_service_app(
    spec: ServiceSpec,
    settings: PlatformSettings,
    *,
    role: Role = "all",
    clock: Clock | None = None,
    migrate: bool = True,
) -> FastAPI:
    configure_logging(spec.name, settings.log_level)
    handlers = EventHandlers()
    handlers.include(store_handlers)
    handlers.include(spec.handlers)
    grouped: set[str] = set()
    for group in spec.consumer_groups:
        handlers.include(group.handlers)
        grouped.update(group.handlers.handlers)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runtime: ServiceRuntime = app.state.runtime
        if migrate:
            await upgrade_async(spec.migrations_dir, settings.database_url)
        if spec.startup is not None and role != "worker":
            await spec.startup(runtime)
        if role in ("worker", "all"):
            runtime.relay = OutboxRelay(runtime.db, settings)
            runtime.consumer = EventConsumer(runtime.db, settings,
                                             handlers.subset(t for t in handlers.handlers if t not in grouped))
            runtime.group_consumers = [
                EventConsumer(runtime.db, settings, handlers.subset(group.handlers.handlers), group=group.name)
                for group in spec.consumer_groups]
            app.state.consumer = runtime.consumer

            async def start_workers():
                await ensure_topics_with_retry(settings, runtime.stop)
                await asyncio.gather(runtime.relay.run(runtime.stop), runtime.consumer.run(runtime.stop),
                                     *(consumer.run(runtime.stop) for consumer in runtime.group_consumers))

            runtime.tasks.append(asyncio.create_task(start_workers(), name=f"{spec.name}-events"))
            for job in spec.scheduled:
                runtime.tasks.append(asyncio.create_task(_schedule(job, runtime), name=f"{spec.name}-{job.name}"))
        log.info("service started", role=role, database=runtime.db.engine.url.database)
        try:
            yield
        finally:
            runtime.stop.set()
            for task in runtime.tasks:
                try:
                    await asyncio.wait_for(task, 15)
                except (TimeoutError, asyncio.CancelledError):
                    task.cancel()
                except Exception as exc:
                    log.warning("task ended with error", task=task.get_name(), error=repr(exc))
            await runtime.db.dispose()

    app = FastAPI(title=spec.title, version=spec.version, description=spec.description, lifespan=lifespan,
                  # Our own Prometheus metrics and logs cover this; skipping FastAPI's OpenTelemetry
                  # hooks saves a provider lookup on every request.
                  telemetry=NO_OTEL,
                  # Text no column can keep, and bodies nested too deep, are refused before any route.
                  dependencies=[Depends(refuse_unstorable_input)])
    db = Database(settings.database_url)
    app.state.settings = settings
    app.state.db = db
    app.state.clock = clock or clock_from_setting(settings.clock)
    app.state.runtime = ServiceRuntime(settings=settings, db=db, clock=app.state.clock)
    # The app's handlers run with its clock and settings, whoever applies its events (its
    # consumer, a dead-letter replay, a test's deliver).
    handlers.context = HandlerContext(clock=app.state.clock, settings=settings)
    app.state.handlers = handlers
    app.state.spec = spec
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)

    async def kafka_ok() -> bool:
        return await broker_reachable(settings)

    install_platform_routes(app, {"database": db.ping, "broker": kafka_ok})
    if role != "worker":
        for router in spec.routers:
            app.include_router(router)
    return app


async def _schedule(job: ScheduledJob, runtime: ServiceRuntime) -> None:
    while not runtime.stop.is_set():
        try:
            await job.run(runtime)
        except Exception as exc:
            log.warning("scheduled job failed", job=job.name, error=repr(exc))
        try:
            await asyncio.wait_for(runtime.stop.wait(), job.every_seconds)
        except TimeoutError:
            pass
