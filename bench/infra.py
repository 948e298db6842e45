"""Brokers and databases for a benchmark run: reuse running ones named in the
environment, or start throwaway ones and stop them afterwards."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from deploy.kafka.broker import KafkaBroker
from deploy.postgres.cluster import PostgresCluster


@contextmanager
def kafka():
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    with tempfile.TemporaryDirectory(prefix="bench-kafka-") as tmp:
        broker = KafkaBroker(Path(tmp))
        broker.start()
        try:
            yield broker.bootstrap_servers
        finally:
            broker.stop()


@contextmanager
def postgres():
    """Yields a function name -> async SQLAlchemy URL of a fresh database."""
    admin = os.environ.get("TEST_PG_ADMIN_URL")
    if admin:
        import asyncio
        import uuid

        import asyncpg
        from sqlalchemy.engine import make_url

        def create(name: str) -> str:
            name = f"{name}_{uuid.uuid4().hex[:8]}"

            async def run():
                conn = await asyncpg.connect(make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False))
                await conn.execute(f'CREATE DATABASE "{name}"')
                await conn.close()

            asyncio.run(run())
            return make_url(admin).set(database=name).render_as_string(hide_password=False)

        yield create
        return
    with tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp:
        cluster = PostgresCluster(Path(tmp))
        cluster.start()
        made: dict[str, int] = {}

        def fresh(name: str) -> str:
            # A benchmark may ask for the same name once per size or batch.
            made[name] = made.get(name, 0) + 1
            return cluster.create_database(name if made[name] == 1 else f"{name}_{made[name]}")

        try:
            yield fresh
        finally:
            cluster.remove()
