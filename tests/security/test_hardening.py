"""The security review's hardening, each item as the attack it stops (issue 15): a weak or
revoked bootstrap key, odd paths after /api/<service>, anonymous /metrics, a flood of
outlet applications, and the signed-in staff of a suspended store."""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway.settings import GatewaySettings
from services.common.clock import ManualClock
from services.common.events.catalogue import network as network_events
from services.common.events.envelope import CloudEvent
from services.network.keys.service import BOOTSTRAP_REPLACED
from services.network.main import spec as network_spec
from services.network.settings import NetworkSettings
from tests.gateway import fakes
from tests.gateway.provider import local_provider
from tests.gateway.servers import serve
from tests.network.conftest import network_service, network_settings
from tests.network.factories import T0, application_body
from tests.support.events import envelope_for
from tests.support.platform import Caller, eventually

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# -- 1. PLATFORM_BOOTSTRAP_KEY: long and random, and a revoked one stays revoked ----------

WEAK_BOOTSTRAP_KEYS = {
    "short": "ak_" + secrets.token_urlsafe(16)[:20],
    "one character repeated": "a" * 48,
    "a short block repeated": "ak_Xk29fLq0" * 5,
    "a run of consecutive characters": "abcdefghijklmnopqrstuvwxyz0123456789",
    "a template's placeholder": "ak_change-me-" + secrets.token_urlsafe(24),
    "the development identity secret": "dev-only-identity-secret-change-me",
}
STRONG_BOOTSTRAP_KEYS = {
    "make run's and the tests'": lambda: "ak_" + secrets.token_urlsafe(32),
    "openssl rand -hex 32": lambda: secrets.token_hex(32),
    "the gateway bench's": lambda: "ak_" + uuid.uuid4().hex,
}


@pytest.mark.parametrize("weak", list(WEAK_BOOTSTRAP_KEYS), ids=list(WEAK_BOOTSTRAP_KEYS))
def test_network_and_the_gateway_refuse_a_weak_bootstrap_key_without_printing_it(weak):
    value = WEAK_BOOTSTRAP_KEYS[weak]
    for settings in (NetworkSettings, GatewaySettings):
        with pytest.raises(ValidationError) as refused:
            settings(bootstrap_key=value)
        message = str(refused.value)
        assert "PLATFORM_BOOTSTRAP_KEY" in message and "must be long and random" in message
        assert value not in message


@pytest.mark.parametrize("make", list(STRONG_BOOTSTRAP_KEYS), ids=list(STRONG_BOOTSTRAP_KEYS))
def test_random_bootstrap_keys_are_taken(make):
    for _ in range(200):
        value = STRONG_BOOTSTRAP_KEYS[make]()
        assert NetworkSettings(bootstrap_key=value).bootstrap_key.get_secret_value() == value
        assert GatewaySettings(bootstrap_key=value).bootstrap_key.get_secret_value() == value


