"""Staff accounts at the OpenID Connect provider, kept by the platform's staff directory.

The directory (network) is where a person is hired, moved and marked as left; Keycloak only
holds what sign-in needs. The directory pushes each change here through Keycloak's admin REST
API, signed in as the realm's provisioning client (a service account allowed to manage users
in the ``aftersales`` realm and nothing else)::

    accounts = StaffAccounts(provider)
    await accounts.upsert(StaffAccount("E1024", "王芳", person_id="p_7f3a", phone="13800000000"),
                          password="first-day-password")     # temporary: changed at first sign-in
    await accounts.disable("E1024")                         # left: no new sign-in, sessions ended

``password_grant`` gets tokens for a username and password. Only the tests use it, through a
client that exists only in realms started with ``password_grant_client=True``: the realm that
``make run`` imports has no client allowing that grant, so staff sign in on Keycloak's own page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

REALM = "aftersales"
API_AUDIENCE = "aftersales-api"
DASHBOARD_CLIENT_ID = "hq-dashboard"
PROVISIONING_CLIENT_ID = "aftersales-provisioning"
PASSWORD_GRANT_CLIENT_ID = "aftersales-tests"

# Renew the service account's token this long before Keycloak says it expires.
TOKEN_MARGIN_SECONDS = 30


class ProvisioningError(RuntimeError):
    """Keycloak refused or failed a request of the directory."""

    def __init__(self, message: str, status: int | None = None, body: str = ""):
        super().__init__(f"{message} (HTTP {status}): {body[:500]}" if status else message)
        self.status = status
        self.body = body


class SignInRefused(RuntimeError):
    """The provider refused a password grant: its OAuth ``error`` and ``error_description``."""

    def __init__(self, error: str, description: str):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


@dataclass(frozen=True)
class OidcProvider:
    """Where the provider is and the platform's own credentials there."""

    issuer: str  # http://127.0.0.1:<port>/realms/aftersales
    provisioning_client_secret: str
    provisioning_client_id: str = PROVISIONING_CLIENT_ID
    dashboard_client_id: str = DASHBOARD_CLIENT_ID
    password_grant_client_id: str | None = None  # only in realms started for tests
    audience: str = API_AUDIENCE

    @property
    def base_url(self) -> str:
        return self.issuer.split("/realms/", 1)[0]

    @property
    def realm(self) -> str:
        return self.issuer.rstrip("/").rsplit("/", 1)[1]

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/admin/realms/{self.realm}"


@dataclass(frozen=True)
class StaffAccount:
    """One person as sign-in sees them. The username is the employee number (Keycloak keeps it in lower case)."""

    employee_number: str
    name: str
    person_id: str
    phone: str | None = None
    email: str | None = None
    enabled: bool = True

    def representation(self) -> dict[str, Any]:
        attributes = {"person_id": [self.person_id]}
        if self.phone:
            attributes["phone"] = [self.phone]
        rep: dict[str, Any] = {
            "username": self.employee_number,
            "enabled": self.enabled,
            # A Chinese name is not split into given and family name: it goes whole into firstName,
            # which Keycloak's "name" claim then carries as it is.
            "firstName": self.name,
            "attributes": attributes,
        }
        if self.email:
            rep["email"] = self.email
        return rep


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_in: int
    refresh_token: str | None = None
    id_token: str | None = None


class StaffAccounts:
    """The directory's client of Keycloak's admin REST API for one realm.

    Pass ``http`` to share a client (and its connection pool); otherwise one is made and
    ``aclose()`` closes it.
    """

    def __init__(self, provider: OidcProvider, *, http: httpx.AsyncClient | None = None, timeout: float = 10):
        self.provider = provider
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._token: str | None = None
        self._token_expires = 0.0

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> StaffAccounts:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def find(self, employee_number: str) -> dict[str, Any] | None:
        """The user whose username is this employee number, or None."""
        found = await self._request(
            "GET", "/users", params={"username": employee_number, "exact": "true", "briefRepresentation": "false"}
        )
        users = found.json()
        return users[0] if users else None

    async def upsert(self, account: StaffAccount, *, password: str | None = None, temporary: bool = True) -> str:
        """Create the user or bring it in line with the directory; returns Keycloak's user id.

        ``password`` sets a password too; ``temporary`` makes the person choose a new one at
        the first sign-in (Keycloak then refuses the password grant until they have).
        """
        existing = await self.find(account.employee_number)
        rep = account.representation()
        if existing is None:
            created = await self._request("POST", "/users", json=rep, expect=(201,))
            user_id = created.headers["Location"].rstrip("/").rsplit("/", 1)[1]
        else:
            user_id = existing["id"]
            await self._request("PUT", f"/users/{user_id}", json={**existing, **rep}, expect=(204,))
            if not account.enabled:
                await self._end_sessions(user_id)
        if password is not None:
            await self.set_password(user_id, password, temporary=temporary)
        return user_id

    async def set_password(self, user_id: str, password: str, *, temporary: bool = True) -> None:
        await self._request(
            "PUT", f"/users/{user_id}/reset-password",
            json={"type": "password", "value": password, "temporary": temporary}, expect=(204,),
        )

    async def disable(self, employee_number: str) -> bool:
        """The person left: no new sign-in and their sessions (refresh tokens) end. False if unknown.

        Access tokens already issued stay valid until they expire (5 minutes in this realm):
        refusing them at once is the gateway's job, from the directory's status.
        """
        existing = await self.find(employee_number)
        if existing is None:
            return False
        await self._request("PUT", f"/users/{existing['id']}", json={**existing, "enabled": False}, expect=(204,))
        await self._end_sessions(existing["id"])
        return True

    async def _end_sessions(self, user_id: str) -> None:
        await self._request("POST", f"/users/{user_id}/logout", expect=(204,))

    async def _request(self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kw: Any) -> httpx.Response:
        token = await self.service_token()
        response = await self._http.request(
            method, self.provider.admin_url + path, headers={"Authorization": f"Bearer {token}"}, **kw
        )
        if response.status_code not in expect:
            raise ProvisioningError(f"{method} {path} failed", response.status_code, response.text)
        return response

    async def service_token(self) -> str:
        """The provisioning client's own access token (client credentials), renewed before it expires."""
        if self._token is None or time.monotonic() >= self._token_expires:
            response = await self._http.post(
                self.provider.token_url,
                data={"grant_type": "client_credentials"},
                auth=(self.provider.provisioning_client_id, self.provider.provisioning_client_secret),
            )
            if response.status_code != 200:
                raise ProvisioningError("the provisioning client could not sign in",
                                        response.status_code, response.text)
            body = response.json()
            self._token = body["access_token"]
            self._token_expires = time.monotonic() + int(body["expires_in"]) - TOKEN_MARGIN_SECONDS
        assert self._token is not None
        return self._token


async def password_grant(provider: OidcProvider, username: str, password: str, *, scope: str = "openid",
                         http: httpx.AsyncClient | None = None) -> Tokens:
    """Tokens for a username and password, through the realm's test client (tests only, see above)."""
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
