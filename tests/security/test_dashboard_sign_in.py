"""The HQ dashboard's sign-in through the group's provider, in headless Chromium against the real
platform and a real Keycloak: staff registered in the directory get a one-time password from HQ,
click "使用集团账号登录" on /dashboard, sign in on Keycloak's own login page (choosing their
password there), come back signed in (authorization code with PKCE S256, the public client, no
secret) and see the KPI figures the API gives them; a store manager sees their own store only.
The access token is renewed with the refresh token before it runs out, signing out ends
Keycloak's session too, and an answer whose state was tampered with is refused."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from deploy.oidc.keycloak import OidcProvider, allow_dashboard
from services.network.people.accounts import StaffAccounts
from tests.security.flows import deliver_repair_order, open_store
from tests.security.helpers import new_store, until
from tests.security.test_dashboard_browser import ARGS, ARTIFACTS, CHROMIUM, cell
from tests.support.processes import Platform, PostgresDatabases

# Keycloak's first start in a session (the `oidc_provider` fixture): 20 s on a quiet machine, minutes on a busy one.
pytestmark = pytest.mark.timeout(900)

CHOSEN_PASSWORD = "chosen-in-the-browser-42"


@pytest.fixture(scope="module")
def signing_platform(kafka_bootstrap, pg_admin_url, tmp_path_factory,
                     oidc_provider: OidcProvider) -> Iterator[Platform]:
    """Every service and a gateway that trusts the provider; its dashboard allowed on the provider's client."""
    databases = PostgresDatabases(pg_admin_url)
    try:
        with Platform(tmp_path_factory.mktemp("dashboard-sign-in"), kafka_bootstrap=kafka_bootstrap,
                      database_url=databases, oidc=oidc_provider) as running:
            assert running.gateway is not None
            allow_dashboard(oidc_provider, running.gateway.url + "/dashboard")
            yield running
    finally:
        databases.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def gateway_of(platform: Platform) -> str:
    assert platform.gateway is not None
    return platform.gateway.url


@dataclass(frozen=True)
class Staff:
    person: dict
    username: str
    one_time_password: str


def register(platform: Platform, provider: OidcProvider, name: str, **roles) -> Staff:
    """A person in the directory, made by HQ with its key, their account provisioned by network's
    worker, and the one-time password HQ then has network issue them."""
    employee_no = f"E{uuid.uuid4().hex[:8].upper()}"
    with platform.api(platform.bootstrap_key, timeout=30) as hq:
        person = until(lambda: _created(hq.post("/api/network/v1/people", json={
            "name": name, "phone": "13800138000", "employee_no": employee_no, **roles})), 30,
            "the directory never took the person")
        # Issued after the worker's provisioning, as HR would: not racing the account's creation.
        with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this one
            until(lambda: thread.submit(asyncio.run, _provisioned(provider, employee_no, person["id"])).result(), 60,
                  "network never provisioned the account")
        issued = hq.post(f"/api/network/v1/people/{person['id']}/sign-in")
        assert issued.status_code == 201, issued.text
    return Staff(person, issued.json()["username"], issued.json()["temporary_password"])


async def _provisioned(provider: OidcProvider, employee_no: str, person_id: str) -> bool:
    async with StaffAccounts(provider.admin) as accounts:
        user = await accounts.find(employee_no)
    return user is not None and user.get("attributes", {}).get("person_id") == [person_id]


def _created(response: httpx.Response) -> dict | None:
    # 422 while network has not yet heard of a store just made; anything else is final.
    if response.status_code == 422 and "store" in response.text:
        return None
    assert response.status_code == 201, response.text
    return response.json()


class Traffic:
    """What the page sent: to the provider's endpoints and to the gateway's API."""

    def __init__(self, page: Page, platform: Platform, provider: OidcProvider) -> None:
        self.gateway = gateway_of(platform)
        self.provider = provider
        self.authorize: list[str] = []
        self.token_calls: list[Request] = []
        self.api_bearers: list[str] = []
        self.errors: list[str] = []
        page.on("request", self._seen)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _seen(self, request: Request) -> None:
        if request.url.startswith(f"{self.provider.issuer}/protocol/openid-connect/auth"):
            self.authorize.append(request.url)
        elif request.url == self.provider.token_url:
            self.token_calls.append(request)
        elif request.url.startswith(self.gateway + "/api/"):
            self.api_bearers.append(request.headers.get("authorization", ""))

    def token_forms(self) -> list[dict[str, str]]:
        return [{k: v[0] for k, v in parse_qs(call.post_data or "").items()} for call in self.token_calls]


