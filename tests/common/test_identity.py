"""Signed identity headers: HMAC over principal, name, role, store, request id, timestamp,
and the request (method, path and query, service, body digest, nonce). Missing, tampered,
stale (older than the max age) or replayed headers grant nothing, nor do headers signed for
another request."""
from __future__ import annotations

import time

import pytest

from services.common import identity as ident
from services.common.identity import (
    IdentityError,
    NonceLedger,
    Principal,
    SignedRequest,
    request_target,
    scope_target,
    sign,
    verify,
)
from services.common.settings import DEV_IDENTITY_SECRET
from tests.support.platform import identity

SECRET = "a-test-secret-of-at-least-32-characters"
NOW = 1_795_000_000.0
ADVISOR = Principal(id="key-42", role="service_advisor", store_id="store-1", name="Wang Fang")
BODY = b'{"text": "customer called"}'
REQUEST = SignedRequest.of("POST", "/v1/notes?limit=5", "probe", BODY)


def signed(principal: Principal = ADVISOR, request_id: str = "req-1", at: float = NOW) -> dict[str, str]:
    return sign(principal, request_id, SECRET, method="POST", target="/v1/notes?limit=5", service="probe", body=BODY,
                now=at)


def test_a_valid_signature_gives_back_the_principal():
    assert verify(signed(), SECRET, REQUEST, now=NOW) == ADVISOR


def test_header_names_are_case_insensitive_as_in_http():
    lowered = {k.lower(): v for k, v in signed().items()}

    assert verify(lowered, SECRET, REQUEST, now=NOW) == ADVISOR


def test_an_hq_principal_without_a_store_verifies():
    hq = Principal(id="key-1", role="hq_admin", name="HQ")

    assert verify(signed(hq), SECRET, REQUEST, now=NOW) == hq


@pytest.mark.parametrize("other", [
    SignedRequest.of("PUT", "/v1/notes?limit=5", "probe", BODY),
    SignedRequest.of("POST", "/v1/notes?limit=6", "probe", BODY),
    SignedRequest.of("POST", "/v1/notes", "probe", BODY),
    SignedRequest.of("POST", "/v1/errors/orders?limit=5", "probe", BODY),
    SignedRequest.of("POST", "/v1/notes?limit=5", "crm", BODY),
], ids=["method", "query", "no query", "path", "service"])
def test_headers_signed_for_one_request_do_not_verify_on_another(other):
    with pytest.raises(IdentityError, match="bad identity signature"):
        verify(signed(), SECRET, other, now=NOW)


def test_headers_signed_for_one_body_do_not_verify_with_another():
    with pytest.raises(IdentityError, match="body is not the one"):
        verify(signed(), SECRET, SignedRequest.of("POST", "/v1/notes?limit=5", "probe", BODY + b" "), now=NOW)


def test_an_empty_body_has_the_digest_of_no_bytes():
    headers = sign(ADVISOR, "req-1", SECRET, method="GET", target="/v1/notes", service="probe", now=NOW)

    assert headers[ident.H_BODY_DIGEST] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert verify(headers, SECRET, SignedRequest.of("GET", "/v1/notes", "probe"), now=NOW) == ADVISOR


def test_each_signature_has_its_own_nonce():
    assert signed()[ident.H_NONCE] != signed()[ident.H_NONCE]


def test_a_nonce_is_accepted_once_while_its_signature_is_fresh():
    moment = [0.0]
    seen = NonceLedger(clock=lambda: moment[0])
    headers = signed()

    assert verify(headers, SECRET, REQUEST, now=NOW, seen=seen) == ADVISOR
    moment[0] = 30.0
    with pytest.raises(IdentityError, match="identity replayed"):
        verify(headers, SECRET, REQUEST, now=NOW + 30, seen=seen)
    assert verify(signed(), SECRET, REQUEST, now=NOW, seen=seen) == ADVISOR
    # Kept as long as the signature could pass (max age 30 s, plus the timestamp's second), then let go.
    moment[0] = 32.0
    assert len(seen) == 1


def test_a_nonce_from_a_gateway_clock_ahead_is_kept_as_long_as_its_signature_passes():
    moment = [0.0]
    seen = NonceLedger(clock=lambda: moment[0])
    ahead = signed(at=NOW + 30)  # the latest a service accepts at NOW

    verify(ahead, SECRET, REQUEST, now=NOW, seen=seen)
    moment[0] = 59.0
    with pytest.raises(IdentityError, match="identity replayed"):
        verify(ahead, SECRET, REQUEST, now=NOW + 59, seen=seen)


def test_the_signed_target_is_the_same_whichever_client_escaped_it():
    # httpx sends "{" as "%7B"; aiohttp sends the caller's bytes as they are.
    assert request_target("/v1/a{b}?q=\"x\"") == request_target(b"/v1/a%7Bb%7D?q=%22x%22")
    assert request_target("/v1/a%2Fb?q=a%26b") == "/v1/a%2Fb?q=a%26b"
    assert request_target("/v1/a%2Fb") != request_target("/v1/a/b")
    assert scope_target({"path": "/v1/x y", "raw_path": b"/v1/x%20y", "query_string": b"q=1"}) == "/v1/x%20y?q=1"
    assert scope_target({"path": "/v1/x", "query_string": b""}) == "/v1/x"


