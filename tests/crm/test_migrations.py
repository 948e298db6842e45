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


async def test_who_person_names_earlier_who_fields_by_their_id_and_takes_the_assigner_from_the_history(pg_url):
    from alembic import command

    await asyncio.to_thread(command.upgrade, alembic_config(spec.migrations_dir, pg_url), "0003")
    engine = create_async_engine(pg_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO complaints (id, store_id, source, department, severity, description, status, owner, due_at,"
                " escalated, opened_at, opened_by, assigned_at, resolutions, reopened, version, updated_at) VALUES"
                " ('c1', 's1', 'manual', 'workshop', 'low', 'dirty', 'assigned', 'foreman-zhou', now(), false, now(),"
                " 'agent-zhang', now(), 0, 0, 3, now()),"
                " ('c2', 's1', 'manual', 'workshop', 'low', 'dirty', 'open', NULL, now(), false, now(), 'agent-zhang',"
                " NULL, 0, 0, 1, now())"))
            await conn.execute(sa.text(
                "INSERT INTO complaint_steps (id, complaint_id, store_id, action, status, due_at, at, by, note) VALUES"
                " ('s1', 'c1', 's1', 'opened', 'open', now(), now() - interval '2 hours', 'agent-zhang', ''),"
                " ('s2', 'c1', 's1', 'assigned', 'assigned', now(), now() - interval '1 hour', 'manager-chen', 'a'),"
                " ('s3', 'c1', 's1', 'assigned', 'assigned', now(), now(), 'manager-wang', 'foreman-zhou'),"
                " ('s4', 'c2', 's1', 'opened', 'open', now(), now(), 'agent-zhang', '')"))
        await asyncio.to_thread(command.upgrade, alembic_config(spec.migrations_dir, pg_url), "0004")
        async with engine.connect() as conn:
            complaints = [tuple(r) for r in (await conn.execute(sa.text(
                "SELECT id, opened_by_name, opened_by_credential, assigned_by, assigned_by_name, resolved_by_name"
                " FROM complaints ORDER BY id"))).all()]
            steps = [tuple(r) for r in (await conn.execute(sa.text(
                "SELECT id, by_name, by_credential FROM complaint_steps ORDER BY id"))).all()]
    finally:
        await engine.dispose()
    assert complaints == [("c1", "agent-zhang", None, "manager-wang", "manager-wang", None),
                          ("c2", "agent-zhang", None, None, None, None)]
    assert steps == [("s1", "agent-zhang", None), ("s2", "manager-chen", None), ("s3", "manager-wang", None),
                     ("s4", "agent-zhang", None)]
