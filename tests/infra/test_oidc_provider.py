"""The staff's OpenID Connect provider (deploy/oidc): a real Keycloak, staff accounts provisioned
through its admin API (services/network/people/accounts.py), tokens verified with joserfc against
the keys the provider publishes."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, InvalidClaimError
from joserfc.jwk import KeySet

from deploy.oidc.keycloak import OidcProvider
from services.network.people.accounts import StaffAccount, StaffAccounts
from tests.support.oidc import SignInRefused, password_grant

# The first test here starts Keycloak (about 20 s on a quiet machine, minutes on a busy one).
pytestmark = pytest.mark.timeout(600)

PASSWORD = "correct-horse-battery-42"


def staff(**overrides: object) -> StaffAccount:
    fields: dict = {
        "employee_number": f"E{uuid.uuid4().hex[:8].upper()}",
        "name": "王芳",
        "person_id": f"p_{uuid.uuid4().hex[:12]}",
        "phone": "13800138000",
    }
    return StaffAccount(**{**fields, **overrides})


@pytest.fixture
async def accounts(oidc_provider: OidcProvider):
    async with StaffAccounts(oidc_provider.admin) as accounts:
        yield accounts


@pytest.fixture(scope="module")
def jwks(oidc_provider: OidcProvider) -> KeySet:
    """The provider's published signing keys, found through its discovery document."""
    discovery = httpx.get(oidc_provider.discovery_url, timeout=30).json()
    return KeySet.import_key_set(httpx.get(discovery["jwks_uri"], timeout=30).json())


def verify(token: str, provider: OidcProvider, jwks: KeySet, *, now: int | None = None,
           issuer: str | None = None, audience: str | None = None) -> dict:
    """What the gateway will do with a bearer token: a signature by a published key (chosen by its
    kid), then issuer, audience and expiry at `now` (the clock, unless given)."""
    token_ = jwt.decode(token, jwks, algorithms=["RS256"])
    claims = jwt.JWTClaimsRegistry(
        now=now,
        iss={"essential": True, "value": issuer or provider.issuer},
        aud={"essential": True, "value": audience or provider.audience},
        exp={"essential": True},
        sub={"essential": True},
    )
    claims.validate(token_.claims)
    return token_.claims


def test_discovery_names_the_issuer_and_advertises_s256_for_pkce(oidc_provider: OidcProvider):
    discovery = httpx.get(oidc_provider.discovery_url, timeout=30).json()

    assert discovery["issuer"] == oidc_provider.issuer
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert "authorization_code" in discovery["grant_types_supported"]
    assert discovery["jwks_uri"].startswith(oidc_provider.issuer)


@pytest.mark.parametrize("port", [8123, 45678])
def test_dashboard_signs_in_from_any_loopback_port_only_with_an_s256_challenge(oidc_provider: OidcProvider,
                                                                               port: int):
    authorize = f"{oidc_provider.issuer}/protocol/openid-connect/auth"
    request = {
        "client_id": oidc_provider.dashboard_client_id, "response_type": "code", "scope": "openid",
        "redirect_uri": f"http://127.0.0.1:{port}/dashboard/signed-in", "code_challenge": "A" * 43,
    }

    login_page = httpx.get(authorize, params={**request, "code_challenge_method": "S256"}, timeout=30)
    plain = httpx.get(authorize, params={**request, "code_challenge_method": "plain"}, timeout=30)
    no_challenge = httpx.get(authorize, params={k: v for k, v in request.items() if k != "code_challenge"},
                             timeout=30)
    elsewhere = httpx.get(authorize, params={**request, "code_challenge_method": "S256",
                                             "redirect_uri": f"http://127.0.0.1:{port}/elsewhere"}, timeout=30)

    assert login_page.status_code == 200 and 'name="password"' in login_page.text
    for refused in (plain, no_challenge):
        assert refused.status_code == 302
        assert "error=invalid_request" in refused.headers["location"]
    assert elsewhere.status_code == 400  # not redirected to a place the client did not register


async def test_provisioned_person_gets_a_token_the_platform_verifies(
    oidc_provider: OidcProvider, accounts: StaffAccounts, jwks: KeySet
):
    person = staff(name="王芳")
    await accounts.upsert(person, password=PASSWORD, temporary=False)

    tokens = await password_grant(oidc_provider, person.employee_number, PASSWORD)
    claims = verify(tokens.access_token, oidc_provider, jwks)

    assert claims["iss"] == oidc_provider.issuer
    assert oidc_provider.audience in claims["aud"]
    assert claims["person_id"] == person.person_id
    assert claims["preferred_username"] == person.employee_number.lower()
    assert claims["name"] == "王芳"
    assert time.time() < claims["exp"] <= claims["iat"] + 300