@pytest.mark.parametrize("header,forged", [
    (ident.H_PRINCIPAL, "key-43"),
    (ident.H_NAME, "Li Lei"),
    (ident.H_ROLE, "store_manager"),
    (ident.H_STORE, "store-2"),
    (ident.H_STORE, ""),
    (ident.H_CREDENTIAL, "key:another"),
    (ident.H_REQUEST, "req-2"),
    (ident.H_TIMESTAMP, str(int(NOW) + 1)),
    (ident.H_NONCE, "0" * 32),
    (ident.H_SIGNATURE, "0" * 64),
])
def test_tampering_with_any_signed_header_is_refused(header, forged):
    headers = signed()
    assert headers[header] != forged
    headers[header] = forged

    with pytest.raises(IdentityError, match="bad identity signature"):
        verify(headers, SECRET, REQUEST, now=NOW)


def test_a_body_digest_changed_to_match_another_body_is_refused():
    headers = {**signed(), ident.H_BODY_DIGEST: SignedRequest.of("POST", "/", "probe", b"{}").body_digest}

    with pytest.raises(IdentityError, match="bad identity signature"):
        verify(headers, SECRET, SignedRequest.of("POST", "/v1/notes?limit=5", "probe", b"{}"), now=NOW)


def test_a_signature_made_with_another_secret_is_refused():
    headers = sign(ADVISOR, "req-1", DEV_IDENTITY_SECRET, method="POST", target="/v1/notes?limit=5", service="probe",
                   body=BODY, now=NOW)

    with pytest.raises(IdentityError, match="bad identity signature"):
        verify(headers, SECRET, REQUEST, now=NOW)


@pytest.mark.parametrize("age", [0, 59, 60, -60])
def test_a_signature_up_to_its_max_age_old_is_accepted(age):
    assert verify(signed(at=NOW - age), SECRET, REQUEST, max_age=60, now=NOW) == ADVISOR


@pytest.mark.parametrize("age", [61, 3600, -61])
def test_a_signature_older_than_its_max_age_or_from_the_future_is_stale(age):
    with pytest.raises(IdentityError, match="stale"):
        verify(signed(at=NOW - age), SECRET, REQUEST, max_age=60, now=NOW)


def test_the_default_clock_is_the_real_one_and_the_default_max_age_30_seconds():
    def at(moment: float) -> dict[str, str]:
        return sign(ADVISOR, "req-1", SECRET, method="POST", target="/v1/notes?limit=5", service="probe", body=BODY,
                    now=moment)

    assert verify(at(time.time()), SECRET, REQUEST) == ADVISOR
    assert verify(at(time.time() - 29), SECRET, REQUEST) == ADVISOR
    with pytest.raises(IdentityError, match="stale"):
        verify(at(time.time() - 31), SECRET, REQUEST)


@pytest.mark.parametrize("header", [ident.H_SIGNATURE, ident.H_TIMESTAMP, ident.H_PRINCIPAL, ident.H_ROLE,
                                    ident.H_BODY_DIGEST, ident.H_NONCE])
def test_a_missing_header_is_refused(header):
    headers = signed()
    del headers[header]

    with pytest.raises(IdentityError, match="missing"):
        verify(headers, SECRET, REQUEST, now=NOW)


def test_no_headers_at_all_is_refused():
    with pytest.raises(IdentityError, match="missing"):
        verify({}, SECRET, REQUEST, now=NOW)


def test_a_malformed_timestamp_is_refused():
    headers = signed()
    headers[ident.H_TIMESTAMP] = "yesterday"

    with pytest.raises(IdentityError, match="malformed"):
        verify(headers, SECRET, REQUEST, now=NOW)


def test_a_role_outside_the_platform_is_refused_even_when_signed():
    with pytest.raises(IdentityError, match="unknown role"):
        verify(signed(Principal(id="x", role="superuser")), SECRET, REQUEST, now=NOW)


def test_a_store_principal_sees_only_its_store_and_hq_sees_all():
    assert ADVISOR.can_see_store("store-1") and not ADVISOR.can_see_store("store-2")
    assert not ADVISOR.can_see_store(None)
    assert Principal(id="hq", role="hq_analyst").can_see_store("store-2")


async def test_a_route_needing_a_principal_answers_401_problem_for_missing_tampered_stale_or_replayed_identity(notes):
    good = identity("service_advisor", "store-1")  # signed afresh by the client, as the gateway does
    advisor = Principal(id="k", role="service_advisor", store_id="store-1")

    def signed_now(moment: float) -> dict[str, str]:
        return sign(advisor, "req-1", DEV_IDENTITY_SECRET, method="GET", target="/v1/notes", service="probe",
                    now=moment)

    tampered = {**signed_now(time.time()), ident.H_STORE: "store-2"}
    stale = signed_now(time.time() - 31)
    once = signed_now(time.time())

    assert (await notes.get("/v1/notes", headers=good)).status_code == 200
    assert (await notes.get("/v1/notes", headers=good)).status_code == 200
    assert (await notes.get("/v1/notes", headers=once)).status_code == 200
    for headers in ({}, tampered, stale, once):
        response = await notes.get("/v1/notes", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/unauthorized")


def test_a_name_sent_percent_encoded_is_verified_as_sent_and_read_as_written():
    # The gateway percent-encodes a name in Chinese (header values are ASCII); the
    # signature covers the encoded text, and who-fields get the name as written.
    sent = Principal(id="person-7", role="service_advisor", store_id="store-1", name="%E7%8E%8B%E8%8A%B3 100%25",
                     credential="key:k-7")

    headers = sign(sent, "req-1", SECRET, method="POST", target="/v1/notes?limit=5", service="probe", body=BODY,
                   now=NOW)

    assert verify(headers, SECRET, REQUEST, now=NOW).name == "王芳 100%"
