"""An advisor signs in through the group's provider and works as themselves, every process real:
HQ registers them in the staff directory with its key, network's worker provisions their account
to Keycloak and HQ has network issue them a one-time password; on Keycloak's own pages (read and
posted here as a browser would) they sign in with it, choose their own password and come back to
the dashboard's address with a code, which the dashboard's public client trades for tokens with
its PKCE verifier. With those they book a car in and check it in through the gateway, and the
appointment and the order name them as a person; later they sign in by the password grant (the
tests' client) with the password they chose. Then they leave, and the token they still hold is
refused within 5 s."""
from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jws

from deploy.oidc.keycloak import OidcProvider
from services.network.people.accounts import StaffAccounts
from tests.support.oidc import password_grant
from tests.support.processes import Platform, PostgresDatabases
from tools.client import Api, next_slot, until_known, wait_for

# Keycloak's first start (the `oidc_provider` fixture) takes 20 s on a quiet machine, minutes on a busy one.
pytestmark = pytest.mark.timeout(900)

CHOSEN_PASSWORD = "chosen-by-herself-42"
NAME = "王芳"
_FORM = re.compile(r'<form[^>]*\saction="([^"]+)"')


async def first_sign_in(provider: OidcProvider, username: str, one_time_password: str) -> str:
    """The dashboard's sign-in (authorization code with PKCE, public client) through Keycloak's
    login page and its "choose your password" page; the access token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = "http://127.0.0.1:8000/dashboard/signed-in"
    state = secrets.token_urlsafe(16)
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(f"{provider.issuer}/protocol/openid-connect/auth", params={
            "client_id": provider.dashboard_client_id, "response_type": "code", "scope": "openid",
            "redirect_uri": redirect_uri, "state": state, "code_challenge": challenge,
            "code_challenge_method": "S256"})
        page = await _within(provider, browser, await browser.post(
            _action(page), data={"username": username, "password": one_time_password}, headers=_cookies(browser)))
        assert 'name="password-new"' in page.text, "Keycloak did not ask for a new password"
        back = await _within(provider, browser, await browser.post(
            _action(page), data={"password-new": CHOSEN_PASSWORD, "password-confirm": CHOSEN_PASSWORD},
            headers=_cookies(browser)))
        assert back.status_code == 302, back.text[:500]
        location = urlsplit(back.headers["location"])
        query = parse_qs(location.query)
        assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri and query["state"] == [state]
        tokens = await browser.post(f"{provider.issuer}/protocol/openid-connect/token", data={
            "grant_type": "authorization_code", "client_id": provider.dashboard_client_id,
            "code": query["code"][0], "redirect_uri": redirect_uri, "code_verifier": verifier})
        assert tokens.status_code == 200, tokens.text
        return tokens.json()["access_token"]


async def _within(provider: OidcProvider, browser: httpx.AsyncClient, response: httpx.Response) -> httpx.Response:
    """Redirects among Keycloak's own pages followed; the first answer that is a page or leaves them."""
    while response.is_redirect and response.headers["location"].startswith(provider.base_url):
        response = await browser.get(response.headers["location"], headers=_cookies(browser))
    return response


def _cookies(browser: httpx.AsyncClient) -> dict[str, str]:
    # Keycloak marks its cookies Secure. A browser sends them to 127.0.0.1 over http (a
    # loopback origin counts as secure); the standard library's cookie jar under httpx does not.
    return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in browser.cookies.jar)}


def _action(page: httpx.Response) -> str:
    assert page.status_code == 200, page.text[:500]
    found = _FORM.search(page.text)
    assert found, page.text[:500]
    return html.unescape(found.group(1))


@pytest.fixture(scope="module")
def platform(kafka_bootstrap, pg_admin_url, tmp_path_factory, oidc_provider: OidcProvider):
    """All four services and a gateway that accepts the provider's tokens."""
    databases = PostgresDatabases(pg_admin_url)
    with Platform(tmp_path_factory.mktemp("e2e-sign-in"), kafka_bootstrap=kafka_bootstrap, database_url=databases,
                  oidc=oidc_provider) as running:
        yield running
    databases.close()


