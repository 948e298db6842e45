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
import uuid

import httpx
import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings
from services.common.clock import ManualClock
from services.network.keys.service import BOOTSTRAP_REPLACED
from services.network.main import spec as network_spec
from services.network.settings import NetworkSettings
from tests.gateway import fakes
from tests.gateway.servers import serve
from tests.network.conftest import network_service, network_settings
from tests.network.factories import T0
from tests.support.platform import Caller

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
