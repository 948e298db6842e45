"""Alembic plumbing shared by every service's migrations folder.

Each service keeps its own `migrations/` (env.py calls `run_env()`). Revisions import
nothing from the services: each one spells out its tables, so a later change to shared
code cannot rewrite a history that has already run in production."""
from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

_MIGRATION_LOCK = 748_201_337


def run_env(target_metadata=None) -> None:
    """Body of every service's migrations/env.py (online mode, async engines)."""
    url = context.config.get_main_option("sqlalchemy.url")

    def do_run(connection):
        # Several replicas may start at once; one migrates, the others wait.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def main():
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(do_run)
        await engine.dispose()

    asyncio.run(main())


def alembic_config(migrations_dir: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(migrations_dir: Path, url: str, revision: str = "head") -> None:
    """Blocking; call from a thread when an event loop is running."""
    command.upgrade(alembic_config(migrations_dir, url), revision)


async def upgrade_async(migrations_dir: Path, url: str) -> None:
    await asyncio.to_thread(upgrade, migrations_dir, url)
