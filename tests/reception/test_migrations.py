"""The migrations build exactly the schema reception's models describe (types included),
tear it down and build it again."""
import asyncio

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.migrations import alembic_config
from services.common.tables import PlatformModel
from services.reception.base import ReceptionModel
from services.reception.main import spec

TABLES = {"outbox", "inbox", "idempotency_keys", "known_stores", "appointments", "repair_orders",
          "repair_order_lines", "repair_order_approvals", "invoices", "roadside_requests", "state_changes", "counters",
          "store_settings", "campaigns", "campaign_vehicles", "three_guarantees", "three_guarantees_alerts",
          "counter_sales", "counter_sale_lines", "counter_sale_settings", "fleets", "fleet_vehicles", "fleet_orders",
          "insurance_assessments"}
TABLES |= {"receivables", "receivable_payments"}
TABLES |= {"credit_accounts", "credit_allowances"}
TABLES |= {"policy_copies", "policy_copy_parts"}


def _models() -> sa.MetaData:
    metadata = sa.MetaData()
    for table in [*PlatformModel.metadata.tables.values(), *ReceptionModel.metadata.tables.values()]:
        table.to_metadata(metadata)
    return metadata


async def _differences(url: str) -> list:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            def compare(sync_conn):
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return compare_metadata(context, _models())
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


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
    assert asyncio.run(_differences(url)) == []
    command.downgrade(cfg, "base")
    assert asyncio.run(_tables(url)) == {}
    command.upgrade(cfg, "head")
    assert set(asyncio.run(_tables(url))) == TABLES


async def test_migrations_build_the_models_schema_and_come_down_and_up_again(pg_url):
    await asyncio.to_thread(_roundtrip, pg_url)
