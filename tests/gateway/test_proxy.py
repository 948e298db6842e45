"""The gateway in this process against in-process stand-ins for the services: routing,
identity forwarding, the permission matrix, keys, limits and upstream failures."""
from __future__ import annotations

import json
import re

import httpx
from prometheus_client import REGISTRY

from services.common.errors import PROBLEM_JSON
from services.common.identity import IDENTITY_HEADERS
from tests.gateway.fakes import CLIENT_ADDRESS, METRICS_TOKEN, gateway


def retries(service: str) -> float:
    return REGISTRY.get_sample_value("gateway_upstream_retries_total", {"service": service}) or 0.0


def problem_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status and body["type"] and body["title"]
    return body


async def test_forwards_to_the_owning_service_with_path_query_and_body():
    async with gateway() as rig:
        key = rig.key("service_advisor", "store-a")
        response = await rig.client.post("/api/reception/v1/repair-orders/ro%E4%B8%801/lines?x=1&y=a%20b",
                                          content=b'{"a": 1}', headers={**rig.bearer(key), "Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        echo = response.json()
        assert echo["service"] == "reception"
        assert echo["raw_path"] == "/v1/repair-orders/ro%E4%B8%801/lines"
        assert echo["query"] == "x=1&y=a%20b"
        assert echo["body"] == '{"a": 1}'
        assert echo["headers"]["content-type"] == "application/json"
        assert response.headers["x-upstream"] == "reception"


async def test_signs_the_callers_identity_for_the_service():
    async with gateway() as rig:
        key = rig.key("store_manager", "store-a", name="上海浦东 经理", key_id="key-42")
        response = await rig.client.get("/api/crm/v1/complaints", headers=rig.bearer(key))
        principal = response.json()["principal"]
        # Principal id is the key id; a non-ASCII label travels percent-encoded, signed as
        # sent, and the service reads it as written.
        assert principal == {"id": "key-42", "role": "store_manager", "store_id": "store-a", "name": "上海浦东 经理"}
        assert response.json()["headers"]["x-principal-name"] == (
            "%E4%B8%8A%E6%B5%B7%E6%B5%A6%E4%B8%9C %E7%BB%8F%E7%90%86")


async def test_callers_cannot_vouch_for_themselves_or_leak_their_key_upstream():
    async with gateway() as rig:
        key = rig.key("technician", "store-a", key_id="key-tech")
        forged = {"X-Principal-Id": "boss", "X-Principal-Role": "hq_admin", "X-Principal-Store": "",
                  "X-Principal-Name": "boss", "X-Principal-Credential": "key:boss", "X-Identity-Timestamp": "1",
                  "X-Identity-Body-Digest": "00", "X-Identity-Nonce": "n-1", "X-Identity-Signature": "00",
                  "X-Principal-Extra": "x", "Cookie": "session=1"}
        response = await rig.client.get("/api/workshop/v1/jobs", headers={**rig.bearer(key), **forged})
        echo = response.json()
        assert echo["principal"]["id"] == "key-tech" and echo["principal"]["role"] == "technician"
        assert "authorization" not in echo["headers"]
        assert "cookie" not in echo["headers"]
        assert "x-principal-extra" not in echo["headers"]
        assert echo["headers"]["x-forwarded-for"] == CLIENT_ADDRESS
        for name in IDENTITY_HEADERS:
            assert echo["headers"][name.lower()] != forged[name]


async def test_request_id_is_made_when_absent_and_kept_when_given():
    async with gateway() as rig:
        key = rig.key("hq_analyst")
        made = await rig.client.get("/api/network/v1/stores", headers=rig.bearer(key))
        rid = made.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f-]{36}", rid)
        assert made.json()["headers"]["x-request-id"] == rid

        given = await rig.client.get("/api/network/v1/stores", headers={**rig.bearer(key), "X-Request-ID": "abc-123"})
        assert given.headers["x-request-id"] == "abc-123"
        assert given.json()["headers"]["x-request-id"] == "abc-123"

        # Something unusable as a log field is replaced, not passed on.
        odd = await rig.client.get("/api/network/v1/stores", headers={**rig.bearer(key), "X-Request-ID": "a b\"<>"})
        assert odd.headers["x-request-id"] != "a b\"<>"
        # Gateway errors carry one too.
        assert (await rig.client.get("/api/network/v1/stores")).headers["x-request-id"]


async def test_missing_malformed_and_unknown_keys_are_401():
    async with gateway() as rig:
        missing = await rig.client.get("/api/network/v1/stores")
        assert "API key" in problem_of(missing, 401)["detail"]
        assert missing.headers["www-authenticate"].startswith("Bearer")
        for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer a b c", "ak_without_scheme_0123456789",
                       "Bearer " + "x" * 500, "Bearer short"):
            problem_of(await rig.client.get("/api/network/v1/stores", headers={"Authorization": header}), 401)
        unknown = await rig.client.get("/api/network/v1/stores", headers={"Authorization": "Bearer ak_nobody_0123456789"})
        assert problem_of(unknown, 401)["detail"] == "unknown API key"
        assert not rig.services.service_calls("network")