def sign_in_on_keycloak(page: Page, provider: OidcProvider, staff: Staff) -> None:
    """On Keycloak's own pages: the login form, then the form that replaces the one-time password."""
    page.wait_for_url(f"{provider.issuer}/**", timeout=30000)
    page.fill("#username", staff.username)
    page.fill("#password", staff.one_time_password)
    page.click("#kc-login")
    try:
        page.wait_for_selector("#password-new", timeout=30000)
    except PlaywrightTimeout:
        shown = page.inner_text("body")[:800]
        raise AssertionError(f"Keycloak asked for no new password: {page.url}\n{shown}") from None
    page.fill("#password-new", CHOSEN_PASSWORD)
    page.fill("#password-confirm", CHOSEN_PASSWORD)
    page.click("[type=submit]")


def storage(page: Page, which: str) -> dict[str, str]:
    return page.evaluate(f"() => Object.fromEntries(Object.entries({which}))")


def test_an_hq_person_signs_in_on_keycloaks_page_sees_the_api_figures_and_signs_out(
        signing_platform: Platform, oidc_provider: OidcProvider, browser: Browser):
    platform, gateway = signing_platform, gateway_of(signing_platform)
    with platform.api(platform.bootstrap_key) as hq:
        store, another = new_store(hq), new_store(hq)
    analyst = register(platform, oidc_provider, "赵敏", hq_role="hq_analyst")

    page = browser.new_page()
    # The page's own timers on a clock the test can move: the renewal is due minutes after sign-in.
    page.clock.install()
    traffic = Traffic(page, platform, oidc_provider)
    page.goto(gateway + "/dashboard")
    expect(page.locator("#sign-in")).to_have_text("使用集团账号登录 Sign in with your group account")
    page.click("#sign-in")
    sign_in_on_keycloak(page, oidc_provider, analyst)
    expect(page.locator("body")).to_have_attribute("data-sign-in", "account", timeout=30000)
    page.wait_for_selector(f'#store-kpis tr[data-store="{store["id"]}"]', timeout=30000)
    expect(page.locator("body")).to_have_attribute("data-live", "on", timeout=30000)

    # The authorization request: the public client, code flow, PKCE S256, state and nonce, back to /dashboard.
    assert page.url == gateway + "/dashboard"  # the code is gone from the address bar
    asked = {k: v[0] for k, v in parse_qs(urlsplit(traffic.authorize[0]).query).items()}
    assert (asked["client_id"], asked["response_type"], asked["code_challenge_method"], asked["redirect_uri"]) == (
        "hq-dashboard", "code", "S256", gateway + "/dashboard")
    assert len(asked["state"]) >= 43 and len(asked["nonce"]) >= 43 and asked["state"] != asked["nonce"]
    # The code is exchanged by the page itself, with the verifier behind the challenge and no secret.
    exchange = traffic.token_forms()[0]
    assert exchange["grant_type"] == "authorization_code" and "client_secret" not in exchange
    assert exchange["client_id"] == "hq-dashboard" and exchange["redirect_uri"] == gateway + "/dashboard"
    digest = hashlib.sha256(exchange["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == asked["code_challenge"]
    assert traffic.token_calls[0].headers.get("authorization") is None

    # Signed in as the person: their name, and their access token (no key) on every API call.
    assert "赵敏" in page.locator("#who").inner_text()
    kept = json.loads(storage(page, "sessionStorage")["aftersales.dashboard.session"])
    assert set(storage(page, "sessionStorage")) == {"aftersales.dashboard.session"}
    assert storage(page, "localStorage") == {} and page.context.cookies(gateway) == []
    token = kept["access_token"]
    assert traffic.api_bearers and set(traffic.api_bearers) == {f"Bearer {token}"}
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["person_id"] == analyst.person["id"] and "aftersales-api" in claims["aud"]

    # The figures on the page are the API's, as this person is given them.
    with platform.api(token) as me:
        report = me.get("/api/network/v1/kpis").json()
    ours = next(s for s in report["stores"] if s["store_id"] == store["id"])
    tile = page.locator('#network-totals .tile[data-kpi="repair_orders_opened"] .value')
    assert tile.inner_text() == f"{report['network']['repair_orders_opened']:,}"
    assert cell(page, store["id"], "repair_orders_opened") == f"{ours['repair_orders_opened']:,}"
    assert another["id"] in {s["store_id"] for s in report["stores"]}  # HQ sees every store
    assert page.locator("#store-kpis tbody tr").count() == len(report["stores"])

    # Before the 5-minute token runs out, the refresh token brings a new one, which the page then uses.
    with page.expect_response(lambda r: r.url == oidc_provider.token_url
                              and "grant_type=refresh_token" in (r.request.post_data or ""), timeout=30000) as answer:
        page.clock.fast_forward("04:00")
    assert answer.value.status == 200
    renewed = until(lambda: (kept := json.loads(storage(page, "sessionStorage")["aftersales.dashboard.session"]))
                    ["access_token"] != token and kept, 10, "the page never kept the renewed token")
    expect(page.locator("body")).to_have_attribute("data-sign-in", "account")
    traffic.api_bearers.clear()
    with page.expect_response(lambda r: r.url.startswith(gateway + "/api/network/v1/kpis") and r.status == 200):
        page.click("#refresh")
    assert traffic.api_bearers and set(traffic.api_bearers) == {f"Bearer {renewed['access_token']}"}

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-signed-in.png"), full_page=True)

    # Signing out forgets the tokens and ends Keycloak's session: signing in again asks for the password.
    page.click("#signout")
    page.wait_for_url(gateway + "/dashboard", timeout=30000)
    expect(page.locator("#sign-in-note")).to_have_text("您已退出。You have signed out.", timeout=30000)
    assert storage(page, "sessionStorage") == {}
    expect(page.locator("#board")).to_be_hidden()
    page.click("#sign-in")
    page.wait_for_url(f"{oidc_provider.issuer}/**", timeout=30000)
    expect(page.locator("#password")).to_be_visible()
    assert not traffic.errors, traffic.errors


def test_a_store_manager_signs_in_and_sees_their_own_store_only(
        signing_platform: Platform, oidc_provider: OidcProvider, browser: Browser):
    platform, gateway = signing_platform, gateway_of(signing_platform)
    staff = open_store(platform)
    deliver_repair_order(platform, staff)
    with platform.api(platform.bootstrap_key) as hq:
        other = new_store(hq)
    manager = register(platform, oidc_provider, "孙丽", assignments=[{"store_id": staff.id, "role": "store_manager"}])

    page = browser.new_page()
    traffic = Traffic(page, platform, oidc_provider)
    page.goto(gateway + "/dashboard")
    page.click("#sign-in")
    sign_in_on_keycloak(page, oidc_provider, manager)
    page.wait_for_selector(f'#store-kpis tr[data-store="{staff.id}"]', timeout=30000)

    with platform.api(platform.bootstrap_key) as hq:
        mine = hq.get("/api/network/v1/kpis", params={"store_id": staff.id}).json()["stores"][0]
    assert mine["repair_orders_delivered"] == 1
    rows = page.locator("#store-kpis tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-store") == staff.id
    assert page.locator(f'#store-kpis tr[data-store="{other["id"]}"]').count() == 0
    assert cell(page, staff.id, "repair_orders_delivered") == "1"
    assert cell(page, staff.id, "revenue_fen") == f"¥{mine['revenue_fen']['total'] / 100:,.2f}"
    assert "孙丽" in page.locator("#who").inner_text()
    assert not traffic.errors, traffic.errors


def test_an_answer_with_a_tampered_state_is_refused_and_its_code_never_spent(
        signing_platform: Platform, oidc_provider: OidcProvider, browser: Browser):
    gateway = gateway_of(signing_platform)
    staff = register(signing_platform, oidc_provider, "钱军", hq_role="hq_analyst")

    page = browser.new_page()
    traffic = Traffic(page, signing_platform, oidc_provider)
    page.goto(gateway + "/dashboard")
    page.click("#sign-in")
    page.wait_for_url(f"{oidc_provider.issuer}/**", timeout=30000)
    # The same request with another state, as an attacker's link would carry: Keycloak sends it back as given.
    state = parse_qs(urlsplit(traffic.authorize[0]).query)["state"][0]  # base64url: as it is in the query
    page.goto(traffic.authorize[0].replace(f"state={state}", f"state=forged{state[6:]}"))
    sign_in_on_keycloak(page, oidc_provider, staff)

    expect(page.locator("body")).to_have_attribute("data-sign-in", "refused", timeout=30000)
    expect(page.locator("#login-error")).to_contain_text("(state)")
    assert page.url == gateway + "/dashboard"
    assert traffic.token_calls == [] and traffic.api_bearers == []
    assert storage(page, "sessionStorage") == {}
    expect(page.locator("#board")).to_be_hidden()
    assert not traffic.errors, traffic.errors


def test_auth_config_is_in_the_merged_contract_and_answers_to_it(signing_platform: Platform,
                                                                 oidc_provider: OidcProvider):
    with signing_platform.api() as anyone:
        contract = anyone.get("/openapi.json").json()
        config = anyone.get("/auth/config")
    operation = contract["paths"]["/auth/config"]["get"]
    assert operation["security"] == [] and set(operation["responses"]) == {"200", "503"}
    schema = contract["components"]["schemas"]["AuthConfig"]
    assert config.status_code == 200 and set(config.json()) == set(schema["properties"]) == set(schema["required"])
    assert config.json()["client_id"] == oidc_provider.dashboard_client_id