async def test_an_advisor_signs_in_books_and_checks_in_as_themselves_and_is_refused_once_gone(
        platform: Platform, oidc_provider: OidcProvider):
    async with httpx.AsyncClient(base_url=platform.gateway.url, timeout=30) as http:
        hq = Api(http, platform.bootstrap_key)
        code = f"SH-SI-{uuid.uuid4().hex[:4].upper()}"
        store = await hq.post("/api/network/v1/stores", {"code": code, "name": "Shanghai sign-in 4S store",
                                                         "kind": "dealer_store", "region": "East", "city": "Shanghai",
                                                         "timezone": "Asia/Shanghai"})
        employee_no = f"E{uuid.uuid4().hex[:8].upper()}"
        person = await until_known(lambda: hq.post("/api/network/v1/people", {
            "name": NAME, "phone": "13800138000", "employee_no": employee_no,
            "assignments": [{"store_id": store["id"], "role": "service_advisor"}]}))

        # Network's worker made the account from the registration's event.
        async with StaffAccounts(oidc_provider.admin) as accounts:
            async def provisioned() -> bool:
                user = await accounts.find(employee_no)
                return user is not None and user["attributes"].get("person_id") == [person["id"]]

            await wait_for(provisioned, timeout=60, what="the account provisioned by network")
        # A one-time password is answered once: no Idempotency-Key (network refuses one here).
        issued = await http.post(f"/api/network/v1/people/{person['id']}/sign-in",
                                 headers={"Authorization": f"Bearer {platform.bootstrap_key}"})
        assert issued.status_code == 201, issued.text
        assert issued.json()["username"] == employee_no

        token = await first_sign_in(oidc_provider, employee_no, issued.json()["temporary_password"])
        advisor = Api(http, token)

        vehicle = {"vin": "LSVAU2180N2000777", "plate": "沪A77777", "model": "Sedan 1.5T"}
        appointment = await until_known(lambda: advisor.post("/api/reception/v1/appointments", {
            "customer": {"name": "Li Wei", "phone": "13800000777"}, "vehicle": vehicle,
            "service_type": "maintenance", "scheduled_at": next_slot(3).isoformat()}))
        order = await advisor.post("/api/reception/v1/repair-orders", {
            "appointment_id": appointment["id"], "mileage_km": 20000, "complaint": "Periodic maintenance due",
            "inspection": {"fuel_level": "half", "exterior_damage": [], "warning_lights": [], "valuables": [],
                           "notes": ""}})

        # The sign-in they used: Keycloak's session, from the token's claims (read, not verified, here).
        claims = json.loads(jws.extract_compact(token.encode()).payload)
        me = {"id": person["id"], "person_id": person["id"], "name": NAME, "role": "service_advisor",
              "credential": f"token:{claims.get('sid') or claims['jti']}"}
        assert appointment["booked_by"] == me
        read = await advisor.get(f"/api/reception/v1/repair-orders/{order['id']}")
        assert read["store_id"] == store["id"]
        assert read["advisor"] == me
        assert [entry["by"] for entry in read["history"]] == [me] * len(read["history"]) and read["history"]

        # Another day: signed in with the password they chose (the tests' password-grant client).
        tokens = await password_grant(oidc_provider, employee_no, CHOSEN_PASSWORD)
        again = await Api(http, tokens.access_token).get(f"/api/reception/v1/repair-orders/{order['id']}")
        assert again["advisor"] == me

        started = time.monotonic()
        await hq.post(f"/api/network/v1/people/{person['id']}/leave", {"reason": "moved to another group"})

        async def refused() -> httpx.Response | None:
            response = await http.get("/api/reception/v1/appointments",
                                      headers={"Authorization": f"Bearer {tokens.access_token}"})
            return response if response.status_code == 401 else None

        gone = await wait_for(refused, timeout=5, what="the leaver's token refused")
        assert time.monotonic() - started < 5
        assert "left" in gone.json()["detail"]
