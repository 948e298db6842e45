"""Staff accounts pushed from the directory to a real Keycloak (the session's `oidc_provider`):
a registered person gets an account without a password, changes follow it, a leaver is disabled
and signed out; a sign-in is a temporary password answered once and kept nowhere; the same event
twice makes one account and a late one undoes no leave; while the provider is away the changes
wait (only they), through a stop of the service too, and arrive once it is back."""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from deploy.oidc.keycloak import OidcProvider
from services.common.events.envelope import CloudEvent
from services.common.kafka import ensure_topics
from services.common.tables import OutboxMessage
from services.network.events import person_changed
from services.network.people.accounts import ProviderAdmin, StaffAccount, StaffAccounts
from services.network.settings import NetworkSettings
from tests.network.conftest import create_store, network_service, network_settings
from tests.network.factories import person_body
from tests.support.events import deliver
from tests.support.forwarder import Forwarder
from tests.support.oidc import SignInRefused, password_grant
from tests.support.platform import Caller, eventually, identity

# The first test to ask for the provider starts Keycloak (about 20 s on a quiet machine, minutes on a busy one).
pytestmark = pytest.mark.timeout(600)

PASSWORD = "chosen-by-herself-42"
ARRIVES = 60.0  # seconds an account change may take through relay, broker and the accounts consumer group


def settings_for(database_url: str, admin: ProviderAdmin, **overrides: Any) -> NetworkSettings:
    return network_settings(database_url, oidc_admin_url=admin.base_url, oidc_realm=admin.realm,
                            oidc_client_id=admin.client_id, oidc_client_secret=admin.client_secret, **overrides)


@pytest.fixture
async def accounts(oidc_provider: OidcProvider):
    """The provider's users as the test reads them, straight from Keycloak."""
    async with StaffAccounts(oidc_provider.admin) as accounts:
        yield accounts


@pytest.fixture
async def brokered(network_db, kafka_bootstrap, topic_prefix):
    """Network's settings for a run with relay and consumers on the real broker, given where the provider is."""

    async def make(admin: ProviderAdmin) -> NetworkSettings:
        settings = settings_for(network_db, admin, kafka_bootstrap_servers=kafka_bootstrap,
                                kafka_topic_prefix=topic_prefix)
        await ensure_topics(settings)
        return settings

    return make


@asynccontextmanager
async def network(settings: NetworkSettings, clock, role: str = "api"):
    async with network_service(settings, clock, role=role) as client:
        yield client, Caller(client, "hq_admin", principal_id="hq-admin-1")


async def register(caller: Caller, store: dict, role: str = "service_advisor", **fields: Any) -> dict:
    response = await caller.post("/v1/people", json=person_body([(store["id"], role)], **fields))
    assert response.status_code == 201, response.text
    return response.json()


async def user_of(accounts: StaffAccounts, employee_no: str, **expected: Any) -> dict | None:
    """The provider's user for this employee number once it has `expected` values, else None."""
    user = await accounts.find(employee_no)
    if user is None or any(user.get(k) != v for k, v in expected.items()):
        return None
    return user


async def credentials(accounts: StaffAccounts, user_id: str) -> list[dict]:
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.get(f"{accounts.admin.admin_url}/users/{user_id}/credentials",
                                headers={"Authorization": f"Bearer {await accounts.service_token()}"})
    answer.raise_for_status()
    return answer.json()


async def outbox_events(client, event_type: str) -> list[CloudEvent]:
    async with client.app.state.db.transaction() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.event_type == event_type)
                                   .order_by(OutboxMessage.id))).all()
    return [CloudEvent.from_json(row.payload) for row in rows]


