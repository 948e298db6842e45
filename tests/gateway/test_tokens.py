"""Staff sign-in at the gateway, against a provider of the test's own (tests/gateway/provider.py:
keys made with joserfc, a JWKS and a discovery document served on a real port) and the
stand-in network's staff directory: which tokens are accepted, which person and store a
request then runs as, and what happens when keys rotate or the provider is away."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
from joserfc.jwk import ECKey, RSAKey

from services.common.clock import ManualClock
from tests.gateway.fakes import Rig, gateway
from tests.gateway.provider import LocalProvider, local_provider
from tests.gateway.test_proxy import problem_of

APPOINTMENTS = "/api/reception/v1/appointments"


class Ticker:
    """A monotonic clock that moves only when told, for the key cache's ages."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def bearer(token: str, store: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if store is not None:
        headers["X-Store-Id"] = store
    return headers


async def as_person(rig: Rig, token: str, store: str | None = None, path: str = APPOINTMENTS) -> httpx.Response:
    return await rig.client.get(path, headers=bearer(token, store))


def forwarded(response: httpx.Response) -> tuple[dict, str]:
    """(the principal the service verified, the credential it was told of)."""
    assert response.status_code == 200, response.text
    echo = response.json()
    return echo["principal"], echo["headers"]["x-principal-credential"]


async def test_a_signed_in_advisor_reaches_the_service_as_the_person_in_their_store():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer) as rig:
        rig.network.add_person("p-wang", "王芳", {"store-a": "service_advisor"})
        token = idp.token("p-wang", sid="session-7")

        response = await as_person(rig, token)
        principal, credential = forwarded(response)

        assert (principal["id"], principal["role"], principal["store_id"]) == ("p-wang", "service_advisor", "store-a")
        # The name travels percent-encoded (header values are ASCII), signed as sent.
        assert response.json()["headers"]["x-principal-name"] == quote("王芳")
        assert credential == "token:session-7"
        # Without a session id the token's own id names it.
        _, credential = forwarded(await as_person(rig, idp.token("p-wang", sid=None, jti="token-9")))
        assert credential == "token:token-9"
        # The person was asked about once and then cached; the token never reaches a service.
        assert rig.network.person_lookups == 1
        echo = (await as_person(rig, token)).json()
        assert "authorization" not in echo["headers"]


async def test_api_keys_work_beside_tokens_and_a_value_starting_ak_stays_a_key():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer) as rig:
        rig.network.add_person("p-1", "Li", {"store-a": "technician"})
        key = rig.key("service_advisor", "store-a", key_id="key-7")

        assert forwarded(await rig.client.get(APPOINTMENTS, headers=rig.bearer(key)))[0]["id"] == "key-7"
        assert forwarded(await as_person(rig, idp.token("p-1")))[0]["id"] == "p-1"
        # Shaped like a JWT, but an API key by its prefix: looked up as one, never parsed as a token.
        dotted = await rig.client.get(APPOINTMENTS, headers=rig.bearer("ak_a.b.c_0123456789"))
        assert problem_of(dotted, 401)["detail"] == "unknown API key"


async def test_an_expired_token_is_refused_by_the_gateways_clock_with_a_small_leeway():
    clock = ManualClock(datetime.now(UTC))
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer, oidc_leeway_seconds=30, clock=clock) as rig:
        rig.network.add_person("p-1", "Li", {"store-a": "service_advisor"})
        exp = int(clock.now().timestamp()) + 300
        token = idp.token("p-1", exp=exp)

        clock.set(datetime.fromtimestamp(exp + 29, UTC))  # past exp, within the leeway
        assert (await as_person(rig, token)).status_code == 200
        clock.set(datetime.fromtimestamp(exp + 31, UTC))
        assert "expired" in problem_of(await as_person(rig, token), 401)["detail"]

        clock.set(datetime.fromtimestamp(exp - 300, UTC))
        early = idp.token("p-1", nbf=exp - 300 + 60, exp=exp)
        assert "nbf" in problem_of(await as_person(rig, early), 401)["detail"]
        clock.advance(timedelta(seconds=31))  # nbf is 29 s ahead now: within the leeway
        assert (await as_person(rig, early)).status_code == 200