async def test_revoked_key_is_401_and_suspended_store_is_403():
    async with gateway() as rig:
        rig.network.add_key("ak_revoked_0123456789", "k1", "service_advisor", "store-a", active=False, reason="revoked")
        rig.network.add_key("ak_suspended_0123456789", "k2", "service_advisor", "store-b", active=False,
                            reason="store suspended")
        revoked = await rig.client.get("/api/reception/v1/appointments", headers=rig.bearer("ak_revoked_0123456789"))
        assert problem_of(revoked, 401)["detail"] == "API key revoked"
        suspended = await rig.client.get("/api/reception/v1/appointments", headers=rig.bearer("ak_suspended_0123456789"))
        assert "suspended" in problem_of(suspended, 403)["detail"]
        assert not rig.services.service_calls("reception")


async def test_the_permission_matrix_is_enforced_before_the_service_is_called():
    async with gateway() as rig:
        technician = rig.key("technician", "store-a")
        denied = await rig.client.post("/api/crm/v1/complaints", json={}, headers=rig.bearer(technician))
        body = problem_of(denied, 403)
        assert body["area"] == "crm" and body["role"] == "technician"
        read_only = await rig.client.post("/api/workshop/v1/stock/adjustments", json={}, headers=rig.bearer(technician))
        assert problem_of(read_only, 403)["area"] == "workshop_parts"
        assert not rig.services.service_calls("crm") and not rig.services.service_calls("workshop")
        # Allowed: the technician reads parts and writes jobs.
        assert (await rig.client.get("/api/workshop/v1/stock", headers=rig.bearer(technician))).status_code == 200
        assert (await rig.client.post("/api/workshop/v1/jobs/j1/start", headers=rig.bearer(technician))).status_code == 200
        analyst = rig.key("hq_analyst")
        problem_of(await rig.client.delete("/api/network/v1/api-keys/k1", headers=rig.bearer(analyst)), 403)
        assert (await rig.client.get("/api/network/v1/kpis", headers=rig.bearer(analyst))).status_code == 200


async def test_routes_outside_the_public_api_are_404():
    async with gateway() as rig:
        key = rig.key("hq_admin")
        for path in ("/api/billing/v1/x", "/api/network/openapi.json", "/api/network/healthz",
                     "/api/network/v1/internal/introspect", "/api/workshop/v1/jobs/%2E%2E/parts",
                     "/api/workshop/v1/jobs/%2e/x", "/nowhere"):
            response = await rig.client.get(path, headers=rig.bearer(key))
            problem_of(response, 404)
        assert not [c for c in rig.services.calls if c.path.startswith("/v1/") and not c.path.startswith("/v1/internal/")]


async def test_outlet_application_form_needs_no_key_and_goes_as_anonymous():
    async with gateway() as rig:
        submitted = await rig.client.post("/api/network/v1/outlet-applications", json={"company_name": "X"})
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["principal"] == {"id": f"anon:{CLIENT_ADDRESS}", "role": "anonymous",
                                                 "store_id": None, "name": "anonymous"}
        read = await rig.client.get("/api/network/v1/outlet-applications/app-1", headers={"X-Application-Token": "tok"})
        assert read.json()["principal"]["role"] == "anonymous"
        assert read.json()["headers"]["x-application-token"] == "tok"
        # Without its token, reading an application is an ordinary keyed call.
        problem_of(await rig.client.get("/api/network/v1/outlet-applications/app-1"), 401)
        # With a key, it goes the normal way (HQ reviewing).
        hq = rig.key("hq_admin", key_id="key-hq")
        as_hq = await rig.client.get("/api/network/v1/outlet-applications/app-1",
                                     headers={**rig.bearer(hq), "X-Application-Token": "tok"})
        assert as_hq.json()["principal"]["id"] == "key-hq"
        # Nothing else is public.
        problem_of(await rig.client.post("/api/network/v1/outlet-applications/app-1/review", json={}), 401)