async def tables_holding(client, text: str) -> list[str]:
    """Every table.column of the service's database whose text holds `text`."""
    found = []
    async with client.app.state.db.transaction() as session:
        columns = (await session.exec(sa.text(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'json', 'jsonb')"))).all()
        for table, column in columns:
            hits = (await session.exec(sa.text(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE :x'),
                                       params={"x": f"%{text}%"})).one()[0]
            if hits:
                found.append(f"{table}.{column}")
    return found


async def test_a_registered_person_gets_an_account_without_a_password_changes_follow_and_a_leaver_is_shut_out(
        oidc_provider, accounts, brokered, clock):
    settings = await brokered(oidc_provider.admin)
    async with network(settings, clock, role="all") as (client, hq):
        store = await create_store(hq)
        person = await register(hq, store, name="王芳", phone="+86 138-0013-8000")
        employee_no = person["employee_no"]

        user = await eventually(lambda: user_of(accounts, employee_no), timeout=ARRIVES,
                                message="the registered person got no account")
        assert user["attributes"]["person_id"] == [person["id"]]
        assert user["attributes"]["phone"] == ["13800138000"]
        assert (user["firstName"], user["enabled"], user["requiredActions"]) == ("王芳", True, [])
        assert await credentials(accounts, user["id"]) == [], "nobody signs in until a password is issued"

        # The provider's copy drifted (changed by hand); the next change of the person puts it right.
        await accounts.upsert(StaffAccount(employee_no, "王芳", person_id=person["id"], phone="13000000000"))
        moved = await client.put(f"/v1/people/{person['id']}/assignments", json={
            "assignments": [{"store_id": store["id"], "role": "warranty_clerk"}], "reason": "warranty desk"},
            headers=identity(hq.role, hq.store_id, hq.principal_id))
        assert moved.status_code == 200, moved.text
        await eventually(lambda: user_of(accounts, employee_no, attributes=user["attributes"]), timeout=ARRIVES,
                         message="the change of assignments did not bring the account in line")

        # She chose her own password at her first sign-in (set here as the provider would).
        await accounts.set_password(user["id"], PASSWORD, temporary=False)
        tokens = await password_grant(oidc_provider, employee_no, PASSWORD)

        assert (await hq.post(f"/v1/people/{person['id']}/leave", json={"reason": "moved away"})).status_code == 200
        await eventually(lambda: user_of(accounts, employee_no, enabled=False), timeout=ARRIVES,
                         message="the leaver's account stayed enabled")
        with pytest.raises(SignInRefused) as refused:
            await password_grant(oidc_provider, employee_no, PASSWORD)
        assert refused.value.error == "invalid_grant"
        async with httpx.AsyncClient(timeout=30) as http:
            refreshed = await http.post(oidc_provider.token_url, data={
                "grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
                "client_id": oidc_provider.password_grant_client_id})
        assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")


async def test_a_sign_in_is_a_temporary_password_answered_once_and_kept_nowhere(
        oidc_provider, accounts, network_db, clock):
    # No consumer runs here: the sign-in makes the account itself when its event is not applied yet.
    async with network(settings_for(network_db, oidc_provider.admin), clock) as (client, hq):
        store = await create_store(hq)
        person = await register(hq, store)
        assert await accounts.find(person["employee_no"]) is None

        issued = await hq.post(f"/v1/people/{person['id']}/sign-in")
        assert issued.status_code == 201, issued.text
        assert issued.headers["cache-control"] == "no-store"
        body = issued.json()
        assert (set(body), body["person_id"], body["username"]) == (
            {"person_id", "username", "temporary_password"}, person["id"], person["employee_no"])
        password = body["temporary_password"]

        user = await accounts.find(person["employee_no"])
        assert user is not None and user["attributes"]["person_id"] == [person["id"]]
        assert user["requiredActions"] == ["UPDATE_PASSWORD"]
        # The right password, to be changed first: Keycloak tells that apart from a wrong one.
        with pytest.raises(SignInRefused) as temporary:
            await password_grant(oidc_provider, person["employee_no"], password)
        assert "not fully set up" in temporary.value.description
        assert await tables_holding(client, password) == []

        manager = Caller(client, "store_manager", store_id=store["id"], principal_id="manager-1")
        again = await manager.post(f"/v1/people/{person['id']}/sign-in")
        assert again.status_code == 201, again.text
        assert again.json()["temporary_password"] != password
        with pytest.raises(SignInRefused) as replaced:
            await password_grant(oidc_provider, person["employee_no"], password)
        assert "Invalid user credentials" in replaced.value.description


async def test_the_same_person_event_twice_makes_one_account_and_a_late_one_undoes_no_leave(
        oidc_provider, accounts, network_db, clock):
    async with network(settings_for(network_db, oidc_provider.admin), clock) as (client, hq):
        app = client.app
        store = await create_store(hq)
        person = await register(hq, store)
        [registered] = await outbox_events(client, "network.person.registered")

        assert await deliver(app, registered) == "applied"
        first = await accounts.find(person["employee_no"])
        assert await deliver(app, registered) == "duplicate"
        async with app.state.db.transaction() as session:  # past the inbox, as a rebuild would
            await person_changed(session, registered.payload(), registered, app.state.handlers.context)
        assert first is not None and await accounts.find(person["employee_no"]) == first

        assert (await hq.post(f"/v1/people/{person['id']}/leave")).status_code == 200
        [left] = await outbox_events(client, "network.person.left")
        assert await deliver(app, left) == "applied"
        # The registration again, late: the account follows the directory as it stands, not the event.
        async with app.state.db.transaction() as session:
            await person_changed(session, registered.payload(), registered, app.state.handlers.context)
        user = await accounts.find(person["employee_no"])
        assert user is not None and user["enabled"] is False


async def test_while_the_provider_is_away_account_changes_wait_alone_and_arrive_once_it_is_back(
        oidc_provider, accounts, brokered, clock):
    real = urlsplit(oidc_provider.base_url)
    assert real.hostname is not None and real.port is not None
    async with Forwarder(real.hostname, real.port) as provider:
        settings = await brokered(ProviderAdmin(provider.url, oidc_provider.provisioning_client_secret))
        async with network(settings, clock, role="all") as (client, hq):
            store = await create_store(hq)
            leaver = await register(hq, store)
            await eventually(lambda: user_of(accounts, leaver["employee_no"]), timeout=ARRIVES,
                             message="no account while the provider was there")

            provider.down()
            hired = await register(hq, store)
            assert (await hq.post(f"/v1/people/{leaver['id']}/leave")).status_code == 200
            await eventually(lambda: _at_least(provider.refused, 3), timeout=ARRIVES,
                             message="the accounts consumer did not keep trying")
            assert await accounts.find(hired["employee_no"]) is None
            assert (await user_of(accounts, leaver["employee_no"], enabled=True)) is not None
            unavailable = await hq.post(f"/v1/people/{hired['id']}/sign-in")
            assert unavailable.status_code == 503, unavailable.text
            # Only the accounts group waits: the service's other events go on (a new store reaches its registry).
            other = await create_store(hq)
            await eventually(lambda: _known_store(client, other["id"]), timeout=ARRIVES,
                             message="the main consumer group waited for the provider too")
            [group] = client.app.state.runtime.group_consumers
            assert group.dead_lettered == 0

            provider.restore()
            await eventually(lambda: user_of(accounts, hired["employee_no"]), timeout=ARRIVES,
                             message="the registration made during the outage never arrived")
            await eventually(lambda: user_of(accounts, leaver["employee_no"], enabled=False), timeout=ARRIVES,
                             message="the leave recorded during the outage never arrived")
            assert group.dead_lettered == 0


async def test_a_stop_during_the_outage_leaves_the_change_to_the_next_start(oidc_provider, accounts, brokered, clock):
    real = urlsplit(oidc_provider.base_url)
    assert real.hostname is not None and real.port is not None
    async with Forwarder(real.hostname, real.port) as provider:
        settings = await brokered(ProviderAdmin(provider.url, oidc_provider.provisioning_client_secret))
        provider.down()
        async with network(settings, clock, role="all") as (client, hq):
            hired = await register(hq, await create_store(hq))
            await eventually(lambda: _at_least(provider.refused, 2), timeout=ARRIVES,
                             message="the accounts consumer never tried")
            [group] = client.app.state.runtime.group_consumers
        assert group.dead_lettered == 0, "the stop dead-lettered the waiting change"

        provider.restore()
        async with network(settings, clock, role="all"):
            await eventually(lambda: user_of(accounts, hired["employee_no"]), timeout=ARRIVES,
                             message="the change left waiting at the stop never arrived")


async def _at_least(value: int, wanted: int) -> bool:
    return value >= wanted


async def _known_store(client, store_id: str) -> bool:
    async with client.app.state.db.transaction() as session:
        found = (await session.exec(sa.text("SELECT 1 FROM known_stores WHERE id = :s"),
                                    params={"s": store_id})).first()
    return found is not None
