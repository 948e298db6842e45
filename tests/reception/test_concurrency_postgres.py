"""Races a busy store produces, on PostgreSQL: numbers, idempotent retries, slots, double clicks."""
import asyncio
from datetime import datetime, timezone

import pytest

from services.reception.main import create_app
from tests.reception import factories
from tests.reception.conftest import Reception, reception_settings
from tests.support.events import deliver, store_created
from tests.support.platform import Caller, running


@pytest.fixture
async def reception_pg(pg_url, clock) -> Reception:
    app = create_app(reception_settings(pg_url), role="api", clock=clock)
    async with running(app) as client:
        store, other = store_created(code="SH-PD-01"), store_created(code="BJ-CY-01")
        await deliver(app, store)
        await deliver(app, other)
        yield Reception(app=app, client=client, clock=clock, store_id=store.subject, other_store_id=other.subject,
                        advisor=Caller(client, "service_advisor", store.subject, "advisor-li"),
                        other_advisor=Caller(client, "service_advisor", other.subject, "advisor-wang"),
                        hq=Caller(client, "hq_admin", None, "hq-admin"))


async def test_twenty_concurrent_check_ins_get_twenty_distinct_numbers(reception_pg):
    advisors = [Caller(reception_pg.client, "service_advisor", reception_pg.store_id, f"advisor-{i}") for i in range(20)]
    answers = await asyncio.gather(*(a.post("/v1/repair-orders", json=factories.check_in()) for a in advisors))
    assert [r.status_code for r in answers] == [201] * 20, [r.text for r in answers if r.status_code != 201]
    numbers = sorted(r.json()["number"] for r in answers)
    assert numbers == [f"SH-PD-01-20261201-{n:04d}" for n in range(1, 21)]


async def test_concurrent_retries_with_one_idempotency_key_make_one_order(reception_pg):
    body = factories.check_in()
    key = {"Idempotency-Key": "tablet-42-checkin-1"}
    answers = await asyncio.gather(*(reception_pg.advisor.post("/v1/repair-orders", json=body, headers=key)
                                     for _ in range(5)))
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["id"] for r in answers}) == 1
    assert len((await reception_pg.advisor.get("/v1/repair-orders")).json()["items"]) == 1
    assert len(await reception_pg.outbox("reception.repair_order.opened")) == 1
    # The losers rolled back their number too: the next order follows without a gap.
    assert (await reception_pg.open_order())["number"] == "SH-PD-01-20261201-0002"


async def test_concurrent_bookings_never_overfill_a_slot(reception_pg):
    when = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
    answers = await asyncio.gather(*(reception_pg.advisor.post("/v1/appointments", json=factories.appointment(when))
                                     for _ in range(8)))
    assert sorted(r.status_code for r in answers) == [201] * 4 + [409] * 4


async def test_a_double_clicked_approval_approves_once(reception_pg):
    order = await reception_pg.open_order()
    order = await reception_pg.add_line(order, factories.labour())
    await reception_pg.act(order, "estimate")
    approval = {"approved_by": "Zhang Wei", "channel": "in_person"}
    answers = await asyncio.gather(*(reception_pg.advisor.post(f"/v1/repair-orders/{order['id']}/approve", json=approval)
                                     for _ in range(2)))
    assert sorted(r.status_code for r in answers) == [200, 409]
    assert len(await reception_pg.outbox("reception.repair_order.approved")) == 1
    assert len((await reception_pg.get_order(order))["approvals"]) == 1
