"""Identity headers sent straight to each service port: a fresh signature for the very
request works, once; a tampered, foreign-secret, stale or future one is 401, and so is a
header set taken from one request and sent with another route, query, method, service or
body, or sent a second time."""
from __future__ import annotations

import time
import uuid

import httpx
import pytest

from services.common.identity import H_BODY_DIGEST, H_NONCE, H_PRINCIPAL, H_ROLE, H_STORE, Principal, sign

# One read route per service that an HQ analyst may call without parameters; each also
# takes a POST, which the analyst may not make (403 once the identity holds).
ROUTES = {"network": "/v1/stores", "reception": "/v1/repair-orders", "workshop": "/v1/technicians",
          "crm": "/v1/complaints"}


def signed(platform, service: str, *, method: str = "GET", target: str | None = None, body: bytes = b"",
           role: str = "hq_analyst", store: str | None = None, secret: str | None = None,
           now: float | None = None) -> dict[str, str]:
    principal = Principal(id=f"test-{role}", role=role, store_id=store, name="tester")
    return sign(principal, uuid.uuid4().hex, secret or platform.identity_secret, method=method,
                target=target or ROUTES[service], service=service, body=body, now=now)


@pytest.fixture(params=sorted(ROUTES))
def service(request, platform):
    if request.param not in platform.services:
        pytest.fail(f"{request.param} is not running in this checkout")
    return request.param


def send(platform, service: str, headers: dict[str, str], *, method: str = "GET", target: str | None = None,
         body: bytes = b"") -> httpx.Response:
    url = platform.services[service].url + (target or ROUTES[service])
    content_type = {"Content-Type": "application/json"} if body else {}
    return httpx.request(method, url, headers={**headers, **content_type}, content=body, timeout=15)


def get(platform, service: str, headers: dict[str, str]) -> httpx.Response:
    return send(platform, service, headers)


def refused(response: httpx.Response, detail: str) -> bool:
    return (response.status_code == 401 and response.headers["content-type"] == "application/problem+json"
            and response.json()["detail"].startswith(detail))


def test_a_fresh_valid_signature_is_accepted(platform, service):
    assert get(platform, service, signed(platform, service)).status_code == 200


def test_a_genuine_request_with_a_query_and_a_body_is_accepted(platform, service):
    target = ROUTES[service] + "?limit=5"
    assert send(platform, service, signed(platform, service, target=target), target=target).status_code == 200
    body = b'{"name": "\xe7\x8e\x8b\xe8\x8a\xb3"}'
    headers = signed(platform, service, method="POST", body=body)
    # The identity holds; the analyst may not write here.
    assert send(platform, service, headers, method="POST", body=body).status_code == 403


def test_a_header_set_is_good_for_one_request(platform, service):
    headers = signed(platform, service)
    assert get(platform, service, headers).status_code == 200
    assert refused(get(platform, service, headers), "identity replayed")


def test_headers_replayed_on_another_route_or_query_are_401(platform, service):
    another_route = ROUTES[service] + "/" + uuid.uuid4().hex
    # Signed for it, that route answers past the identity check (nothing there).
    assert send(platform, service, signed(platform, service, target=another_route),
                target=another_route).status_code == 404
    for target in (another_route, ROUTES[service] + "?limit=1"):
        response = send(platform, service, signed(platform, service), target=target)
        assert refused(response, "bad identity signature"), (target, response.status_code, response.text)


def test_headers_replayed_with_another_method_are_401(platform, service):
    response = send(platform, service, signed(platform, service), method="POST")
    assert refused(response, "bad identity signature"), response.text


def test_headers_replayed_on_another_service_are_401(platform, service):
    elsewhere = next(s for s in sorted(ROUTES) if s != service)
    # The same path and query, signed for another service.
    headers = signed(platform, elsewhere, target=ROUTES[service])
    assert refused(send(platform, service, headers), "bad identity signature")


def test_headers_replayed_with_another_body_are_401(platform, service):
    signed_for = b'{"name": "one"}'
    headers = signed(platform, service, method="POST", body=signed_for)
    for body in (b'{"name": "two"}', signed_for + b" ", b""):
        response = send(platform, service, headers, method="POST", body=body)
        assert refused(response, "the body is not the one"), (body, response.text)
    # Nor does a digest rewritten to match the new body help: the signature covers it.
    rewritten = {**headers, H_BODY_DIGEST: signed(platform, service, method="POST", body=b"{}")[H_BODY_DIGEST]}
    assert refused(send(platform, service, rewritten, method="POST", body=b"{}"), "bad identity signature")


@pytest.mark.parametrize("header", [H_BODY_DIGEST, H_NONCE])
def test_a_missing_body_digest_or_nonce_is_401(platform, service, header):
    headers = signed(platform, service)
    del headers[header]
    assert refused(get(platform, service, headers), "missing")


def test_a_tampered_role_store_or_principal_is_401(platform, service):
    for header, value in ((H_ROLE, "hq_admin"), (H_STORE, "someone-else"), (H_PRINCIPAL, "bootstrap-hq-admin")):
        headers = signed(platform, service, role="store_manager", store="store-a")
        headers[header] = value
        response = get(platform, service, headers)
        assert refused(response, "bad identity signature"), (header, response.text)


def test_a_signature_made_with_another_secret_is_401(platform, service):
    response = get(platform, service, signed(platform, service, secret="not-the-platform-secret-0123456789"))
    assert response.status_code == 401


def test_headers_older_than_the_max_age_are_401(platform, service):
    # Well past the 30 s window, so a clock step on a busy machine cannot make it fresh.
    captured = signed(platform, service, now=time.time() - 75)
    assert refused(get(platform, service, captured), "stale identity")
    from_the_future = signed(platform, service, now=time.time() + 75)
    assert get(platform, service, from_the_future).status_code == 401


def test_a_system_identity_from_outside_is_worthless_without_the_secret(platform, service):
    forged = signed(platform, service, role="system", secret="guess-" + uuid.uuid4().hex)
    assert get(platform, service, forged).status_code == 401


def test_the_gateway_signs_each_request_for_what_it_carries(platform, service):
    with platform.api(platform.bootstrap_key) as api:
        path = f"/api/{service}{ROUTES[service]}"
        assert api.get(path, params={"limit": 5}).status_code == 200
        assert api.get(path, params={"limit": 5}).status_code == 200
        # A body the service refuses on its merits (422), not for its identity (401).
        assert api.post(path, content=b'{"unexpected": true}',
                        headers={"Content-Type": "application/json"}).status_code == 422