async def test_a_fleet_contact_approves_by_link_without_a_key_and_nothing_beside_it_is_public():
    async with gateway() as rig:
        by_link = await rig.client.post("/api/reception/v1/repair-orders/ro-1/fleet-approval", json={"token": "t"})
        assert by_link.status_code == 200, by_link.text
        assert by_link.json()["principal"]["role"] == "anonymous"
        # With a key it is an ordinary call: a wrong key is 401, not anonymous.
        problem_of(await rig.client.post("/api/reception/v1/repair-orders/ro-1/fleet-approval", json={},
                                         headers={"Authorization": "Bearer nope"}), 401)
        for path in ("/api/reception/v1/repair-orders/ro-1/fleet-approval-link",
                     "/api/reception/v1/repair-orders/ro-1/approve",
                     "/api/reception/v1/repair-orders/ro-1/fleet-approval/x"):
            problem_of(await rig.client.post(path, json={}), 401)
        problem_of(await rig.client.get("/api/reception/v1/repair-orders/ro-1/fleet-approval"), 401)


async def test_public_form_is_rate_limited_per_address():
    async with gateway(rate_limit_public_per_minute=1, rate_limit_public_burst=2) as rig:
        for _ in range(2):
            assert (await rig.client.post("/api/network/v1/outlet-applications", json={})).status_code == 200
        limited = await rig.client.post("/api/network/v1/outlet-applications", json={})
        body = problem_of(limited, 429)
        assert body["limit"] == "public"
        assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_bodies_over_the_limit_are_413_whether_declared_or_streamed():
    async with gateway(max_body_bytes=1024) as rig:
        key = rig.key("service_advisor", "store-a")
        declared = await rig.client.post("/api/reception/v1/appointments", content=b"x" * 1025, headers=rig.bearer(key))
        assert problem_of(declared, 413)["max_bytes"] == 1024

        async def chunks():
            for _ in range(4):
                yield b"y" * 300

        streamed = await rig.client.post("/api/reception/v1/appointments", content=chunks(), headers=rig.bearer(key))
        problem_of(streamed, 413)
        assert not rig.services.service_calls("reception")
        exact = await rig.client.post("/api/reception/v1/appointments", content=b"z" * 1024, headers=rig.bearer(key))
        assert exact.status_code == 200


async def test_default_body_limit_is_one_mebibyte():
    async with gateway() as rig:
        key = rig.key("service_advisor", "store-a")
        problem_of(await rig.client.post("/api/reception/v1/appointments", content=b"x" * (1024 * 1024 + 1),
                                         headers=rig.bearer(key)), 413)


async def test_per_key_rate_limit_answers_429_with_retry_after():
    async with gateway(rate_limit_key_per_second=0.5, rate_limit_key_burst=3) as rig:
        key, other = rig.key("hq_analyst"), rig.key("hq_analyst")
        for _ in range(3):
            assert (await rig.client.get("/api/network/v1/stores", headers=rig.bearer(key))).status_code == 200
        limited = await rig.client.get("/api/network/v1/stores", headers=rig.bearer(key))
        assert problem_of(limited, 429)["limit"] == "key"
        assert limited.headers["retry-after"] == "2"  # one token at 0.5/s
        # Another key has its own bucket.
        assert (await rig.client.get("/api/network/v1/stores", headers=rig.bearer(other))).status_code == 200


async def test_per_address_rate_limit_applies_before_any_key_is_checked():
    async with gateway(rate_limit_client_per_second=0.1, rate_limit_client_burst=2) as rig:
        for guess in range(2):
            problem_of(await rig.client.get("/api/network/v1/stores", headers=rig.bearer(f"ak_guess_{guess}_0123456789")), 401)
        limited = await rig.client.get("/api/network/v1/stores", headers=rig.bearer("ak_guess_2_0123456789"))
        assert problem_of(limited, 429)["limit"] == "client"
        assert int(limited.headers["retry-after"]) == 10
        assert rig.network.introspections == 2


async def test_a_service_that_refuses_connections_is_503_retried_once_for_idempotent_methods_only():
    async with gateway() as rig:
        key = rig.key("hq_admin")
        await rig.services.stop("reception")
        before = retries("reception")
        down = await rig.client.get("/api/reception/v1/appointments", headers=rig.bearer(key))
        assert problem_of(down, 503)["service"] == "reception" and down.headers["retry-after"]
        problem_of(await rig.client.delete("/api/reception/v1/repair-orders/r/lines/l", headers=rig.bearer(key)), 503)
        assert retries("reception") == before + 2
        # Nothing was sent, but a POST is never sent twice by the gateway: its caller retries
        # with an Idempotency-Key.
        problem_of(await rig.client.post("/api/reception/v1/appointments", json={}, headers=rig.bearer(key)), 503)
        assert retries("reception") == before + 2
        await rig.services.start("reception")
        assert (await rig.client.get("/api/reception/v1/appointments", headers=rig.bearer(key))).status_code == 200