async def test_tokens_for_another_audience_or_from_another_issuer_or_without_a_person_are_refused():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer) as rig:
        rig.network.add_person("p-1", "Li", {"store-a": "service_advisor"})

        other_api = problem_of(await as_person(rig, idp.token("p-1", aud="account")), 401)
        other_issuer = problem_of(await as_person(rig, idp.token("p-1", iss=idp.issuer + "-other")), 401)
        no_person = problem_of(await as_person(rig, idp.token(None)), 401)
        no_expiry = problem_of(await as_person(rig, idp.token("p-1", exp=None)), 401)

        assert "aud" in other_api["detail"] and "aftersales-api" in other_api["detail"]
        assert "iss" in other_issuer["detail"]
        assert "person_id" in no_person["detail"]
        assert "exp" in no_expiry["detail"]
        assert rig.network.person_lookups == 0
        assert not rig.services.service_calls("reception")


async def test_unsigned_symmetric_forged_foreign_and_malformed_tokens_are_401_never_500():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer) as rig:
        rig.network.add_person("p-1", "Li", {"store-a": "service_advisor"})
        impostor = RSAKey.generate_key(2048, parameters={"kid": idp.signing.kid})  # a published kid, another key
        token = idp.token("p-1")
        head, body, signature = token.split(".")
        tampered_body = idp.token("p-2").split(".")[1]

        refusals = {
            "alg none": idp.unsigned("p-1"),
            "HS256 with the public key as secret": idp.hs256_with_public_key("p-1"),
            "signed by another key under a published kid": idp.token("p-1", key=impostor),
            "payload changed after signing": f"{head}.{tampered_body}.{signature}",
            "RS384": idp.token("p-1", alg="RS384"),
            "not a JWT at all": "a.b.c",
            "alg given as a list": idp.signed_raw({"alg": ["RS256"], "kid": idp.signing.kid},
                                                  json.dumps(idp.claims("p-1")).encode()),
            "kid given as an object": idp.signed_raw({"alg": "RS256", "kid": {"k": 1}},
                                                     json.dumps(idp.claims("p-1")).encode()),
            "payload not an object": idp.signed_raw({"alg": "RS256", "kid": idp.signing.kid}, b"[1, 2]"),
            "payload not JSON": idp.signed_raw({"alg": "RS256", "kid": idp.signing.kid}, b"\xff\xfe"),
        }
        for what, bad in refusals.items():
            response = await as_person(rig, bad)
            assert response.status_code == 401, (what, response.text)
        assert "alg 'none'" in problem_of(await as_person(rig, refusals["alg none"]), 401)["detail"]
        assert "HS256" in problem_of(await as_person(rig, refusals["HS256 with the public key as secret"]),
                                     401)["detail"]
        assert not rig.services.service_calls("reception")


async def test_es256_tokens_are_accepted():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer, oidc_jwks_refetch_min_seconds=0) as rig:
        rig.network.add_person("p-1", "Li", {"store-a": "service_advisor"})
        idp.rotate(ECKey.generate_key("P-256", auto_kid=True))
        assert forwarded(await as_person(rig, idp.token("p-1")))[0]["id"] == "p-1"


