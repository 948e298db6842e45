"""Network's migrations: they build exactly the tables the models
describe, with the constraints that guard claims and settlements, and go down and up."""
from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.migrations import alembic_config, upgrade
from services.network.base import NetworkModel
from services.network.main import spec

# Created by revision 0001 (platform tables, stores, API keys), which this work leaves alone.
FIRST_REVISION_TABLES = {"outbox", "inbox", "idempotency_keys", "known_stores", "stores", "api_keys"}
NEW_TABLES = {t for t in NetworkModel.metadata.tables if t not in FIRST_REVISION_TABLES}


def _table_of(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else part
        table = getattr(getattr(part, "table", None), "name", None)
        if table:
            return table
        if isinstance(part, sa.Table):
            return part.name
        if isinstance(name, str) and name in NetworkModel.metadata.tables:
            return name
    return None


async def _inspect(url: str) -> tuple[list, set[str], dict]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            def look(sync_conn):
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                diffs = [d for d in compare_metadata(context, NetworkModel.metadata) if _table_of(d) in NEW_TABLES]
                inspector = sa.inspect(sync_conn)
                tables = set(inspector.get_table_names())
                guards = {
                    "claimed_lines": inspector.get_pk_constraint("claimed_lines")["constrained_columns"],
                    "settlement_claims": [u["column_names"] for u in inspector.get_unique_constraints("settlement_claims")],
                    "kpi_daily": inspector.get_pk_constraint("kpi_daily")["constrained_columns"],
                } if "claimed_lines" in tables else {}
                return diffs, tables, guards

            return await conn.run_sync(look)
    finally:
        await engine.dispose()


async def test_migrations_build_the_models_tables_with_their_guards_and_go_down_and_up(pg_database):
    url = pg_database("network_migrations")
    await asyncio.to_thread(upgrade, spec.migrations_dir, url)
    diffs, tables, guards = await _inspect(url)
    assert NEW_TABLES <= tables
    assert diffs == []
    assert guards == {"claimed_lines": ["repair_order_id", "line_id"], "settlement_claims": [["claim_id"]],
                      "kpi_daily": ["store_id", "day", "metric"]}

    await asyncio.to_thread(command.downgrade, alembic_config(spec.migrations_dir, url), "0001")
    _, tables, _ = await _inspect(url)
    assert not (NEW_TABLES & tables) and {"stores", "api_keys"} <= tables
    await asyncio.to_thread(upgrade, spec.migrations_dir, url)
    diffs, tables, _ = await _inspect(url)
    assert NEW_TABLES <= tables and diffs == []


async def test_who_person_keeps_each_earlier_who_field_as_its_name_and_records_no_credential(pg_database):
    url = pg_database("network_who_person")
    await asyncio.to_thread(command.upgrade, alembic_config(spec.migrations_dir, url), "0007")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO stores (id, code, name, kind, region, city, timezone, status, created_at) VALUES "
                "('s1', 'KS-01', 'Kunshan', 'dealer', 'Jiangsu', 'Kunshan', 'Asia/Shanghai', 'active', now())"))
            await conn.execute(sa.text(
                "INSERT INTO settlements (id, store_id, period, status, total_fen, issued_at, issued_by, confirmed_at,"
                " confirmed_by, version) VALUES ('st1', 's1', '2026-11', 'confirmed', 100, now(), 'hq-admin-1', now(),"
                " 'manager-1', 2)"))
            await conn.execute(sa.text(
                "INSERT INTO onboarding_items (store_id, item_code, completed_at, completed_by) VALUES "
                "('s1', 'staff_trained', now(), 'hq-admin-2')"))
        await asyncio.to_thread(command.upgrade, alembic_config(spec.migrations_dir, url), "0008")
        async with engine.connect() as conn:
            settlement = (await conn.execute(sa.text(
                "SELECT issued_by_name, issued_by_credential, confirmed_by_name, confirmed_by_credential, paid_by_name,"
                " paid_by_credential FROM settlements"))).one()
            item = (await conn.execute(sa.text(
                "SELECT completed_by_name, completed_by_credential FROM onboarding_items"))).one()
    finally:
        await engine.dispose()
    assert tuple(settlement) == ("hq-admin-1", None, "manager-1", None, None, None)
    assert tuple(item) == ("hq-admin-2", None)
