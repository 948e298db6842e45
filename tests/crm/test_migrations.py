"""CRM's migrations build its schema exactly as the models describe it, and go down and
up again; two workers running the same daily
job at once do it once."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.app import ServiceRuntime
from services.common.clock import ManualClock
from services.common.db import Database
from services.common.migrations import alembic_config, upgrade
from services.common.tables import PlatformModel
from services.crm.base import CrmModel
from services.crm.main import create_app, spec
from services.crm.scheduling.service import JOBS, run_scheduled
from services.crm.settings import CrmSettings
from tests.crm import factories as f
from tests.support.events import deliver, store_created
from tests.support.platform import running


def _expected() -> sa.MetaData:
    metadata = sa.MetaData()
    for table in [*CrmModel.metadata.tables.values(), *PlatformModel.metadata.tables.values()]:
        table.to_metadata(metadata)
    return metadata


async def _schema_differences(url: str) -> list:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), _expected()))
    finally:
        await engine.dispose()


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def _check(url: str) -> None:
    from alembic import command

    await asyncio.to_thread(upgrade, spec.migrations_dir, url)
    assert await _schema_differences(url) == []
    assert {"callbacks", "complaints", "reminders", "churn_episodes", "reports", "outbox", "inbox"} <= await _tables(url)
    await asyncio.to_thread(command.downgrade, alembic_config(spec.migrations_dir, url), "base")
    assert await _tables(url) <= {"alembic_version"}
    await asyncio.to_thread(upgrade, spec.migrations_dir, url)
    assert await _schema_differences(url) == []


async def test_migrations_build_the_models_schema_and_go_down_and_up(pg_url):
    await _check(pg_url)


async def test_two_workers_running_a_daily_job_at_once_do_it_once(pg_url):
    clock = ManualClock(datetime(2026, 3, 2, 2, tzinfo=timezone.utc))
    settings = CrmSettings(database_url=pg_url, kafka_bootstrap_servers="127.0.0.1:9")
    app = create_app(settings, role="api", clock=clock)
    async with running(app):
        store = store_created()
        await deliver(app, store)
        for n in range(5):
            await deliver(app, f.delivered(store.subject, datetime(2024, 6, 1 + n, 3, tzinfo=timezone.utc),
                                           customer=f.person(f"客户{n}", f"1590000000{n}"),
                                           vehicle=f.car(vin=f"LSVWORKERS000000{n}")))
        workers = [ServiceRuntime(settings=settings, db=Database(pg_url), clock=clock) for _ in range(3)]
        try:
            await asyncio.gather(*(run_scheduled(JOBS["churn_detection"], w) for w in workers))
        finally:
            for w in workers:
                await w.db.dispose()
        async with app.state.db.transaction() as session:
            conn = await session.connection()
            events = (await conn.execute(sa.text(
                "SELECT count(*) FROM outbox WHERE event_type = 'crm.customer.churn_detected'"))).scalar_one()
            runs = (await conn.execute(sa.text("SELECT runs FROM job_runs WHERE job = 'churn_detection'"))).all()
        assert events == 5
        assert [tuple(r) for r in runs] == [(1,)]
