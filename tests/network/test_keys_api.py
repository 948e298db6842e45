"""API keys over HTTP: a key issued to a person of the staff directory or to nobody, who
made it and with what, the person the gateway learns by introspection, and a leaver's
keys revoked with their reason and events."""
from __future__ import annotations

import json

import httpx
import pytest
from sqlmodel import select

from services.common.tables import OutboxMessage
from tests.network.conftest import create_store
from tests.network.factories import person_body
from tests.support.platform import Caller


@pytest.fixture
def admin(client) -> Caller:
    """An HQ admin as the gateway signs a person's key: the person's id and name, the key as credential."""
    return Caller(client, "hq_admin", principal_id="person-hq-1", name="周敏", credential="key:k-hq-1")


@pytest.fixture
def gateway(client) -> Caller:
    return Caller(client, "system", principal_id="gateway")


@pytest.fixture
async def store(admin):
    return await create_store(admin)


async def register(hq: Caller, store: dict | None, role: str = "service_advisor", name: str = "王芳",
                   **fields) -> dict:
    assignments = [(store["id"], role)] if store is not None else []
    response = await hq.post("/v1/people", json=person_body(assignments, name=name, **fields))
    assert response.status_code == 201, response.text
    return response.json()


async def issue(hq: Caller, role: str, store: dict | None = None, person: dict | None = None,
                status: int = 201, **body) -> dict:
    body = {"role": role, "label": f"{role} key", **body}
    if store is not None:
        body["store_id"] = store["id"]
    if person is not None:
        body["person_id"] = person["id"]
    response = await hq.post("/v1/api-keys", json=body)
    assert response.status_code == status, response.text
    return response.json()


def refused_field(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    return error["field"]


async def events(client, event_type: str) -> list[dict]:
    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.event_type == event_type)
                                   .order_by(OutboxMessage.id))).all()
    return [json.loads(row.payload)["data"] for row in rows]


async def introspect(gateway: Caller, key: dict) -> dict:
    response = await gateway.post("/v1/internal/introspect", json={"key": key["key"]})
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_key_issued_to_a_person_names_them_and_who_created_it_with_what(client, admin, store):
    person = await register(admin, store)
    key = await issue(admin, "service_advisor", store, person)
    assert (key["person_id"], key["person"]) == (person["id"], {"person_id": person["id"], "name": "王芳"})
    assert key["created_by"] == {"person_id": "person-hq-1", "name": "周敏", "credential": "key:k-hq-1"}
    assert key["key"].startswith("ak_")

    shown = {k: v for k, v in key.items() if k != "key"}
    assert (await admin.get(f"/v1/api-keys/{key['id']}")).json() == shown
    listed = (await admin.get("/v1/api-keys", params={"store_id": store["id"]})).json()["items"]
    assert listed == [shown]
    [issued] = [e for e in await events(client, "network.api_key.issued") if e["key_id"] == key["id"]]
    assert (issued["person_id"], issued["issued_by"]) == (person["id"], "person-hq-1")


async def test_a_machine_key_is_issued_to_nobody(client, admin, store):
    key = await issue(admin, "outlet_api", store)
    assert (key["person_id"], key["person"]) == (None, None)
    assert key["created_by"]["person_id"] == "person-hq-1"


