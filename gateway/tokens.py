"""Access tokens of the group's OpenID Connect provider, verified at the gateway.

The provider is trusted by configuration: its issuer (GATEWAY_OIDC_ISSUER), from whose
discovery document the gateway learns where the signing keys (JWKS) are, and the audience
the platform's API goes by (GATEWAY_OIDC_AUDIENCE). A token is accepted when a published
key of that issuer signed it with RS256 or ES256 and its `iss`, `aud`, `exp` and `nbf` hold
at the gateway's clock, give or take a small leeway for clocks that disagree.

joserfc verifies signatures and claims; fetching and caching the keys is ours, so it runs
on the gateway's own async client and never blocks a request on more than one fetch:

- the keys are kept for `oidc_jwks_ttl_seconds` and then fetched again;
- a token naming a key id (`kid`) we do not have makes us fetch at once, since the
  provider has rotated its keys, but at most once per `oidc_jwks_refetch_min_seconds`, so a
  stream of tokens with made-up key ids cannot turn the gateway against the provider;
- while the provider cannot be reached, the keys we have keep working; without any, a
  token cannot be checked (503)."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import ECKey, RSAKey, import_key
from prometheus_client import Counter

from services.common.clock import Clock
from services.common.logging import get_logger

log = get_logger(__name__)
JWKS_FETCHES = Counter("gateway_oidc_jwks_fetches_total", "Fetches of the provider's signing keys", ["why", "outcome"])

# Asymmetric only: with a symmetric algorithm the "secret" would be the provider's public
# key, which anyone can read (and sign with).
ALGORITHMS = {"RS256": RSAKey, "ES256": ECKey}
# The largest token looked at; a provider's access tokens are a few kilobytes.
MAX_TOKEN_CHARS = 16_384


class TokenRefused(Exception):
    """The token is not one this gateway accepts; the message says why, for the caller."""


class SignInUnavailable(Exception):
    """The provider's configuration or keys cannot be had right now."""


@dataclass(frozen=True)
class Provider:
    """What the provider's discovery document says, the parts the platform uses."""

    issuer: str
    jwks_uri: str
    authorization_endpoint: str | None
    token_endpoint: str | None
    end_session_endpoint: str | None

    @classmethod
    def from_discovery(cls, issuer: str, body: Any) -> Provider:
        if not isinstance(body, dict) or not isinstance(body.get("jwks_uri"), str):
            raise SignInUnavailable("the provider's discovery document has no jwks_uri")
        # OpenID Connect Discovery 1.0 §4.3: the document must name exactly the issuer asked for.
        if body.get("issuer") != issuer:
            raise SignInUnavailable(f"the discovery document names issuer {body.get('issuer')!r}, not {issuer!r}")

        def text(name: str) -> str | None:
            value = body.get(name)
            return value if isinstance(value, str) else None

        return cls(issuer=issuer, jwks_uri=body["jwks_uri"], authorization_endpoint=text("authorization_endpoint"),
                   token_endpoint=text("token_endpoint"), end_session_endpoint=text("end_session_endpoint"))


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def signing_keys(body: Any) -> dict[str | None, RSAKey | ECKey]:
    """The JWKS's keys that may sign: RSA and P-256 EC keys not marked for encryption.
    A key we cannot read is skipped (and logged), not fatal: the others still work."""
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        raise SignInUnavailable("the provider's JWKS has no keys list")
    keys: dict[str | None, RSAKey | ECKey] = {}
    for data in body["keys"]:
        if not isinstance(data, dict) or data.get("use", "sig") != "sig" or data.get("kty") not in ("RSA", "EC"):
            continue
        try:
            key = import_key(data)
        except (JoseError, ValueError, TypeError) as exc:
            log.warning("skipping a signing key the provider published that cannot be read", kid=data.get("kid"),
                        error=repr(exc))
            continue
        if isinstance(key, RSAKey | ECKey):
            keys[key.kid] = key
    return keys


