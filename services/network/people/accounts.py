"""Staff accounts at the group's OpenID Connect provider (Keycloak), kept by the staff directory.

The directory is where a person is hired, moved and marked as left; the provider holds only
what signing in needs. Network pushes each change there through Keycloak's admin REST API,
signed in as the realm's provisioning client (a service account that may manage the realm's
users and nothing else)::

    async with StaffAccounts(ProviderAdmin("http://127.0.0.1:8180", secret)) as accounts:
        await accounts.upsert(StaffAccount("E1024", "王芳", person_id="p_7f3a", phone="13800000000"),
                              password="k7mq-2xrp-9fhd")         # temporary: changed at first sign-in
        await accounts.disable("E1024")                         # left: no new sign-in, sessions ended

An unreachable or overloaded provider raises ProviderUnavailable, a ConnectionError: the
consumer runner waits such an error out and applies the event again, never dead-letters it
(services.common.db.is_connection_error). Any other refusal is a ProvisioningError.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

REALM = "aftersales"
PROVISIONING_CLIENT_ID = "aftersales-provisioning"

# Renew the service account's token this long before the provider says it expires.
TOKEN_MARGIN_SECONDS = 30
# Answers that mean "not now" rather than "no": a proxy without its upstream, a server starting or overloaded.
UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})


class ProviderUnavailable(ConnectionError):
    """The provider could not be reached, timed out, or said it cannot answer now."""


class ProvisioningError(RuntimeError):
    """The provider refused a request of the directory (a bad secret, a realm without our client)."""

    def __init__(self, message: str, status: int | None = None, body: str = ""):
        super().__init__(f"{message} (HTTP {status}): {body[:500]}" if status else message)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class ProviderAdmin:
    """Where the provider's admin API is, and the directory's own client there."""

    base_url: str  # http://127.0.0.1:8180: the server, without /realms/...
    client_secret: str
    realm: str = REALM
    client_id: str = PROVISIONING_CLIENT_ID
    timeout_seconds: float = 10.0

    @property
    def issuer(self) -> str:
        return f"{self.base_url.rstrip('/')}/realms/{self.realm}"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/admin/realms/{self.realm}"


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
            # A Chinese name is not split into given and family name (compound surnames, names
            # written in one piece): it goes whole into firstName, which the "name" claim carries as it is.
            "firstName": self.name,
            "attributes": attributes,
        }
        if self.email:
            rep["email"] = self.email
        return rep


class StaffAccounts:
    """The directory's client of Keycloak's admin REST API for one realm.

    Pass ``http`` to share a client (and its connection pool); otherwise one is made and
    ``aclose()`` closes it.
    """

    def __init__(self, admin: ProviderAdmin, *, http: httpx.AsyncClient | None = None):
        self.admin = admin
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=admin.timeout_seconds)
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
        """Create the user or bring it in line with the directory; returns the provider's user id.
        Without ``password`` a new user has none, so nobody signs in as them until one is issued;
        ``temporary`` makes the person choose their own at the first sign-in. A disabled
        account's sessions end."""
        existing = await self.find(account.employee_number)
        rep = account.representation()
        created = None
        if existing is None:
            created = await self._request("POST", "/users", json=rep, expect=(201, 409))
            if created.status_code == 409:
                # Made meanwhile by another of our writers (a sign-in issued while the event was applied).
                existing = await self.find(account.employee_number)
                if existing is None:
                    raise ProvisioningError(f"user {account.employee_number} exists and cannot be found",
                                            created.status_code, created.text)
        if existing is None:
            assert created is not None
            user_id: str = created.headers["Location"].rstrip("/").rsplit("/", 1)[1]
        else:
            user_id = existing["id"]
            await self._request("PUT", f"/users/{user_id}", json={**existing, **rep}, expect=(204,))
            if not account.enabled:
                await self.end_sessions(user_id)
        if password is not None:
            await self.set_password(user_id, password, temporary=temporary)
        return user_id

    async def set_password(self, user_id: str, password: str, *, temporary: bool = True) -> None:
        """A temporary password makes the person choose their own at the first sign-in; until
        then the provider gives them no token."""
        await self._request(
            "PUT", f"/users/{user_id}/reset-password",
            json={"type": "password", "value": password, "temporary": temporary}, expect=(204,),
        )

    async def disable(self, employee_number: str) -> bool:
        """The person left: no new sign-in, and their sessions (refresh tokens) end. False if unknown.

        Access tokens already issued stay valid until they expire (5 minutes in this realm):
        refusing them at once is the gateway's job, from the directory's status.
        """
        existing = await self.find(employee_number)
        if existing is None:
            return False
        await self._request("PUT", f"/users/{existing['id']}", json={**existing, "enabled": False}, expect=(204,))
        await self.end_sessions(existing["id"])
        return True

    async def end_sessions(self, user_id: str) -> None:
        await self._request("POST", f"/users/{user_id}/logout", expect=(204,))

    async def _request(self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kw: Any) -> httpx.Response:
        token = await self.service_token()
        response = await self._send(method, self.admin.admin_url + path,
                                    headers={"Authorization": f"Bearer {token}"}, **kw)
        if response.status_code not in expect:
            raise ProvisioningError(f"{method} {path} failed", response.status_code, response.text)
        return response

    async def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, url, **kw)
        except httpx.TransportError as exc:
            raise ProviderUnavailable(f"{method} {url}: {exc!r}") from exc
        if response.status_code in UNAVAILABLE_STATUSES:
            raise ProviderUnavailable(f"{method} {url}: HTTP {response.status_code}")
        return response

    async def service_token(self) -> str:
        """The provisioning client's own access token (client credentials), renewed before it expires."""
        if self._token is None or time.monotonic() >= self._token_expires:
            response = await self._send(
                "POST", self.admin.token_url, data={"grant_type": "client_credentials"},
                auth=(self.admin.client_id, self.admin.client_secret),
            )
            if response.status_code != 200:
                raise ProvisioningError("the provisioning client could not sign in", response.status_code,
                                        response.text)
            body = response.json()
            self._token = body["access_token"]
            self._token_expires = time.monotonic() + int(body["expires_in"]) - TOKEN_MARGIN_SECONDS
        assert self._token is not None
        return self._token
