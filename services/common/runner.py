"""Command line of every service: `python -m services.<name> api|worker|all|migrate|replay-dlq`."""
from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable

from fastapi import FastAPI

from .app import ServiceSpec, create_service_app
from .consumer import replay_dead_letters
from .db import Database
from .heap import freeze_startup_objects
from .logging import configure_logging
from .migrations import upgrade
from .server import serve
from .settings import PlatformSettings


def main(spec: ServiceSpec, settings_factory: Callable[[], PlatformSettings],
         create_app: Callable[..., FastAPI] | None = None, argv: list[str] | None = None) -> None:
    """`create_app(settings, role=...)` is the service's own factory (it may add state and
    handlers of its own); without one the plain service app is built from `spec`."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{spec.name}", description=spec.title)
    parser.add_argument(
        "command", nargs="?", default="all", choices=["api", "worker", "all", "migrate", "replay-dlq"],
        help="api: HTTP only; worker: relay, consumers and scheduled jobs; all: both (default); "
        "migrate: apply migrations and exit; replay-dlq: apply this service's dead letters again",
    )
    args = parser.parse_args(argv)
    settings = settings_factory()
    configure_logging(spec.name, settings.log_level)
    if args.command == "migrate":
        upgrade(spec.migrations_dir, settings.database_url)
        return
    factory = create_app or (lambda settings, role: create_service_app(spec, settings, role=role))
    if args.command == "replay-dlq":
        # The same handlers the running service uses, bound the same way.
        handlers = factory(settings, role="api").state.handlers

        async def replay():
            db = Database(settings.database_url)
            try:
                print(await replay_dead_letters(db, settings, handlers))
            finally:
                await db.dispose()

        asyncio.run(replay())
        return
    app = factory(settings, role=args.command)
    port = settings.worker_port if args.command == "worker" else settings.port
    freeze_startup_objects()
    serve(app, settings, port=port)
