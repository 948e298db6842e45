"""A small OpenID Connect provider for the gateway's fast tests: keys made here with joserfc,
published as a JWKS beside a discovery document by uvicorn on a port of its own, and tokens
signed with them as the test asks (expired, for another audience, with an unpublished key...).
The real provider (Keycloak) is tested in test_tokens_keycloak.py."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.gateway.servers import Served

AUDIENCE = "aftersales-api"

Key = RSAKey | ECKey


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class LocalProvider:
    """`issuer` once started; `published` are the keys in its JWKS, `signing` the one it signs with."""

    def __init__(self) -> None:
        self.served = Served(Starlette(routes=[
            Route("/realms/test/.well-known/openid-configuration", self._discovery),
            Route("/realms/test/protocol/openid-connect/certs", self._jwks),
        ]))
        self.issuer = f"{self.served.url}/realms/test"
        self.signing: Key = RSAKey.generate_key(2048, auto_kid=True)
        self.published: list[Key] = [self.signing]
        self._encryption = RSAKey.generate_key(2048, auto_kid=True)
        self.jwks_fetches = 0
        self.discovery_fetches = 0
        self.down = False

    async def _discovery(self, request: Request) -> Response:
        if self.down:
            return JSONResponse({"error": "down"}, status_code=503)
        self.discovery_fetches += 1
        base = f"{self.issuer}/protocol/openid-connect"
        return JSONResponse({
            "issuer": self.issuer, "jwks_uri": f"{base}/certs", "authorization_endpoint": f"{base}/auth",
            "token_endpoint": f"{base}/token", "end_session_endpoint": f"{base}/logout",
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        })

    async def _jwks(self, request: Request) -> Response:
        if self.down:
            return JSONResponse({"error": "down"}, status_code=503)
        self.jwks_fetches += 1
        keys = [{**k.as_dict(private=False), "use": "sig"} for k in self.published]
        # What Keycloak publishes beside its signing keys: an encryption key, never to be used for signatures.
        keys.append({**self._encryption.as_dict(private=False), "use": "enc", "alg": "RSA-OAEP"})
        return JSONResponse({"keys": keys})

    def rotate(self, key: Key | None = None) -> Key:
        """A new signing key, published beside the old one (as a provider rotates)."""
        self.signing = key or RSAKey.generate_key(2048, auto_kid=True)
        self.published.append(self.signing)
        return self.signing

    def claims(self, person_id: str | None, /, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": [AUDIENCE, "account"], "sub": str(uuid.uuid4()), "typ": "Bearer",
            "azp": "hq-dashboard", "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), "sid": str(uuid.uuid4()),
            "person_id": person_id, "preferred_username": "e1024", "name": "someone",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, person_id: str | None = "p-1", /, *, key: Key | None = None, alg: str | None = None,
              header: dict[str, Any] | None = None, **claims: Any) -> str:
        """A token signed by `key` (the signing key unless given); claims given as None (and a
        person_id of None) are left out."""
        key = key or self.signing
        alg = alg or ("ES256" if isinstance(key, ECKey) else "RS256")
        return jwt.encode({"alg": alg, "kid": key.kid, **(header or {})}, self.claims(person_id, **claims), key,
                          algorithms=[alg])

    def unsigned(self, person_id: str = "p-1", **claims: Any) -> str:
        """alg none: no signature at all."""
        head = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        return f"{head}.{b64(json.dumps(self.claims(person_id, **claims)).encode())}."

    def signed_raw(self, header: dict[str, Any], payload: bytes) -> str:
        """RS256-signed by the signing key over whatever header and payload, however odd."""
        assert isinstance(self.signing, RSAKey)
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(payload)}"
        signature = self.signing.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64(signature)}"

    def hs256_with_public_key(self, person_id: str = "p-1") -> str:
        """The old confusion attack: HMAC-signed with the provider's public key (anyone has it) as the secret."""
        public_pem = self.signing.as_pem(private=False)
        head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": self.signing.kid}).encode())
        body = b64(json.dumps(self.claims(person_id)).encode())
        mac = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{b64(mac)}"


@asynccontextmanager
async def local_provider() -> AsyncIterator[LocalProvider]:
    provider = LocalProvider()
    await provider.served.start()
    try:
        yield provider
    finally:
        await provider.served.stop()
