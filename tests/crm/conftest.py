"""CRM in this process on its own SQLite database, API role only (no relay, no consumer,
no scheduler): events are applied through its handlers and inbox with `deliver`, and
the events it emits are read from its outbox. Kafka and PostgreSQL tests build their own."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import pytest
from sqlmodel import select

from services.common.clock import ManualClock
from services.common.events.envelope import CloudEvent
from services.common.tables import OutboxMessage
from services.crm.main import create_app, spec
from services.crm.settings import CrmSettings
from tests.support.events import deliver, store_created
from tests.support.platform import Caller, running

# Monday 2 March 2026, 10:00 in Shanghai.
START = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


@dataclass
class Crm:
    app: object
    client: httpx.AsyncClient
    clock: ManualClock
    store_id: str
    other_store_id: str

    async def deliver(self, *envelopes: CloudEvent) -> list[str]:
        return [await deliver(self.app, env) for env in envelopes]

    def as_(self, role: str, principal_id: str | None = None, store_id: str | None = "own") -> Caller:
        store = self.store_id if store_id == "own" else store_id
        return Caller(self.client, role, store, principal_id)

    @property
    def agent(self) -> Caller:
        return self.as_("crm_agent", "agent-zhang")

    @property
    def manager(self) -> Caller:
        return self.as_("store_manager", "manager-chen")

    @property
    def hq(self) -> Caller:
        return self.as_("hq_admin", "hq-admin", store_id=None)

    async def emitted(self, event_type: str | None = None) -> list[dict]:
        """CloudEvents this service wrote to its outbox, oldest first."""
        async with self.app.state.db.transaction() as session:
            stmt = select(OutboxMessage).order_by(OutboxMessage.id)
            if event_type:
                stmt = stmt.where(OutboxMessage.event_type == event_type)
            return [json.loads(row.payload) for row in (await session.exec(stmt)).all()]


@pytest.fixture
async def crm(migrated_database):
    """CRM on a copy of a database the migrations built once per session (test_migrations
    runs them on fresh databases)."""
    clock = ManualClock(START)
    settings = CrmSettings(database_url=migrated_database(spec.migrations_dir, "crm"),
                           kafka_bootstrap_servers="127.0.0.1:9")
    app = create_app(settings, role="api", clock=clock)
    async with running(app) as client:
        store, other = store_created(code="SH-PD-01"), store_created(code="BJ-CY-01")
        harness = Crm(app, client, clock, store.subject, other.subject)
        await harness.deliver(store, other)
        yield harness
