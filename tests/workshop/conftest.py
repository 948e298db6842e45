"""A workshop service in this process on its own database, with two known stores and a
clock that only moves when a test says so. Events are applied through the service's own
handlers and inbox (`deliver`); the tests that claim Kafka use the real broker instead."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import pytest

from services.common.clock import ManualClock
from services.common.events.envelope import CloudEvent
from services.common.ids import new_id
from services.workshop.main import create_app, spec
from services.workshop.settings import WorkshopSettings
from tests.support.events import deliver, store_created
from tests.support.platform import Caller, running

START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai


@dataclass
class Shop:
    app: object
    client: httpx.AsyncClient
    clock: ManualClock
    store_id: str
    other_store_id: str

    def caller(self, role: str, principal_id: str | None = None, store_id: str | None = None) -> Caller:
        store = store_id or (None if role.startswith("hq_") else self.store_id)
        return Caller(self.client, role, store, principal_id)

    @property
    def manager(self) -> Caller:
        return self.caller("store_manager", "manager-1")

    @property
    def clerk(self) -> Caller:
        return self.caller("parts_clerk", "clerk-1")

    async def deliver(self, envelope: CloudEvent) -> str:
        return await deliver(self.app, envelope)

    async def technician(self, name: str = "Li Wei", skills: tuple[str, ...] = ("brakes", "maintenance"),
                         principal_id: str | None = None) -> dict:
        body = {"name": name, "skills": list(skills)}
        if principal_id:
            body["principal_id"] = principal_id
        r = await self.manager.post("/v1/technicians", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    async def jobs_of(self, repair_order_id: str) -> list[dict]:
        r = await self.manager.get("/v1/jobs", params={"repair_order_id": repair_order_id})
        assert r.status_code == 200, r.text
        return sorted(r.json()["items"], key=lambda j: j["line_id"])

    async def reservations_of(self, repair_order_id: str) -> list[dict]:
        r = await self.clerk.get("/v1/reservations", params={"repair_order_id": repair_order_id})
        assert r.status_code == 200, r.text
        return r.json()["items"]

    async def receive(self, part_no: str, qty: int, reference: str = "DN-1") -> dict:
        r = await self.clerk.post("/v1/stock/receipts", json={"reference": reference,
                                                               "lines": [{"part_no": part_no, "qty": qty}]})
        assert r.status_code == 201, r.text
        return r.json()

    async def stock(self, part_no: str) -> dict:
        r = await self.clerk.get(f"/v1/stock/{part_no}")
        assert r.status_code == 200, r.text
        return r.json()


def make_settings(database_url: str, **overrides) -> WorkshopSettings:
    return WorkshopSettings(database_url=database_url, **overrides)


async def open_shop(database_url: str, **overrides):
    clock = ManualClock(START)
    app = create_app(make_settings(database_url, **overrides), role="api", clock=clock)
    store_id, other = new_id(), new_id()
    async with running(app) as client:
        await deliver(app, store_created(store_id, code="SH-PD-01"))
        await deliver(app, store_created(other, code="BJ-CY-02", timezone_name="Asia/Shanghai"))
        yield Shop(app=app, client=client, clock=clock, store_id=store_id, other_store_id=other)


@pytest.fixture
def fresh_database(migrated_database):
    """Databases copied from one the migrations built once; each test starts from a copy."""

    def make(label: str = "workshop") -> str:
        return migrated_database(spec.migrations_dir, label.replace("-", "_"))

    return make


@pytest.fixture
async def shop(fresh_database):
    async for s in open_shop(fresh_database()):
        yield s


@pytest.fixture
async def pg_shop(pg_url):
    async for s in open_shop(pg_url):
        yield s
