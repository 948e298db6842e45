"""Staff sign-in at the gateway with the real provider (Keycloak, the `oidc_provider` fixture):
an account provisioned through its admin API, a token by the password grant, and the gateway
in this process finding the keys through Keycloak's discovery document. The stand-in network
answers for the staff directory."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from joserfc import jws

from deploy.oidc.keycloak import OidcProvider
from services.common.clock import ManualClock
from services.network.people.accounts import StaffAccount, StaffAccounts
from tests.gateway.fakes import gateway
from tests.gateway.test_proxy import problem_of
from tests.support.oidc import password_grant

# The first test to ask for the provider starts Keycloak (about 20 s on a quiet machine, minutes on a busy one).
pytestmark = pytest.mark.timeout(600)

PASSWORD = "correct-horse-battery-42"
APPOINTMENTS = "/api/reception/v1/appointments"


@pytest.fixture
async def signed_in(oidc_provider: OidcProvider) -> tuple[str, str]:
    """(person id, access token) of an advisor whose account the test provisioned."""
    person_id = f"p_{uuid.uuid4().hex[:12]}"
    employee_no = f"E{uuid.uuid4().hex[:8].upper()}"
    async with StaffAccounts(oidc_provider.admin) as accounts:
        await accounts.upsert(StaffAccount(employee_no, "王芳", person_id=person_id, phone="13800138000"),
                              password=PASSWORD, temporary=False)
    tokens = await password_grant(oidc_provider, employee_no, PASSWORD)
    return person_id, tokens.access_token


def _payload(token: str) -> dict:
    """The token's claims, unverified: only to know what to expect of the gateway."""
    return json.loads(jws.extract_compact(token.encode()).payload)


async def test_a_keycloak_token_signs_the_person_in(oidc_provider: OidcProvider, signed_in: tuple[str, str]):
    person_id, token = signed_in
    async with gateway(oidc_issuer=oidc_provider.issuer) as rig:
        rig.network.add_person(person_id, "王芳", {"store-a": "service_advisor"})

        response = await rig.client.get(APPOINTMENTS, headers={"Authorization": f"Bearer {token}"})

        assert response.status_code == 200, response.text
        echo = response.json()
        assert (echo["principal"]["id"], echo["principal"]["role"], echo["principal"]["store_id"]) == (
            person_id, "service_advisor", "store-a")
        claims = _payload(token)
        session = claims.get("sid") or claims["jti"]
        assert echo["headers"]["x-principal-credential"] == f"token:{session}"


async def test_a_keycloak_token_is_refused_once_expired_or_by_a_gateway_of_another_audience(
        oidc_provider: OidcProvider, signed_in: tuple[str, str]):
    person_id, token = signed_in
    exp = _payload(token)["exp"]
    clock = ManualClock(datetime.fromtimestamp(exp + 31, UTC))
    async with gateway(oidc_issuer=oidc_provider.issuer, oidc_leeway_seconds=30, clock=clock) as rig:
        rig.network.add_person(person_id, "王芳", {"store-a": "service_advisor"})
        expired = await rig.client.get(APPOINTMENTS, headers={"Authorization": f"Bearer {token}"})
        assert "expired" in problem_of(expired, 401)["detail"]

    async with gateway(oidc_issuer=oidc_provider.issuer, oidc_audience="another-api") as rig:
        rig.network.add_person(person_id, "王芳", {"store-a": "service_advisor"})
        elsewhere = await rig.client.get(APPOINTMENTS, headers={"Authorization": f"Bearer {token}"})
        assert "another-api" in problem_of(elsewhere, 401)["detail"]


async def test_auth_config_gives_keycloaks_endpoints_for_the_dashboard_client(oidc_provider: OidcProvider):
    discovery = httpx.get(oidc_provider.discovery_url, timeout=30).json()
    async with gateway(oidc_issuer=oidc_provider.issuer) as rig:
        config = (await rig.client.get("/auth/config")).json()

    assert config == {
        "issuer": oidc_provider.issuer, "client_id": oidc_provider.dashboard_client_id,
        "audience": oidc_provider.audience, "authorization_endpoint": discovery["authorization_endpoint"],
        "token_endpoint": discovery["token_endpoint"], "end_session_endpoint": discovery["end_session_endpoint"],
        "scopes": ["openid", "profile"],
    }
