"""Reception in-process on PostgreSQL (API role; events applied with `deliver`), two stores,
a manual clock and callers of several roles."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx
import pytest
from sqlmodel import select

from services.common.clock import ManualClock
from services.common.tables import OutboxMessage
from services.reception.main import create_app, spec
from services.reception.settings import ReceptionSettings
from tests.reception import factories
from tests.support.events import deliver, store_created
from tests.support.platform import Caller, running

# Tuesday 1 December 2026, 09:00 in Shanghai.
START = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)


@dataclass
class Reception:
    app: object
    client: httpx.AsyncClient
    clock: ManualClock
    store_id: str
    other_store_id: str
    advisor: Caller
    other_advisor: Caller
    hq: Caller
    callers: dict[str, Caller] = field(default_factory=dict)

    def caller(self, role: str, store_id: str | None = None, principal_id: str | None = None) -> Caller:
        return Caller(self.client, role, store_id if store_id is not None or role.startswith("hq") else self.store_id,
                      principal_id)

    async def deliver(self, envelope) -> str:
        return await deliver(self.app, envelope)

    async def outbox(self, event_type: str | None = None, subject: str | None = None) -> list[dict]:
        """Envelopes written to the outbox, oldest first."""
        async with self.app.state.db.transaction() as session:
            rows = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        envelopes = [json.loads(r.payload) for r in rows]
        return [e for e in envelopes if (event_type is None or e["type"] == event_type)
                and (subject is None or e["subject"] == subject)]

    # ---- flows the tests share ----

    async def open_order(self, caller: Caller | None = None, **body) -> dict:
        r = await (caller or self.advisor).post("/v1/repair-orders", json=factories.check_in(**body))
        assert r.status_code == 201, r.text
        return r.json()

    async def add_line(self, order: dict, line: dict, caller: Caller | None = None) -> dict:
        r = await (caller or self.advisor).post(f"/v1/repair-orders/{order['id']}/lines", json=line)
        assert r.status_code == 201, r.text
        return r.json()

    async def act(self, order: dict, action: str, body: dict | None = None, caller: Caller | None = None) -> dict:
        r = await (caller or self.advisor).post(f"/v1/repair-orders/{order['id']}/{action}", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    async def approved_order(self, lines: list[dict] | None = None, **body) -> dict:
        order = await self.open_order(**body)
        for line in lines or [factories.labour(), factories.part()]:
            order = await self.add_line(order, line)
        await self.act(order, "estimate")
        return await self.act(order, "approve", {"approved_by": "Zhang Wei", "channel": "in_person"})

    async def ready_order(self, lines: list[dict] | None = None, **body) -> dict:
        order = await self.approved_order(lines, **body)
        self.clock.advance(minutes=30)
        await self.deliver(factories.work_started(order, self.clock.now()))
        self.clock.advance(hours=2)
        await self.deliver(factories.ready(order, self.clock.now()))
        return await self.get_order(order)

    async def get_order(self, order: dict) -> dict:
        r = await self.advisor.get(f"/v1/repair-orders/{order['id']}")
        assert r.status_code == 200, r.text
        return r.json()

    async def settle(self, order: dict, **body) -> dict:
        payments = [{"method": "wechat_pay", "amount_fen": order["totals"]["customer_due_fen"]}]
        return await self.act(order, "settle", {"payments": payments, **body})


def reception_settings(database_url: str, **over) -> ReceptionSettings:
    return ReceptionSettings(database_url=database_url, **over)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def reception_db(migrated_database) -> str:
    """A copy of a database the migrations built once per session."""
    return migrated_database(spec.migrations_dir, "reception")


@pytest.fixture
async def reception(reception_db, clock) -> Reception:
    app = create_app(reception_settings(reception_db), role="api", clock=clock)
    async with running(app) as client:
        store, other = store_created(code="SH-PD-01"), store_created(code="BJ-CY-01")
        await deliver(app, store)
        await deliver(app, other)
        yield Reception(
            app=app, client=client, clock=clock, store_id=store.subject, other_store_id=other.subject,
            advisor=Caller(client, "service_advisor", store.subject, "advisor-li"),
            other_advisor=Caller(client, "service_advisor", other.subject, "advisor-wang"),
            hq=Caller(client, "hq_admin", None, "hq-admin"),
        )
