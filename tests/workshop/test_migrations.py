"""The workshop's migrations build exactly the schema its
models describe, and come down again cleanly."""
from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.migrations import alembic_config, upgrade
from services.common.tables import PlatformModel
from services.workshop.base import WorkshopModel
from services.workshop.main import spec


def _models() -> sa.MetaData:
    metadata = sa.MetaData()
    for table in [*PlatformModel.metadata.tables.values(), *WorkshopModel.metadata.tables.values()]:
        table.to_metadata(metadata)
    return metadata


async def _inspect(url: str):
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            def check(sync_conn):
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                tables = set(sa.inspect(sync_conn).get_table_names())
                checks = {c["name"] for c in sa.inspect(sync_conn).get_check_constraints("stock")} if "stock" in tables else set()
                return compare_metadata(context, _models()), tables, checks
            return await conn.run_sync(check)
    finally:
        await engine.dispose()


def _downgrade(url: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(spec.migrations_dir, url), "base")


async def test_migrations_build_the_models_schema_and_come_down_again(pg_url):
    database_url = pg_url
    await asyncio.to_thread(upgrade, spec.migrations_dir, database_url)
    differences, tables, checks = await _inspect(database_url)
    assert differences == []
    assert {"outbox", "inbox", "idempotency_keys", "known_stores", "jobs", "stock", "stock_movements",
            "reservations", "purchase_orders", "comebacks"} <= tables
    assert "ck_stock_not_oversold" in checks

    await asyncio.to_thread(_downgrade, database_url)
    _, tables, _ = await _inspect(database_url)
    assert tables <= {"alembic_version"}
    await asyncio.to_thread(upgrade, spec.migrations_dir, database_url)  # and up again