async def test_a_rotated_key_is_fetched_on_its_first_token_and_unknown_kids_cannot_hammer_the_provider():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer, oidc_jwks_refetch_min_seconds=10,
                                                oidc_jwks_ttl_seconds=600) as rig:
        rig.network.add_person("p-1", "Li", {"store-a": "service_advisor"})
        tick = Ticker()
        rig.app.state.tokens.monotonic = tick
        assert (await as_person(rig, idp.token("p-1"))).status_code == 200
        fetched = idp.jwks_fetches

        idp.rotate()
        tick.advance(10)
        assert (await as_person(rig, idp.token("p-1"))).status_code == 200
        assert idp.jwks_fetches == fetched + 1

        # Tokens naming keys nobody published: one fetch per 10 s at most, however many come.
        strays = [RSAKey.generate_key(2048, auto_kid=True) for _ in range(3)]
        for second in range(20):
            tick.advance(1)
            response = await as_person(rig, idp.token("p-1", key=strays[second % 3]))
            assert "does not publish" in problem_of(response, 401)["detail"]
        assert idp.jwks_fetches == fetched + 1 + 2
        # The key in use was never dropped meanwhile.
        assert (await as_person(rig, idp.token("p-1"))).status_code == 200


async def test_keys_are_fetched_again_after_their_ttl_and_a_retired_key_then_fails():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer, oidc_jwks_ttl_seconds=600) as rig:
        rig.network.add_person("p-1", "Li", {"store-a": "service_advisor"})
        tick = Ticker()
        rig.app.state.tokens.monotonic = tick
        old_token = idp.token("p-1")
        assert (await as_person(rig, old_token)).status_code == 200
        fetched = idp.jwks_fetches

        idp.published = [idp.rotate()]  # the old key retired from the JWKS
        tick.advance(598)
        assert (await as_person(rig, old_token)).status_code == 200
        assert idp.jwks_fetches == fetched
        tick.advance(3)
        assert "does not publish" in problem_of(await as_person(rig, old_token), 401)["detail"]
        assert idp.jwks_fetches == fetched + 1
        assert (await as_person(rig, idp.token("p-1"))).status_code == 200


async def test_without_the_provider_tokens_are_503_until_it_answers_and_its_keys_then_outlive_it():
    idp = LocalProvider()
    idp.down = True
    await idp.served.start()
    try:
        async with gateway(oidc_issuer=idp.issuer, oidc_jwks_refetch_min_seconds=10, oidc_jwks_ttl_seconds=60) as rig:
            rig.network.add_person("p-1", "Li", {"store-a": "service_advisor"})
            tick = Ticker()
            rig.app.state.tokens.monotonic = tick
            token = idp.token("p-1")
            tick.advance(10)
            unavailable = problem_of(await as_person(rig, token), 503)
            assert unavailable["detail"] == "the access token cannot be checked right now; try again shortly"
            assert problem_of(await rig.client.get("/auth/config"), 503)

            idp.down = False
            tick.advance(10)
            assert (await as_person(rig, token)).status_code == 200

            idp.down = True
            tick.advance(61)  # the keys' TTL is over, the provider is away: the keys we have still serve
            assert (await as_person(rig, token)).status_code == 200
    finally:
        await idp.served.stop()


async def test_a_person_of_several_stores_names_one_and_only_their_own():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer) as rig:
        rig.network.add_person("p-zhao", "Zhao", {"store-a": "service_advisor", "store-b": "store_manager"})
        token = idp.token("p-zhao")

        unnamed = problem_of(await as_person(rig, token), 400)
        assert unnamed["errors"] == [{"field": "X-Store-Id", "in": "header",
                                      "message": "required: one of store-a, store-b"}]
        assert unnamed["stores"] == ["store-a", "store-b"]
        principal, _ = forwarded(await as_person(rig, token, store="store-b"))
        assert (principal["store_id"], principal["role"]) == ("store-b", "store_manager")
        principal, _ = forwarded(await as_person(rig, token, store="store-a"))
        assert (principal["store_id"], principal["role"]) == ("store-a", "service_advisor")
        elsewhere = problem_of(await as_person(rig, token, store="store-c"), 403)
        assert elsewhere["store_id"] == "store-c"


