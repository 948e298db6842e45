"""Tokens from the staff's OpenID Connect provider without a browser, for tests only.

``password_grant`` uses the realm's test client (``aftersales-tests``), which exists only in
realms started with ``password_grant_client=True`` (the ``oidc_provider`` fixture): the realm
that ``make run`` imports has no client allowing that grant, so staff sign in on Keycloak's own page.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from deploy.oidc.keycloak import OidcProvider


class SignInRefused(RuntimeError):
    """The provider refused a password grant: its OAuth ``error`` and ``error_description``."""

    def __init__(self, error: str, description: str):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_in: int
    refresh_token: str | None = None
    id_token: str | None = None


async def password_grant(provider: OidcProvider, username: str, password: str, *, scope: str = "openid",
                         http: httpx.AsyncClient | None = None) -> Tokens:
    """Tokens for a username and password, through the realm's test client."""
    if provider.password_grant_client_id is None:
        raise ValueError("this realm has no client for the password grant; start it with password_grant_client=True")
    data = {"grant_type": "password", "client_id": provider.password_grant_client_id,
            "username": username, "password": password, "scope": scope}
    if http is None:
        async with httpx.AsyncClient(timeout=10) as own:
            response = await own.post(provider.token_url, data=data)
    else:
        response = await http.post(provider.token_url, data=data)
    body = response.json()
    if response.status_code != 200:
        raise SignInRefused(body.get("error", str(response.status_code)), body.get("error_description", ""))
    return Tokens(access_token=body["access_token"], expires_in=int(body["expires_in"]),
                  refresh_token=body.get("refresh_token"), id_token=body.get("id_token"))
