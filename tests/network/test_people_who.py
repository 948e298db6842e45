"""The staff directory's events name the person who registered, reassigned or recorded the
leave of someone (issue 15): the person, their name then and the key or sign-in they used,
with a key issued to one person and another's sign-in."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from services.common.tables import OutboxMessage
from tests.network.conftest import create_store
from tests.network.factories import person_body
from tests.support.platform import Caller

ZHOU = ("person-zhou", "周敏", "key:k-zhou-1")  # HQ, with a key issued to her
WANG = ("person-wang", "王芳", "token:s-wang-3")  # the store's manager, signed in


async def data_of(client, event_type: str) -> list[dict]:
    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.event_type == event_type)
                                   .order_by(OutboxMessage.id))).all()
    return [json.loads(row.payload)["data"] for row in rows]


def who(data: dict, field: str) -> tuple:
    return data[field], data[f"{field}_name"], data[f"{field}_credential"]


async def test_each_people_event_names_the_person_who_acted_and_the_key_or_sign_in_used(client, hq, clock):
    store = await create_store(hq)
    zhou = Caller(client, "hq_admin", principal_id=ZHOU[0], name=ZHOU[1], credential=ZHOU[2])
    wang = Caller(client, "store_manager", store_id=store["id"], principal_id=WANG[0], name=WANG[1],
                  credential=WANG[2])
    by_hq = await zhou.post("/v1/people", json=person_body([(store["id"], "service_advisor")]))
    by_store = await wang.post("/v1/people", json=person_body([(store["id"], "technician")]))
    assert (by_hq.status_code, by_store.status_code) == (201, 201), (by_hq.text, by_store.text)
    registered = {d["person_id"]: who(d, "registered_by") for d in await data_of(client, "network.person.registered")}
    assert registered == {by_hq.json()["id"]: ZHOU, by_store.json()["id"]: WANG}

    clock.advance(timedelta(hours=1))
    url = f"/v1/people/{by_hq.json()['id']}/assignments"
    changed = await client.put(url, headers=wang._headers(None), json={
        "assignments": [{"store_id": store["id"], "role": "service_manager"}], "reason": "promoted"})
    assert changed.status_code == 200, changed.text
    [event] = await data_of(client, "network.person.assignments_changed")
    assert who(event, "changed_by") == WANG

    left = await zhou.post(f"/v1/people/{by_store.json()['id']}/leave", json={"reason": "moved away"})
    assert left.status_code == 200, left.text
    [event] = await data_of(client, "network.person.left")
    assert who(event, "recorded_by") == ZHOU
