"""Signed identity headers: HMAC over principal, name, role, store, request id and timestamp.
Missing, tampered or stale (older than 60 s) headers grant nothing."""
from __future__ import annotations

import time

import pytest

from services.common import identity as ident
from services.common.identity import IdentityError, Principal, sign, verify
from services.common.settings import DEV_IDENTITY_SECRET
from tests.support.platform import identity

SECRET = "a-test-secret-of-at-least-32-characters"
NOW = 1_795_000_000.0
ADVISOR = Principal(id="key-42", role="service_advisor", store_id="store-1", name="Wang Fang")


def signed(principal: Principal = ADVISOR, request_id: str = "req-1", at: float = NOW) -> dict[str, str]:
    return sign(principal, request_id, SECRET, now=at)


def test_a_valid_signature_gives_back_the_principal():
    assert verify(signed(), SECRET, now=NOW) == ADVISOR


def test_header_names_are_case_insensitive_as_in_http():
    lowered = {k.lower(): v for k, v in signed().items()}

    assert verify(lowered, SECRET, now=NOW) == ADVISOR


def test_an_hq_principal_without_a_store_verifies():
    hq = Principal(id="key-1", role="hq_admin", name="HQ")

    assert verify(signed(hq), SECRET, now=NOW) == hq


@pytest.mark.parametrize("header,forged", [
    (ident.H_PRINCIPAL, "key-43"),
    (ident.H_NAME, "Li Lei"),
    (ident.H_ROLE, "store_manager"),
    (ident.H_STORE, "store-2"),
    (ident.H_STORE, ""),
    (ident.H_CREDENTIAL, "key:another"),
    (ident.H_REQUEST, "req-2"),
    (ident.H_TIMESTAMP, str(int(NOW) + 1)),
    (ident.H_SIGNATURE, "0" * 64),
])
def test_tampering_with_any_signed_header_is_refused(header, forged):
    headers = signed()
    assert headers[header] != forged
    headers[header] = forged

    with pytest.raises(IdentityError, match="bad identity signature"):
        verify(headers, SECRET, now=NOW)


def test_a_signature_made_with_another_secret_is_refused():
    headers = sign(ADVISOR, "req-1", DEV_IDENTITY_SECRET, now=NOW)

    with pytest.raises(IdentityError, match="bad identity signature"):
        verify(headers, SECRET, now=NOW)


@pytest.mark.parametrize("age", [0, 59, 60, -60])
def test_a_signature_up_to_60_seconds_old_is_accepted(age):
    assert verify(signed(at=NOW - age), SECRET, max_age=60, now=NOW) == ADVISOR


@pytest.mark.parametrize("age", [61, 3600, -61])
def test_a_signature_older_than_60_seconds_or_from_the_future_is_stale(age):
    with pytest.raises(IdentityError, match="stale"):
        verify(signed(at=NOW - age), SECRET, max_age=60, now=NOW)


def test_the_default_clock_is_the_real_one():
    assert verify(sign(ADVISOR, "req-1", SECRET), SECRET) == ADVISOR
    with pytest.raises(IdentityError, match="stale"):
        verify(sign(ADVISOR, "req-1", SECRET, now=time.time() - 61), SECRET)


@pytest.mark.parametrize("header", [ident.H_SIGNATURE, ident.H_TIMESTAMP, ident.H_PRINCIPAL, ident.H_ROLE])
def test_a_missing_header_is_refused(header):
    headers = signed()
    del headers[header]

    with pytest.raises(IdentityError, match="missing"):
        verify(headers, SECRET, now=NOW)


def test_no_headers_at_all_is_refused():
    with pytest.raises(IdentityError, match="missing"):
        verify({}, SECRET, now=NOW)


def test_a_malformed_timestamp_is_refused():
    headers = signed()
    headers[ident.H_TIMESTAMP] = "yesterday"

    with pytest.raises(IdentityError, match="malformed"):
        verify(headers, SECRET, now=NOW)


def test_a_role_outside_the_platform_is_refused_even_when_signed():
    with pytest.raises(IdentityError, match="unknown role"):
        verify(signed(Principal(id="x", role="superuser")), SECRET, now=NOW)


def test_a_store_principal_sees_only_its_store_and_hq_sees_all():
    assert ADVISOR.can_see_store("store-1") and not ADVISOR.can_see_store("store-2")
    assert not ADVISOR.can_see_store(None)
    assert Principal(id="hq", role="hq_analyst").can_see_store("store-2")


async def test_a_route_needing_a_principal_answers_401_problem_for_missing_tampered_or_stale_identity(notes):
    good = identity("service_advisor", "store-1")
    tampered = {**good, ident.H_STORE: "store-2"}
    stale = sign(Principal(id="k", role="service_advisor", store_id="store-1"), "req-1", DEV_IDENTITY_SECRET,
                 now=time.time() - 61)

    assert (await notes.get("/v1/notes", headers=good)).status_code == 200
    for headers in ({}, tampered, stale):
        response = await notes.get("/v1/notes", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/unauthorized")


def test_a_name_sent_percent_encoded_is_verified_as_sent_and_read_as_written():
    # The gateway percent-encodes a name in Chinese (header values are ASCII); the
    # signature covers the encoded text, and who-fields get the name as written.
    sent = Principal(id="person-7", role="service_advisor", store_id="store-1", name="%E7%8E%8B%E8%8A%B3 100%25",
                     credential="key:k-7")

    assert verify(sign(sent, "req-1", SECRET, now=NOW), SECRET, now=NOW).name == "王芳 100%"