class TokenVerifier:
    def __init__(self, http: httpx.AsyncClient, *, issuer: str, audience: str, clock: Clock,
                 leeway_seconds: int = 30, jwks_ttl: float = 600.0, refetch_min: float = 10.0,
                 fetch_timeout: float = 5.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.http = http
        self.issuer, self.audience = issuer, audience
        self.jwks_ttl, self.refetch_min, self.fetch_timeout = jwks_ttl, refetch_min, fetch_timeout
        self.monotonic = monotonic
        self._provider: Provider | None = None
        self._keys: dict[str | None, RSAKey | ECKey] | None = None
        self._fetched = 0.0     # when the keys were last fetched (monotonic)
        self._attempted = -1e9  # when a fetch was last tried, fetched or not
        self._attempts = 0  # fetches tried: a caller that waited for the lock sees whether one ran meanwhile
        self._failure: str | None = None  # why the last fetch failed, until one succeeds
        self._lock = asyncio.Lock()
        self._claims = jwt.JWTClaimsRegistry(
            now=lambda: int(clock.now().timestamp()), leeway=leeway_seconds,
            iss={"essential": True, "value": issuer}, aud={"essential": True, "value": audience},
            exp={"essential": True}, sub={"essential": True}, person_id={"essential": True},
        )

    # -- the provider and its keys ----------------------------------------------------

    async def provider(self) -> Provider:
        if self._provider is None:
            await self._refresh("start")
        assert self._provider is not None
        return self._provider

    async def _key(self, kid: str | None) -> RSAKey | ECKey | None:
        keys = self._keys
        age = self.monotonic() - self._fetched
        if keys is None or age >= self.jwks_ttl:
            keys = await self._refresh("start" if keys is None else "ttl")
        key = keys.get(kid)
        if key is None and self.monotonic() - self._attempted >= self.refetch_min:
            keys = await self._refresh("unknown_kid")
            key = keys.get(kid)
        return key

    async def _refresh(self, why: str) -> dict[str | None, RSAKey | ECKey]:
        """The keys after one fetch; concurrent callers share it, and after a failed fetch
        the next is tried no sooner than `refetch_min` later."""
        asked, attempts = self.monotonic(), self._attempts
        async with self._lock:
            tried_lately = self._attempts != attempts or (
                self._failure is not None and asked - self._attempted < self.refetch_min)
            if tried_lately:
                if self._keys is not None:
                    return self._keys
                raise SignInUnavailable(self._failure or "the provider's keys are being fetched")
            self._attempted, self._attempts = self.monotonic(), self._attempts + 1
            try:
                provider = self._provider if why == "unknown_kid" and self._provider else await self._discover()
                keys = signing_keys(await self._get(provider.jwks_uri))
            except SignInUnavailable as exc:
                JWKS_FETCHES.labels(why, "failed").inc()
                self._failure = str(exc)
                if self._keys is None:
                    raise
                log.warning("the provider's keys cannot be fetched; keeping the ones we have", error=str(exc))
                return self._keys
            JWKS_FETCHES.labels(why, "ok").inc()
            self._provider, self._keys, self._fetched, self._failure = provider, keys, self.monotonic(), None
            log.info("provider signing keys fetched", why=why, kids=sorted(str(k) for k in keys))
            return keys

    async def _discover(self) -> Provider:
        return Provider.from_discovery(self.issuer, await self._get(discovery_url(self.issuer)))

    async def _get(self, url: str) -> Any:
        try:
            response = await self.http.get(url, timeout=self.fetch_timeout)
        except httpx.HTTPError as exc:
            raise SignInUnavailable(f"{url}: {exc!r}") from exc
        if response.status_code != 200:
            raise SignInUnavailable(f"{url} answered {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise SignInUnavailable(f"{url} answered no JSON") from exc

    async def warm(self, stop: asyncio.Event) -> None:
        """Fetch the provider's configuration and keys at start, retrying until it answers,
        so the first sign-in does not wait for them."""
        delay = 1.0
        while not stop.is_set():
            try:
                await self._refresh("start")
                return
            except SignInUnavailable as exc:
                log.warning("the sign-in provider cannot be reached yet; retrying", issuer=self.issuer,
                            error=str(exc))
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, 30.0)

    # -- tokens -------------------------------------------------------------------------

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, once its signature, issuer, audience and times hold.
        Raises TokenRefused (the caller's fault) or SignInUnavailable (ours)."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRefused("the token is too long")
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeError) as exc:
            raise TokenRefused("not a signed JWT") from exc
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALGORITHMS:
            raise TokenRefused(f"alg {alg!r} is not accepted (RS256 or ES256)")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenRefused("kid is not a string")
        key = await self._key(kid)
        if key is None:
            raise TokenRefused(f"signed by a key the provider does not publish (kid {kid!r})")
        if not isinstance(key, ALGORITHMS[alg]) or key.get("alg", alg) != alg or (
                isinstance(key, ECKey) and key.curve_name != "P-256"):
            raise TokenRefused(f"key {kid!r} does not sign with {alg}")
        try:
            claims = jwt.decode(token, key, algorithms=[alg]).claims
        except BadSignatureError as exc:
            raise TokenRefused("bad signature") from exc
        except JoseError as exc:
            raise TokenRefused(f"not a valid signed JWT ({exc.error})") from exc
        try:
            self._claims.validate(claims)
        except ExpiredTokenError as exc:
            raise TokenRefused("the token has expired") from exc
        except MissingClaimError as exc:
            raise TokenRefused(f"the token lacks {exc.claim}") from exc
        except InvalidClaimError as exc:
            raise TokenRefused(_invalid(exc.claim, self)) from exc
        except JoseError as exc:
            raise TokenRefused(str(exc)) from exc
        if not isinstance(claims["person_id"], str):
            raise TokenRefused("person_id is not a string")
        return claims


def _invalid(claim: str, verifier: TokenVerifier) -> str:
    if claim == "iss":
        return f"issued by another provider (expected iss {verifier.issuer})"
    if claim == "aud":
        return f"not meant for this API (expected aud {verifier.audience})"
    if claim == "nbf":
        return "the token is not valid yet (nbf)"
    if claim == "iat":
        return "the token was issued in the future (iat)"
    return f"claim {claim} is not valid"
