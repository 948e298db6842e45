"""Pooled PostgreSQL connections are checked only when they have sat idle: a connection the
server dropped while it waited in the pool is replaced before a transaction gets it,
without the three round trips SQLAlchemy's pre-ping would add to every transaction."""
from __future__ import annotations

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from services.common import db as db_module
from services.common.db import Database, is_connection_error


async def _backend_pid(db: Database) -> int:
    async with db.transaction() as session:
        return (await session.exec(sa.text("SELECT pg_backend_pid()"))).scalar_one()


async def _queries_sent(db: Database, work) -> list[str]:
    """The queries the pooled connection sent while `work` ran, as asyncpg logs them (its
    simple-protocol queries: transaction control, and the check this module makes)."""
    async with db.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
    sent: list[str] = []
    driver.add_query_logger(lambda record: sent.append(record.query))
    await work()
    return sent


async def _terminate(url: str, pid: int) -> None:
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def test_a_connection_dropped_while_idle_is_replaced_before_use(pg_url, monkeypatch):
    db = Database(pg_url, pool_size=1)
    try:
        first = await _backend_pid(db)
        await _terminate(pg_url, first)
        monkeypatch.setattr(db_module, "IDLE_BEFORE_PING_SECONDS", 0.0)  # it has now "waited long enough"
        second = await _backend_pid(db)
        assert second != first
    finally:
        await db.dispose()


async def test_a_connection_back_in_the_pool_a_moment_ago_is_used_as_it_is(pg_url, monkeypatch):
    """The other side of the trade: no check, so a connection the server dropped within the
    last second fails one transaction as a connection error, and the next gets a new one."""
    db = Database(pg_url, pool_size=1)
    try:
        first = await _backend_pid(db)
        await _terminate(pg_url, first)
        monkeypatch.setattr(db_module, "IDLE_BEFORE_PING_SECONDS", 3600.0)
        with pytest.raises(Exception) as failed:
            await _backend_pid(db)
        assert is_connection_error(failed.value)
        assert await _backend_pid(db) != first
    finally:
        await db.dispose()


async def test_a_busy_pool_sends_no_checks(pg_url):
    db = Database(pg_url, pool_size=1)
    try:
        await _backend_pid(db)

        async def three_transactions():
            for _ in range(3):
                await _backend_pid(db)

        queries = await _queries_sent(db, three_transactions)
        # Each transaction's own BEGIN and COMMIT (its SELECT goes as a prepared statement,
        # which asyncpg does not log), and nothing else: no check before each one.
        assert queries == ["BEGIN;", "COMMIT;"] * 3
    finally:
        await db.dispose()