@pytest.mark.parametrize("command", [["-m", "gateway"], ["-m", "services.network", "api"]], ids=["gateway", "network"])
def test_the_processes_do_not_start_with_a_weak_bootstrap_key(command):
    weak = "ak_" + "0123456789" * 4
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "NETWORK_"))}
    env.update(PLATFORM_BOOTSTRAP_KEY=weak, LOG_LEVEL="WARNING",
               # Nothing listens there: a process that got past its settings would fail later, not here.
               NETWORK_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:9/none", GATEWAY_PORT="9")
    started = subprocess.run([sys.executable, *command], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=60)
    assert started.returncode != 0
    assert "PLATFORM_BOOTSTRAP_KEY" in started.stderr and "must be long and random" in started.stderr
    assert weak not in started.stderr + started.stdout


def _gateway_caller(client) -> Caller:
    return Caller(client, "system", principal_id="gateway")


async def _introspect(client, token: str) -> dict:
    response = await _gateway_caller(client).post("/v1/internal/introspect", json={"key": token})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def network_db(migrated_database) -> str:
    return migrated_database(network_spec.migrations_dir, "network")


async def test_a_revoked_bootstrap_key_stays_revoked_across_restarts(network_db):
    clock = ManualClock(T0)
    first = "ak_" + secrets.token_urlsafe(32)
    settings = network_settings(network_db, bootstrap_key=first)
    async with network_service(settings, clock) as client:
        seen = await _introspect(client, first)
        assert (seen["active"], seen["role"]) == (True, "hq_admin")
        hq = Caller(client, "hq_admin", principal_id="person-hq-1", name="周敏", credential="key:k-hq-1")
        revoked = await hq.delete(f"/v1/api-keys/{seen['id']}")
        assert revoked.status_code == 200, revoked.text
    for _ in range(2):  # restarted with the same value, twice: it is not revived
        async with network_service(settings, clock) as client:
            seen = await _introspect(client, first)
            assert (seen["active"], seen["reason"]) == (False, "revoked")

    second = "ak_" + secrets.token_urlsafe(32)
    async with network_service(network_settings(network_db, bootstrap_key=second), clock) as client:
        assert (await _introspect(client, second))["active"] is True
        assert (await _introspect(client, first))["active"] is False
    # Back to the revoked value: still refused, and the new key keeps working.
    async with network_service(settings, clock) as client:
        assert (await _introspect(client, first))["reason"] == "revoked"
        assert (await _introspect(client, second))["active"] is True


async def test_a_new_bootstrap_value_revokes_the_old_key_for_the_record(network_db):
    clock = ManualClock(T0)
    first, second = ("ak_" + secrets.token_urlsafe(32) for _ in range(2))
    async with network_service(network_settings(network_db, bootstrap_key=first), clock) as client:
        old = await _introspect(client, first)
    async with network_service(network_settings(network_db, bootstrap_key=second), clock) as client:
        assert (await _introspect(client, first))["reason"] == "revoked"
        new = await _introspect(client, second)
        assert new["active"] is True and new["id"] != old["id"]
        hq = Caller(client, "hq_admin", principal_id="person-hq-1")
        kept = (await hq.get(f"/v1/api-keys/{old['id']}")).json()
        assert kept["revoked_reason"] == BOOTSTRAP_REPLACED
        assert kept["revoked_by"]["person_id"] == "platform"


# -- 2. Odd paths after /api/<service>: 404 at the gateway, never a 500, never upstream ----

ODD_PATHS = [
    b"/api/reception%2Fv1/appointments",          # an encoded slash right after the service: the host's port
    b"/api/reception%2fv1/appointments",
    b"/api/reception%5Cv1/appointments",
    b"/api/reception%5cv1/appointments",
    b"/api/reception%2F%2Fevil.example/v1/x",
    b"/api/reception/v1/appointments%2F..%2F..%2Finternal",
    b"/api/reception/v1/appointments%2fx",
    b"/api/reception/v1/appointments%5cx",
    b"/api/reception/v1/repair-orders/ro%2F1/lines",
    b"/api/reception/v1/appointments/%252F",      # encoded twice
    b"/api/reception/v1/appointments/%25",
    b"/api/reception/v1/appointments/%zz",        # not an encoding at all
    b"/api/reception/v1/appointments/%2",
    b"/api/reception/v1/../v1/appointments",
    b"/api/reception/v1/./appointments",
    b"/api/reception/v1/appointments/..",
    b"/api/reception/v1/appointments/%2e%2e/x",
    b"/api/reception/v1/appointments/%2E",
    b"/api/reception/v1/appointments/.%2e",
    b"/api/reception/v1//appointments",
    b"/api/reception//v1/appointments",
    b"/api/reception/v1/appointments//",
    b"/api/reception/v1/appointments\\..\\x",
    b"/api/reception\\v1/appointments",
    b"/api/%72eception/v1/appointments",          # the service name encoded
    b"/api/reception@evil.example/v1/appointments",
    b"/api/reception:1/v1/appointments",
    b"/api/network%40evil.example%2Fv1/stores",
    b"/api/reception/v1/appointments/%00",
    b"/api/reception/v1/appointments/%0d%0aX-Injected:%201",
    b"/api/reception/v1/internal/introspect",
    b"/api/reception/v1%2Finternal/introspect",
    b"/api/reception/internal",
    b"/api/reception/",
    b"/api/reception/healthz",
    b"/api/reception/metrics",
    b"/api/unknown/v1/x",
    b"/api//v1/x",
]


async def _raw_request(port: int, target: bytes, key: str) -> tuple[int, dict[str, str], bytes]:
    """One request with exactly this target on the wire, as no well-behaved client sends it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: gateway.test\r\nAuthorization: Bearer "
                     + key.encode() + b"\r\nConnection: close\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


async def test_odd_paths_after_the_service_are_404_problems_that_reach_no_service():
    async with fakes.gateway() as rig:
        key = rig.key("hq_admin")
        async with serve(rig.app) as url:
            port = int(url.rsplit(":", 1)[1])
            # A plain path goes through, so the refusals below are about the paths.
            status, _, body = await _raw_request(port, b"/api/reception/v1/appointments/a%20b", key)
            assert status == 200 and json.loads(body)["raw_path"] == "/v1/appointments/a%20b"
            before = len(rig.services.calls)
            wrong = []
            for target in ODD_PATHS:
                status, headers, body = await _raw_request(port, target, key)
                if (status, headers.get("content-type")) != (404, "application/problem+json"):
                    wrong.append(f"{target!r}: {status} {body[:120]!r}")
                elif json.loads(body)["status"] != 404:
                    wrong.append(f"{target!r}: {body[:120]!r}")
            assert not wrong, "\n".join(wrong)
            assert rig.services.calls[before:] == []


async def test_odd_paths_are_refused_through_httpx_and_from_a_browser_origin_too():
    async with fakes.gateway() as rig:
        key = rig.key("hq_admin")
        sent = 0
        for target in ODD_PATHS:
            url = httpx.URL("http://gateway.test" + target.decode())
            if url.raw_path != target:
                continue  # httpx resolves dot segments and encodes backslashes: the raw test sends those
            sent += 1
            for headers in ({}, {"Origin": "https://store.example"}):
                response = await rig.client.get(url, headers={**rig.bearer(key), **headers})
                assert response.status_code == 404, (target, headers, response.text)
                assert response.headers["content-type"] == "application/problem+json"
        assert sent > len(ODD_PATHS) // 2
        assert rig.services.service_calls("reception") == []


# -- 3. /metrics only with the metrics credential, at the gateway and at every service ---------

def _refused_metrics(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text[:200]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert "# HELP" not in response.text
    return response.json()["detail"]


async def test_the_gateways_metrics_need_the_metrics_token():
    async with fakes.gateway() as rig:
        hq_key = rig.key("hq_admin")
        assert "PLATFORM_METRICS_TOKEN" in _refused_metrics(await rig.client.get("/metrics"))
        for credential in (hq_key, "mt_wrong" + fakes.METRICS_TOKEN[8:], fakes.METRICS_TOKEN[:-1], ""):
            _refused_metrics(await rig.client.get("/metrics", headers=rig.bearer(credential)))
        _refused_metrics(await rig.client.get("/metrics", headers={"Authorization": fakes.METRICS_TOKEN}))
        _refused_metrics(await rig.client.get("/metrics", headers={"Origin": "https://store.example"}))
        scraped = await rig.client.get("/metrics", headers=rig.bearer(fakes.METRICS_TOKEN))
        assert scraped.status_code == 200 and "gateway_requests_total" in scraped.text
        assert (await rig.client.get("/api/network/metrics", headers=rig.bearer(hq_key))).status_code == 404
    async with fakes.gateway(metrics_token=None) as rig:
        detail = _refused_metrics(await rig.client.get("/metrics", headers=rig.bearer(fakes.METRICS_TOKEN)))
        assert "not set" in detail


async def test_each_services_metrics_need_the_metrics_token(network_db):
    clock = ManualClock(T0)
    async with network_service(network_settings(network_db, metrics_token=fakes.METRICS_TOKEN), clock) as client:
        _refused_metrics(await client.get("/metrics"))
        # The gateway's signed identity is no metrics credential either.
        _refused_metrics(await _gateway_caller(client).get("/metrics"))
        _refused_metrics(await client.get("/metrics", headers={"Authorization": "Bearer nope"}))
        scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {fakes.METRICS_TOKEN}"})
        assert scraped.status_code == 200 and "# HELP" in scraped.text
    async with network_service(network_settings(network_db), clock) as client:
        _refused_metrics(await client.get("/metrics", headers={"Authorization": f"Bearer {fakes.METRICS_TOKEN}"}))


def test_a_weak_metrics_token_is_refused():
    for settings in (NetworkSettings, GatewaySettings):
        with pytest.raises(ValidationError, match="PLATFORM_METRICS_TOKEN"):
            settings(metrics_token="metrics")


# -- 5. A suspended store's signed-in people are refused at the gateway, for that store only --

class FakeStores:
    """network's GET /v1/stores/{id} in the stand-in network: each store's status, and how
    often the gateway asked."""

    def __init__(self, rig: fakes.Rig) -> None:
        self.status: dict[str, str] = {}
        self.asked = 0
        rig.network.app.router.routes.insert(0, Route("/v1/stores/{store_id}", self._store, methods=["GET"]))

    async def _store(self, request: Request) -> Response:
        self.asked += 1
        store_id = request.path_params["store_id"]
        if store_id not in self.status:
            return JSONResponse({"status": 404, "detail": "store not found"}, status_code=404)
        return JSONResponse({"id": store_id, "status": self.status[store_id]})


def _store_event(kind: str, store_id: str) -> CloudEvent:
    now = datetime.now(UTC)
    store = dict(store_id=store_id, code="SH-PD-01", name="浦东店", kind="dealer_store", status=kind)
    event = (network_events.StoreSuspended(**store, reason="failed audit", suspended_at=now)
             if kind == "suspended" else network_events.StoreActivated(**store, activated_at=now))
    return envelope_for(event, subject=store_id, store_id=store_id)


async def _as(rig: fakes.Rig, token: str, store: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", **({"X-Store-Id": store} if store else {})}
    return await rig.client.get("/api/reception/v1/appointments", headers=headers)


def _refused_for_suspension(response: httpx.Response, store_id: str) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert "suspended" in body["detail"] and body["store_id"] == store_id


async def test_a_suspended_stores_signed_in_people_are_refused_at_once_and_only_for_that_store():
    async with local_provider() as idp, fakes.gateway(oidc_issuer=idp.issuer) as rig:
        stores = FakeStores(rig)
        stores.status.update({"store-a": "active", "store-b": "active"})
        rig.network.add_person("p-wang", "王芳", {"store-a": "service_advisor"})
        rig.network.add_person("p-li", "李强", {"store-a": "service_advisor", "store-b": "store_manager"})
        rig.network.add_person("p-zhou", "周敏", {}, hq_role="hq_admin")
        wang, li, zhou = idp.token("p-wang"), idp.token("p-li"), idp.token("p-zhou")
        assert (await _as(rig, wang)).status_code == 200
        assert (await _as(rig, li, "store-a")).status_code == 200
        assert (await _as(rig, li, "store-b")).status_code == 200

        # network suspends store A and says so on its topic; the gateway's cache says active still.
        stores.status["store-a"] = "suspended"
        rig.app.state.feed.apply(_store_event("suspended", "store-a"))
        _refused_for_suspension(await _as(rig, wang), "store-a")
        _refused_for_suspension(await _as(rig, li, "store-a"), "store-a")
        assert (await _as(rig, li, "store-b")).status_code == 200
        assert (await _as(rig, zhou)).status_code == 200  # HQ acts for no store
        assert [c.path for c in rig.services.service_calls("reception")].count("/v1/appointments") == 5

        stores.status["store-a"] = "active"
        rig.app.state.feed.apply(_store_event("active", "store-a"))
        assert (await _as(rig, wang)).status_code == 200


async def test_a_store_suspended_before_the_gateway_heard_of_it_is_refused_and_without_the_feed_within_seconds():
    async with local_provider() as idp, fakes.gateway(oidc_issuer=idp.issuer) as rig:
        stores = FakeStores(rig)
        stores.status.update({"store-a": "suspended", "store-b": "active"})
        rig.network.add_person("p-wang", "王芳", {"store-a": "service_advisor"})
        rig.network.add_person("p-chen", "陈静", {"store-b": "service_advisor"})
        _refused_for_suspension(await _as(rig, idp.token("p-wang")), "store-a")
        chen = idp.token("p-chen")
        assert (await _as(rig, chen)).status_code == 200
        assert stores.asked == 2
        assert (await _as(rig, chen)).status_code == 200
        assert stores.asked == 2  # cached

        # No event feed here (key_events off): the state is asked again after the short TTL.
        stores.status["store-b"] = "suspended"
        started = time.monotonic()

        async def refused() -> bool:
            return (await _as(rig, chen)).status_code == 403

        await eventually(refused, timeout=5, message="a suspended store's person still served after 5 s")
        assert time.monotonic() - started < 5
        _refused_for_suspension(await _as(rig, chen), "store-b")


async def test_a_suspended_stores_keys_issued_to_people_are_refused_and_hq_keys_are_not():
    async with fakes.gateway() as rig:
        store_key = rig.key("service_advisor", "store-a")
        hq_key = rig.key("hq_admin")
        url = "/api/reception/v1/appointments"
        assert (await rig.client.get(url, headers=rig.bearer(store_key))).status_code == 200
        rig.network.keys[store_key].update(active=False, reason="store suspended", store_status="suspended")
        rig.app.state.feed.apply(_store_event("suspended", "store-a"))
        refused = await rig.client.get(url, headers=rig.bearer(store_key))
        assert refused.status_code == 403 and "suspended" in refused.json()["detail"]
        assert (await rig.client.get(url, headers=rig.bearer(hq_key))).status_code == 200


# -- 4. The public application form: limited per client address and per applicant ------------

def _applicant(client, address: str) -> Caller:
    # What the gateway signs for a caller without a key.
    return Caller(client, "anonymous", principal_id=f"anon:{address}")


async def test_one_applicant_from_many_addresses_is_limited_per_licence_and_others_are_still_served(network_db):
    clock = ManualClock(T0)
    settings = network_settings(network_db, application_licence_limit=3, application_licence_window_seconds=86400)
    async with network_service(settings, clock) as client:
        hq = Caller(client, "hq_admin", principal_id="person-hq-1")
        licence = f"91320583MA{secrets.token_hex(4).upper()}"
        first = await _applicant(client, "198.51.100.1").post("/v1/outlet-applications",
                                                                json=application_body(license_no=licence))
        assert first.status_code == 201, first.text
        rejected = await hq.post(f"/v1/outlet-applications/{first.json()['id']}/review",
                                 json={"decision": "reject", "reason": "no repair qualification"})
        assert rejected.status_code == 200
        # Resubmitted from one new address after another, the licence written three ways.
        spellings = [licence, licence.lower(), licence[:6] + "-" + licence[6:]]
        answers = [await _applicant(client, f"198.51.100.{10 + i}").post(
            "/v1/outlet-applications", json=application_body(license_no=spellings[i % 3])) for i in range(4)]
        assert {a.status_code for a in answers[:2]} <= {201, 409}  # taken by the limit (409: one is open)
        for limited in answers[2:]:
            assert limited.status_code == 429, limited.text
            assert limited.headers["content-type"].startswith("application/problem+json")
            assert limited.json()["limit"] == "licence" and "licence" in limited.json()["detail"]
            assert 1 <= int(limited.headers["Retry-After"]) <= 86400
        # Another applicant, from the noisy applicant's own address too, is served.
        other = await _applicant(client, "198.51.100.12").post("/v1/outlet-applications", json=application_body())
        assert other.status_code == 201, other.text
        clock.advance(timedelta(days=1, seconds=1))
        again = await _applicant(client, "198.51.100.40").post("/v1/outlet-applications",
                                                                 json=application_body(license_no=licence))
        assert again.status_code in (201, 409)  # counted afresh: no longer 429


async def test_an_ipv6_client_counts_by_its_64_at_network_and_at_the_gateway(network_db):
    clock = ManualClock(T0)
    settings = network_settings(network_db, application_rate_limit=2, application_rate_window_seconds=3600)
    async with network_service(settings, clock) as client:
        for host in ("1", "2"):
            response = await _applicant(client, f"2001:db8:7:1::{host}").post("/v1/outlet-applications",
                                                                               json=application_body())
            assert response.status_code == 201, response.text
        limited = await _applicant(client, "2001:db8:7:1:beef::99").post("/v1/outlet-applications",
                                                                           json=application_body())
        assert limited.status_code == 429 and limited.json()["limit"] == "address"
        assert (await _applicant(client, "2001:db8:7:2::1").post("/v1/outlet-applications",
                                                                   json=application_body())).status_code == 201

    async with fakes.gateway(rate_limit_public_per_minute=0.01, rate_limit_public_burst=2) as rig:
        async def submit(address: str) -> httpx.Response:
            transport = httpx.ASGITransport(app=rig.app, client=(address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as caller:
                return await caller.post("/api/network/v1/outlet-applications", json={})

        assert [(await submit(f"2001:db8:9:1::{i}")).status_code for i in range(1, 3)] == [200, 200]
        limited = await submit("2001:db8:9:1:ffff:ffff:ffff:ffff")
        assert limited.status_code == 429 and limited.headers["retry-after"]
        assert (await submit("2001:db8:9:2::1")).status_code == 200
        assert (await submit("203.0.113.99")).status_code == 200


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy():
    """The gateway runs behind uvicorn's proxy-headers middleware only with
    GATEWAY_FORWARDED_ALLOW_IPS set (gateway/__main__.py): a client cannot pick its address."""
    async with fakes.gateway(rate_limit_public_per_minute=0.01, rate_limit_public_burst=1) as rig:
        behind = ProxyHeadersMiddleware(rig.app, trusted_hosts="10.0.0.5")

        async def submit(client_address: str, forwarded_for: str) -> httpx.Response:
            transport = httpx.ASGITransport(app=behind, client=(client_address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as caller:
                return await caller.post("/api/network/v1/outlet-applications", json={},
                                         headers={"X-Forwarded-For": forwarded_for})

        # A client that is no trusted proxy: each made-up X-Forwarded-For is still its own address.
        assert (await submit("203.0.113.50", "192.0.2.1")).status_code == 200
        assert (await submit("203.0.113.50", "192.0.2.2")).status_code == 429
        assert (await submit("203.0.113.50", "192.0.2.3")).status_code == 429
        # Through the trusted proxy, each client is counted as itself.
        assert (await submit("10.0.0.5", "192.0.2.1")).status_code == 200
        assert (await submit("10.0.0.5", "192.0.2.2")).status_code == 200
        assert (await submit("10.0.0.5", "192.0.2.1")).status_code == 429
        forwarded = rig.services.service_calls("network")
        assert len(forwarded) == 3
