"""Identity headers sent straight to each service port: a valid signature works; a
tampered, foreign-secret, stale (replayed after 60 s) or future one is 401."""
from __future__ import annotations

import time
import uuid

import httpx
import pytest

from services.common.identity import H_ROLE, H_STORE, H_PRINCIPAL, Principal, sign

# One read route per service that an HQ analyst may call without parameters.
ROUTES = {"network": "/v1/stores", "reception": "/v1/repair-orders", "workshop": "/v1/technicians",
          "crm": "/v1/complaints"}


def signed(platform, *, role="hq_analyst", store=None, secret=None, now=None) -> dict[str, str]:
    principal = Principal(id=f"test-{role}", role=role, store_id=store, name="tester")
    return sign(principal, uuid.uuid4().hex, secret or platform.identity_secret, now=now)


@pytest.fixture(params=sorted(ROUTES))
def service(request, platform):
    if request.param not in platform.services:
        pytest.fail(f"{request.param} is not running in this checkout")
    return request.param


def get(platform, service: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(platform.services[service].url + ROUTES[service], headers=headers, timeout=15)


def test_a_fresh_valid_signature_is_accepted(platform, service):
    assert get(platform, service, signed(platform)).status_code == 200


def test_a_tampered_role_store_or_principal_is_401(platform, service):
    for header, value in ((H_ROLE, "hq_admin"), (H_STORE, "someone-else"), (H_PRINCIPAL, "bootstrap-hq-admin")):
        headers = signed(platform, role="store_manager", store="store-a")
        headers[header] = value
        response = get(platform, service, headers)
        assert response.status_code == 401, (header, response.text)
        assert response.json()["detail"] == "bad identity signature"


def test_a_signature_made_with_another_secret_is_401(platform, service):
    response = get(platform, service, signed(platform, secret="not-the-platform-secret-0123456789"))
    assert response.status_code == 401


def test_replayed_headers_older_than_sixty_seconds_are_401(platform, service):
    # Well past the 60 s window, so a clock step on a busy machine cannot make it fresh.
    captured = signed(platform, now=time.time() - 75)
    response = get(platform, service, captured)
    assert response.status_code == 401 and response.json()["detail"] == "stale identity"
    from_the_future = signed(platform, now=time.time() + 75)
    assert get(platform, service, from_the_future).status_code == 401


def test_a_system_identity_from_outside_is_worthless_without_the_secret(platform, service):
    forged = signed(platform, role="system", secret="guess-" + uuid.uuid4().hex)
    assert get(platform, service, forged).status_code == 401
