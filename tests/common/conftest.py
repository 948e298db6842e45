"""Fixtures of the common package's tests: a database built by the probe's migrations,
the notes app over it, and a probe deployment on the real broker,
all cleaned up even when a test fails half-way."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx
import pytest

from services.common.migrations import upgrade_async
from tests.common.harness import ProbeRun
from tests.common.notes_app import create_app
from tests.common.probe import MIGRATIONS
from tests.support.platform import signer


@pytest.fixture
def database_url(migrated_database) -> str:
    """A probe database at the head of the probe's migrations."""
    return migrated_database(MIGRATIONS, "probe")


@asynccontextmanager
async def notes_client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the notes app over `url`; unexpected errors come back as answers."""
    app = create_app(url)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        hook = signer(app.state.settings.service_name, app.state.settings.identity_secret)
        async with httpx.AsyncClient(transport=transport, base_url="http://notes",
                                     event_hooks={"request": [hook]}) as client:
            client.app = app
            yield client
    finally:
        await app.state.db.dispose()


@pytest.fixture
async def notes(database_url):
    """The notes app on a fresh probe database."""
    async with notes_client(database_url) as client:
        yield client


@pytest.fixture
async def probe_run(pg_database, kafka_bootstrap, topic_prefix, tmp_path):
    run = ProbeRun(pg_database("probe"), kafka_bootstrap, topic_prefix, tmp_path)
    await run.migrate()
    try:
        yield run
    finally:
        await run.close()
