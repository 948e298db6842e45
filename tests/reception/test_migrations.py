"""The migrations build, tear down and rebuild the reception database on SQLite and PostgreSQL."""
import asyncio

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.migrations import alembic_config
from services.reception.base import ReceptionModel
from services.reception.main import spec

TABLES = {"outbox", "inbox", "idempotency_keys", "known_stores", "appointments", "repair_orders",
          "repair_order_lines", "repair_order_approvals", "invoices", "roadside_requests", "state_changes", "counters"}


async def _tables(url: str) -> dict[str, set[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            def read(sync_conn):
                inspector = sa.inspect(sync_conn)
                return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()
                        if t != "alembic_version"}
            return await conn.run_sync(read)
    finally:
        await engine.dispose()


def _roundtrip(url: str) -> None:
    from alembic import command

    cfg = alembic_config(spec.migrations_dir, url)
    command.upgrade(cfg, "head")
    built = asyncio.run(_tables(url))
    assert set(built) == TABLES
    # Every model column exists in the migrated table, so the models and migrations agree.
    for table in ReceptionModel.metadata.sorted_tables:
        assert {c.name for c in table.columns} == built[table.name], table.name
    command.downgrade(cfg, "base")
    assert asyncio.run(_tables(url)) == {}
    command.upgrade(cfg, "head")
    assert set(asyncio.run(_tables(url))) == TABLES


async def test_migrations_run_on_sqlite(sqlite_url):
    await asyncio.to_thread(_roundtrip, sqlite_url("migrations"))


async def test_migrations_run_on_postgresql(pg_url):
    await asyncio.to_thread(_roundtrip, pg_url)