async def test_a_slow_service_is_504_and_not_retried():
    async with gateway(upstream_read_timeout=0.3) as rig:
        key = rig.key("hq_admin")
        rig.services.slow("workshop", 2)
        late = await rig.client.get("/api/workshop/v1/jobs", headers=rig.bearer(key))
        assert problem_of(late, 504)["detail"] == "workshop did not answer in time"
        # Timeouts are not retried: the request may be running upstream.
        assert len(rig.services.service_calls("workshop")) == 1


async def test_cached_keys_keep_working_while_network_is_down_for_a_bounded_time():
    async with gateway(key_cache_ttl_seconds=0, key_cache_fallback_ttl_seconds=0, key_cache_stale_seconds=0.5) as rig:
        key = rig.key("service_advisor", "store-a")
        assert (await rig.client.get("/api/reception/v1/appointments", headers=rig.bearer(key))).status_code == 200
        await rig.services.stop("network")
        assert (await rig.client.get("/api/reception/v1/appointments", headers=rig.bearer(key))).status_code == 200
        never_seen = rig.key("service_advisor", "store-a")
        unknown = await rig.client.get("/api/reception/v1/appointments", headers=rig.bearer(never_seen))
        problem_of(unknown, 503)
        assert unknown.headers["retry-after"] == "5"

        from tests.support.platform import eventually

        async def refused():
            r = await rig.client.get("/api/reception/v1/appointments", headers=rig.bearer(key))
            return r.status_code == 503

        await eventually(refused, timeout=5, message="a stale key kept working past its bound")


async def test_keys_are_cached_and_never_kept_raw():
    async with gateway() as rig:
        key = rig.key("hq_analyst")
        for _ in range(5):
            assert (await rig.client.get("/api/network/v1/stores", headers=rig.bearer(key))).status_code == 200
        assert rig.network.introspections == 1
        cache = rig.app.state.keys
        assert key not in repr(cache._entries) and key not in json.dumps(list(cache._entries))


async def test_security_headers_on_every_answer():
    async with gateway() as rig:
        key = rig.key("hq_analyst")
        for response in (await rig.client.get("/api/network/v1/stores", headers=rig.bearer(key)),
                         await rig.client.get("/api/network/v1/stores"), await rig.client.get("/healthz")):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        # The service's own headers pass, its hop-by-hop ones do not.
        upstream = await rig.client.get("/api/network/v1/stores", headers=rig.bearer(key))
        assert upstream.headers["x-upstream"] == "network"
        assert "connection" not in upstream.headers


async def test_cors_allows_listed_store_apps_only():
    async with gateway() as rig:
        preflight = {"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}
        ok = await rig.client.options("/api/reception/v1/appointments",
                                      headers={"Origin": "https://store.example", **preflight})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://store.example"
        assert "idempotency-key" in ok.headers["access-control-allow-headers"].lower()
        bad = await rig.client.options("/api/reception/v1/appointments",
                                       headers={"Origin": "https://evil.example", **preflight})
        assert bad.status_code == 400
        assert "access-control-allow-origin" not in bad.headers
        key = rig.key("hq_analyst")
        simple = await rig.client.get("/api/network/v1/stores", headers={**rig.bearer(key), "Origin": "https://store.example"})
        assert simple.headers["access-control-allow-origin"] == "https://store.example"
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_health_readiness_and_metrics():
    async with gateway() as rig:
        assert (await rig.client.get("/healthz")).json() == {"status": "ok"}
        ready = await rig.client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"reception": True, "workshop": True, "crm": True, "network": True}
        await rig.services.stop("workshop")
        not_ready = await rig.client.get("/readyz")
        assert not_ready.status_code == 503 and not_ready.json()["checks"]["workshop"] is False
        await rig.client.get("/api/network/v1/stores")
        metrics = (await rig.client.get("/metrics", headers=rig.bearer(METRICS_TOKEN))).text
        assert 'gateway_requests_total{method="GET",service="network",status="401"}' in metrics
        assert "gateway_key_lookups_total" in metrics


async def test_header_values_in_utf8_pass_through_unchanged(upstream_client):
    async with gateway(upstream_client=upstream_client) as rig:
        key = rig.key("hq_analyst")
        for value in ("上海浦东 经理".encode(), b"plain ascii"):
            response = await rig.client.get("/api/network/v1/stores", headers={**rig.bearer(key), "X-Note": value})
            assert response.status_code == 200
            # The echo service reads header bytes as Latin-1, as every ASGI server hands them over.
            assert response.json()["headers"]["x-note"].encode("latin-1") == value