async def test_a_token_is_refused_for_another_audience_issuer_or_once_expired_or_altered(
    oidc_provider: OidcProvider, accounts: StaffAccounts, jwks: KeySet
):
    person = staff()
    await accounts.upsert(person, password=PASSWORD, temporary=False)
    token = (await password_grant(oidc_provider, person.employee_number, PASSWORD)).access_token
    exp = verify(token, oidc_provider, jwks)["exp"]
    header, payload, signature = token.split(".")
    altered = ".".join([header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature])

    with pytest.raises(InvalidClaimError, match="aud"):
        verify(token, oidc_provider, jwks, audience="another-api")
    with pytest.raises(InvalidClaimError, match="iss"):
        verify(token, oidc_provider, jwks, issuer=oidc_provider.base_url + "/realms/master")
    with pytest.raises(ExpiredTokenError):
        verify(token, oidc_provider, jwks, now=exp + 1)
    with pytest.raises(BadSignatureError):
        verify(altered, oidc_provider, jwks)


async def test_upsert_brings_an_existing_person_in_line_with_the_directory(accounts: StaffAccounts):
    person = staff(phone="13800138000")
    first_id = await accounts.upsert(person)

    again_id = await accounts.upsert(staff(employee_number=person.employee_number, person_id=person.person_id,
                                           name="王芳芳", phone="13900139000"))

    found = await accounts.find(person.employee_number)
    assert again_id == first_id
    assert found is not None
    assert found["firstName"] == "王芳芳"
    assert found["attributes"]["phone"] == ["13900139000"]
    assert found["attributes"]["person_id"] == [person.person_id]


async def test_a_temporary_password_must_be_changed_before_a_token_is_given(
    oidc_provider: OidcProvider, accounts: StaffAccounts
):
    person = staff()
    await accounts.upsert(person, password=PASSWORD, temporary=True)

    with pytest.raises(SignInRefused) as refused:
        await password_grant(oidc_provider, person.employee_number, PASSWORD)
    assert refused.value.error == "invalid_grant"
    assert "not fully set up" in refused.value.description


async def test_a_person_who_left_gets_no_new_token_and_their_session_ends(
    oidc_provider: OidcProvider, accounts: StaffAccounts
):
    person = staff()
    await accounts.upsert(person, password=PASSWORD, temporary=False)
    tokens = await password_grant(oidc_provider, person.employee_number, PASSWORD)

    assert await accounts.disable(person.employee_number) is True

    with pytest.raises(SignInRefused) as refused:
        await password_grant(oidc_provider, person.employee_number, PASSWORD)
    assert refused.value.error == "invalid_grant"
    refreshed = httpx.post(oidc_provider.token_url, timeout=30, data={
        "grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
        "client_id": oidc_provider.password_grant_client_id,
    })
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


async def test_a_person_cannot_change_their_own_person_id_or_name(
    oidc_provider: OidcProvider, accounts: StaffAccounts
):
    person = staff()
    await accounts.upsert(person, password=PASSWORD, temporary=False)
    token = (await password_grant(oidc_provider, person.employee_number, PASSWORD)).access_token
    account_api = f"{oidc_provider.issuer}/account/"
    auth = {"Authorization": f"Bearer {token}"}
    own = httpx.get(account_api, headers={**auth, "Accept": "application/json"}, timeout=30).json()

    forged = {**own, "firstName": "冒名", "attributes": {**own.get("attributes", {}), "person_id": ["p_someone_else"]}}
    answer = httpx.post(account_api, json=forged, headers=auth, timeout=30)

    assert answer.status_code == 400
    assert {e["field"] for e in answer.json()["errors"]} == {"firstName", "person_id"}
    found = await accounts.find(person.employee_number)
    assert found is not None
    assert found["attributes"]["person_id"] == [person.person_id]
    assert found["firstName"] == person.name


async def test_the_provisioning_client_manages_users_and_nothing_else(
    oidc_provider: OidcProvider, accounts: StaffAccounts
):
    token = await accounts.service_token()
    auth = {"Authorization": f"Bearer {token}"}

    users = httpx.get(f"{oidc_provider.admin_url}/users", headers=auth, timeout=30)
    clients = httpx.get(f"{oidc_provider.admin_url}/clients", headers=auth, timeout=30)
    other_realm = httpx.get(f"{oidc_provider.base_url}/admin/realms/master/users", headers=auth, timeout=30)

    assert users.status_code == 200
    assert clients.status_code == 403
    assert other_realm.status_code == 403
