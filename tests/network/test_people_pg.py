"""The staff directory where only the database can decide: two registrations of one
employee number at the same moment, neither seeing the other's uncommitted row."""
from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from services.common.errors import Conflict
from services.common.identity import Principal
from services.network.people import repository
from services.network.people import service as people
from services.network.people.schemas import PersonCreate
from tests.network.conftest import create_store
from tests.network.factories import person_body
from tests.support.platform import eventually


async def test_two_registrations_of_one_employee_number_at_once_make_one_person_and_a_409(client, hq, clock,
                                                                                          network_db):
    store = await create_store(hq)
    data = PersonCreate(**person_body([(store["id"], "technician")], employee_no="GZ-0002"))
    registrar = Principal(id="hq-admin-1", role="hq_admin")
    db = client.app.state.db
    admin = await asyncpg.connect(make_url(network_db).set(drivername="postgresql").render_as_string(
        hide_password=False))
    try:
        async with db.sessions() as first, db.sessions() as second:
            await people.register(first, clock, registrar, data)  # its row is written, not yet committed
            racing = asyncio.create_task(people.register(second, clock, registrar, data))

            async def second_waits_on_the_first():
                return await admin.fetchval("SELECT count(*) FROM pg_stat_activity "
                                            "WHERE datname = current_database() AND wait_event_type = 'Lock'")

            # The second found no such number and now waits on the unique index.
            await eventually(second_waits_on_the_first, timeout=10, message="the second registration never waited")
            await first.commit()
            with pytest.raises(Conflict) as refused:
                await racing
            assert refused.value.extra["field"] == "employee_no"
            await second.rollback()
    finally:
        await admin.close()
    async with db.sessions() as session:
        assert (await repository.by_employee_no(session, "GZ-0002")) is not None