async def test_header_bytes_that_are_not_utf8_arrive_as_utf8_with_aiohttp_and_unchanged_with_httpx(upstream_client):
    """aiohttp sends header values as text in UTF-8: a byte that is not UTF-8 (a browser's
    Latin-1 "é") is read as its Latin-1 character and arrives as that character in UTF-8."""
    async with gateway(upstream_client=upstream_client) as rig:
        key = rig.key("hq_analyst")
        value = "caf\xe9 \x8e".encode("latin-1")
        response = await rig.client.get("/api/network/v1/stores", headers={**rig.bearer(key), "X-Note": value})
        assert response.status_code == 200
        arrived = response.json()["headers"]["x-note"].encode("latin-1")
        assert arrived == ("caf\xe9 \x8e".encode() if upstream_client == "aiohttp" else value)


async def test_a_cookie_one_answer_sets_never_rides_on_another_callers_request():
    async with gateway() as rig:
        first, second = rig.key("hq_analyst"), rig.key("store_manager", "store-a")
        answered = await rig.client.get("/api/network/v1/stores", headers=rig.bearer(first))
        assert answered.headers["set-cookie"] == "a=1"  # the echo service sets one on every answer
        rig.client.cookies.clear()
        again = await rig.client.get("/api/network/v1/stores", headers=rig.bearer(second))
        assert "cookie" not in again.json()["headers"]


async def test_unknown_service_names_do_not_become_metric_series():
    async with gateway() as rig:
        for i in range(3):
            await rig.client.get(f"/api/made-up-{i}/v1/x")
        metrics = (await rig.client.get("/metrics", headers=rig.bearer(METRICS_TOKEN))).text
        assert "made-up" not in metrics
        assert 'gateway_requests_total{method="GET",service="unknown",status="404"}' in metrics


async def test_a_browser_on_another_origin_and_a_server_get_the_same_answer_from_the_service():
    async with gateway() as rig:
        key = rig.key("hq_analyst")
        plain = await rig.client.get("/api/network/v1/stores?x=1", headers=rig.bearer(key))
        browser = await rig.client.get("/api/network/v1/stores?x=1",
                                       headers={**rig.bearer(key), "Origin": "https://store.example"})
        assert plain.status_code == browser.status_code == 200
        seen, seen_by_browser = plain.json(), browser.json()
        assert {k: v for k, v in seen.items() if k != "headers"} == {
            k: v for k, v in seen_by_browser.items() if k != "headers"}
        for name in ("x-principal-id", "x-principal-role", "x-principal-store", "x-forwarded-for"):
            assert seen["headers"].get(name) == seen_by_browser["headers"].get(name)
        for response in (plain, browser):
            assert response.headers["x-request-id"] and response.headers["x-content-type-options"] == "nosniff"
        # Only the browser's answer carries CORS headers.
        assert "access-control-allow-origin" not in plain.headers
        assert browser.headers["access-control-allow-origin"] == "https://store.example"


async def test_a_method_the_proxy_does_not_carry_is_405_problem_json():
    async with gateway() as rig:
        key = rig.key("hq_admin")
        for headers in (rig.bearer(key), {**rig.bearer(key), "Origin": "https://store.example"}):
            response = await rig.client.request("TRACE", "/api/network/v1/stores", headers=headers)
            body = problem_of(response, 405)
            assert "TRACE" in body["detail"] and response.headers["x-request-id"]
        # Refused before the key is even looked up.
        assert not [c for c in rig.services.calls if c.path.startswith("/v1/")]


async def test_an_unexpected_failure_in_the_gateway_is_a_logged_500_problem(monkeypatch, capsys):
    async with gateway() as rig:
        key = rig.key("hq_analyst")

        async def broken(*args, **kwargs):
            raise RuntimeError("a bug in the gateway")

        monkeypatch.setattr(rig.app.state.gate.upstream, "send", broken)
        response = await rig.client.get("/api/network/v1/stores", headers={**rig.bearer(key), "X-Request-ID": "r-500"})
        body = problem_of(response, 500)
        assert "a bug in the gateway" not in response.text  # nothing internal leaks to the caller
        assert response.headers["x-request-id"] == "r-500"
        logged = capsys.readouterr().out
        assert "request failed" in logged and "a bug in the gateway" in logged and "r-500" in logged
        assert body["instance"] == "/api/network/v1/stores"