async def test_a_key_goes_only_to_an_active_person_working_in_its_store(client, admin, store):
    other_store = await create_store(admin)
    elsewhere = await register(admin, other_store)
    leaver = await register(admin, store)
    assert (await admin.post(f"/v1/people/{leaver['id']}/leave")).status_code == 200
    body = {"role": "service_advisor", "label": "advisor", "store_id": store["id"]}

    for person_id, why in (("no-such-person", "no such person"), (elsewhere["id"], "not assigned to this key's store"),
                           (leaver["id"], "has left")):
        response = await admin.post("/v1/api-keys", json={**body, "person_id": person_id})
        assert refused_field(response) == "person_id" and why in response.text, response.text
    mine = await register(admin, store, role="crm_agent")
    machine = await admin.post("/v1/api-keys", json={**body, "role": "outlet_api", "person_id": mine["id"]})
    assert refused_field(machine) == "person_id"
    # HQ keys are bound to no store: they go to HQ staff.
    hq_body = {"role": "hq_analyst", "label": "analyst"}
    assert "holds no HQ role" in (await admin.post("/v1/api-keys", json={**hq_body, "person_id": mine["id"]})).text
    analyst = await register(admin, None, name="孙丽", hq_role="hq_analyst")
    assert (await issue(admin, "hq_analyst", person=analyst))["person_id"] == analyst["id"]
    assert [e["person_id"] for e in await events(client, "network.api_key.issued")] == [analyst["id"]]


async def test_introspection_gives_the_gateway_the_person_behind_a_key(client, admin, gateway, store):
    person = await register(admin, store, name="李强")
    personal = await introspect(gateway, await issue(admin, "store_manager", store, person))
    assert (personal["active"], personal["person_id"], personal["person_name"]) == (True, person["id"], "李强")
    assert personal["name"] == "store_manager key"  # the key's label, as before
    machine = await introspect(gateway, await issue(admin, "outlet_api", store))
    assert (machine["active"], machine["person_id"], machine["person_name"]) == (True, None, None)
    assert (await admin.post("/v1/internal/introspect", json={"key": "ak_x"})).status_code == 403


async def test_a_person_who_leaves_loses_their_keys_with_the_reason_and_an_event_each(client, admin, gateway, store):
    person = await register(admin, store, hq_role="hq_analyst")
    colleague = await register(admin, store, name="赵磊")
    theirs = [await issue(admin, "service_advisor", store, person), await issue(admin, "hq_analyst", person=person)]
    kept = [await issue(admin, "service_advisor", store, colleague), await issue(admin, "outlet_api", store)]

    left = await admin.post(f"/v1/people/{person['id']}/leave", json={"reason": "resigned"})
    assert left.status_code == 200, left.text

    for key in theirs:
        shown = (await admin.get(f"/v1/api-keys/{key['id']}")).json()
        assert shown["revoked_at"] is not None and shown["revoked_reason"] == "person left"
        assert shown["revoked_by"] == {"person_id": "person-hq-1", "name": "周敏", "credential": "key:k-hq-1"}
        assert (await introspect(gateway, key))["active"] is False
    for key in kept:
        assert (await admin.get(f"/v1/api-keys/{key['id']}")).json()["revoked_at"] is None
        assert (await introspect(gateway, key))["active"] is True
    revoked = await events(client, "network.api_key.revoked")
    assert sorted((e["key_id"], e["person_id"], e["reason"]) for e in revoked) == sorted(
        (k["id"], person["id"], "person left") for k in theirs)


async def test_a_revocation_records_who_and_why(client, admin, store):
    key = await issue(admin, "outlet_api", store)
    revoked = await admin.delete(f"/v1/api-keys/{key['id']}", params={"reason": "outlet system replaced"})
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["revoked_reason"], revoked.json()["revoked_by"]["credential"]) == (
        "outlet system replaced", "key:k-hq-1")
    [event] = await events(client, "network.api_key.revoked")
    assert (event["reason"], event["revoked_by"]) == ("outlet system replaced", "person-hq-1")


async def test_a_store_reads_its_own_stores_keys_only(client, admin, store):
    other_store = await create_store(admin)
    mine = await issue(admin, "outlet_api", store)
    theirs = await issue(admin, "outlet_api", other_store)
    hq_key = await issue(admin, "hq_analyst")
    manager = Caller(client, "store_manager", store_id=store["id"])
    assert (await manager.get(f"/v1/api-keys/{mine['id']}")).status_code == 200
    for key in (theirs, hq_key):
        assert (await manager.get(f"/v1/api-keys/{key['id']}")).status_code == 404
