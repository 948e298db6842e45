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


async def test_who_person_keeps_each_earlier_who_field_as_its_name_and_records_no_credential(pg_url):
    from alembic import command

    await asyncio.to_thread(command.upgrade, alembic_config(spec.migrations_dir, pg_url), "0004")
    engine = create_async_engine(pg_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO purchase_orders (id, store_id, number, supplier, status, total_fen, created_at, created_by,"
                " version) VALUES ('po1', 's1', 'SH-PO-000001', 'brand', 'open', 100, now(), 'clerk-1', 1)"))
            await conn.execute(sa.text(
                "INSERT INTO stock_receipts (id, store_id, reference, lines, received_at, received_by) VALUES "
                "('r1', 's1', 'DN-1', '[]', now(), 'clerk-2')"))
        await asyncio.to_thread(command.upgrade, alembic_config(spec.migrations_dir, pg_url), "0005")
        async with engine.connect() as conn:
            po = (await conn.execute(sa.text(
                "SELECT created_by_name, created_by_credential FROM purchase_orders"))).one()
            receipt = (await conn.execute(sa.text(
                "SELECT received_by_name, received_by_credential FROM stock_receipts"))).one()
    finally:
        await engine.dispose()
    assert (tuple(po), tuple(receipt)) == (("clerk-1", None), ("clerk-2", None))