async def test_one_store_is_the_default_a_named_other_is_403_and_no_store_is_403():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer) as rig:
        rig.network.add_person("p-1", "Li", {"store-a": "technician"})
        rig.network.add_person("p-none", "Nobody", {})

        assert forwarded(await as_person(rig, idp.token("p-1"), store="store-a"))[0]["store_id"] == "store-a"
        problem_of(await as_person(rig, idp.token("p-1"), store="store-b"), 403)
        assert "no store" in problem_of(await as_person(rig, idp.token("p-none")), 403)["detail"]


async def test_an_hq_person_acts_as_hq_unless_they_name_a_store_of_theirs():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer) as rig:
        rig.network.add_person("p-hq", "Chen", {"store-a": "store_manager"}, hq_role="hq_analyst")
        token = idp.token("p-hq")

        principal, _ = forwarded(await as_person(rig, token, path="/api/network/v1/kpis"))
        assert (principal["role"], principal["store_id"]) == ("hq_analyst", None)
        principal, _ = forwarded(await as_person(rig, token, store="store-a"))
        assert (principal["role"], principal["store_id"]) == ("store_manager", "store-a")


async def test_the_matrix_applies_to_the_role_in_the_chosen_store():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer) as rig:
        rig.network.add_person("p-tech", "Li", {"store-a": "technician"})
        refused = await rig.client.post("/api/crm/v1/callbacks", json={}, headers=bearer(idp.token("p-tech")))
        body = problem_of(refused, 403)
        assert (body["role"], body["area"]) == ("technician", "crm")
        assert not rig.services.service_calls("crm")


async def test_a_person_who_left_or_is_not_in_the_directory_is_refused():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer) as rig:
        rig.network.add_person("p-gone", "Gone", {"store-a": "service_advisor"}, status="left")

        left = problem_of(await as_person(rig, idp.token("p-gone")), 401)
        unknown = problem_of(await as_person(rig, idp.token("p-nobody")), 401)

        assert left["detail"] == "sign-in refused: you have left the group" and left["person_id"] == "p-gone"
        assert unknown["detail"] == "sign-in refused: you are not in the staff directory"


async def test_while_network_is_down_a_person_seen_lately_keeps_working_and_a_new_one_gets_503():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer, person_cache_fallback_ttl_seconds=0) as rig:
        rig.network.add_person("p-1", "Li", {"store-a": "service_advisor"})
        rig.network.add_person("p-2", "Wu", {"store-a": "service_advisor"})
        assert (await as_person(rig, idp.token("p-1"))).status_code == 200

        await rig.services.stop("network")
        assert (await as_person(rig, idp.token("p-1"))).status_code == 200
        assert "directory" in problem_of(await as_person(rig, idp.token("p-2")), 503)["detail"]


async def test_without_a_provider_tokens_are_401_saying_so_and_keys_work_as_ever():
    async with local_provider() as idp, gateway() as rig:
        rig.network.add_person("p-1", "Li", {"store-a": "service_advisor"})
        key = rig.key("service_advisor", "store-a")

        refused = problem_of(await as_person(rig, idp.token("p-1")), 401)
        assert "GATEWAY_OIDC_ISSUER" in refused["detail"] and "API key" in refused["detail"]
        assert (await rig.client.get(APPOINTMENTS, headers=rig.bearer(key))).status_code == 200
        assert "GATEWAY_OIDC_ISSUER" in problem_of(await rig.client.get("/auth/config"), 404)["detail"]
        assert idp.jwks_fetches == 0


async def test_auth_config_tells_a_store_app_how_to_sign_in():
    async with local_provider() as idp, gateway(oidc_issuer=idp.issuer) as rig:
        response = await rig.client.get("/auth/config")

        assert response.status_code == 200
        base = f"{idp.issuer}/protocol/openid-connect"
        assert response.json() == {
            "issuer": idp.issuer, "client_id": "hq-dashboard", "audience": "aftersales-api",
            "authorization_endpoint": f"{base}/auth", "token_endpoint": f"{base}/token",
            "end_session_endpoint": f"{base}/logout", "scopes": ["openid", "profile"],
        }
