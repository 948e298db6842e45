"""Network's test fixtures: an in-process network service on its own database and clock,
and callers signed as the roles that use it."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import pytest

from services.common.clock import ManualClock
from services.network.main import create_app, spec
from services.network.settings import NetworkSettings
from tests.network.factories import T0, store_body
from tests.support.platform import Caller, running


def network_settings(database_url: str, **overrides) -> NetworkSettings:
    return NetworkSettings(database_url=database_url, **overrides)


@asynccontextmanager
async def network_service(settings: NetworkSettings, clock: ManualClock, role: str = "api") -> AsyncIterator:
    """The service in this process; `role="api"` runs no relay or consumer (events are
    delivered in memory by the test), `"all"` runs them against the real broker."""
    app = create_app(settings, role=role, clock=clock)
    async with running(app) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def network_db(migrated_database) -> str:
    """A copy of a database the migrations built once (a fresh build per test would spend
    most of the test in Alembic)."""
    return migrated_database(spec.migrations_dir, "network")


@pytest.fixture
async def client(network_db, clock):
    async with network_service(network_settings(network_db), clock) as client:
        yield client


@pytest.fixture
def hq(client) -> Caller:
    return Caller(client, "hq_admin", principal_id="hq-admin-1")


async def create_store(hq: Caller, **kw) -> dict:
    response = await hq.post("/v1/stores", json=store_body(**kw))
    assert response.status_code == 201, response.text
    return response.json()
