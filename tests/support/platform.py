"""Test support: signed identities, in-process services on a real broker and database,
and polling instead of sleeping."""
from __future__ import annotations

import asyncio
import string
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx

from services.common.identity import (
    H_CREDENTIAL,
    H_NAME,
    H_PRINCIPAL,
    H_REQUEST,
    H_ROLE,
    H_SIGNATURE,
    H_STORE,
    Principal,
    sign,
)
from services.common.settings import DEV_IDENTITY_SECRET


def identity(role: str, store_id: str | None = None, principal_id: str | None = None, name: str = "",
             credential: str = "") -> dict[str, str]:
    """Who the caller is, as the gateway would send it (a name in Chinese percent-encoded), not
    yet signed: a client from `running` or `signing_client` signs each request that carries
    these over its own method, path, query, body and service, with a fresh nonce, as the
    gateway does. A header set from `services.common.identity.sign` goes as it is."""
    pid = principal_id or f"{role}-{store_id or 'hq'}"
    sent_name = quote(name or pid, safe=string.punctuation.replace("%", "") + " ")
    return {H_PRINCIPAL: pid, H_NAME: sent_name, H_ROLE: role, H_STORE: store_id or "", H_CREDENTIAL: credential}


def signer(service: str, secret: str = DEV_IDENTITY_SECRET) -> Callable[[httpx.Request], Awaitable[None]]:
    """An httpx request hook that signs the caller `identity` names for `service`."""

    async def sign_claims(request: httpx.Request) -> None:
        headers = request.headers
        if H_PRINCIPAL not in headers or H_SIGNATURE in headers:
            return
        principal = Principal(id=headers[H_PRINCIPAL], role=headers[H_ROLE], store_id=headers.get(H_STORE) or None,
                              name=headers.get(H_NAME, ""), credential=headers.get(H_CREDENTIAL, ""))
        body = await request.aread()
        headers.update(sign(principal, headers.get(H_REQUEST) or uuid.uuid4().hex, secret, method=request.method,
                            target=request.url.raw_path, service=service, body=body))

    return sign_claims


def signing_client(base_url: str, service: str, secret: str = DEV_IDENTITY_SECRET, **kw: Any) -> httpx.AsyncClient:
    """A client of a service running on a port that signs `identity` headers as the gateway would."""
    return httpx.AsyncClient(base_url=base_url, event_hooks={"request": [signer(service, secret)]}, **kw)


class Caller:
    """Requests as one principal, on a client that signs them (`running`, `signing_client`)."""

    def __init__(self, client: httpx.AsyncClient, role: str, store_id: str | None = None,
                 principal_id: str | None = None, *, name: str = "", credential: str = ""):
        self.client, self.role, self.store_id = client, role, store_id
        self.principal_id = principal_id or f"{role}-{store_id or 'hq'}"
        self.name, self.credential = name, credential

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {**identity(self.role, self.store_id, self.principal_id, self.name, credential=self.credential),
                **(extra or {})}

    async def get(self, url: str, **kw) -> httpx.Response:
        return await self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    async def post(self, url: str, json: Any = None, **kw) -> httpx.Response:
        return await self.client.post(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    async def patch(self, url: str, json: Any = None, **kw) -> httpx.Response:
        return await self.client.patch(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    async def delete(self, url: str, **kw) -> httpx.Response:
        return await self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


@asynccontextmanager
async def running(app) -> AsyncIterator[httpx.AsyncClient]:
    """Run a service app in this process (lifespan: migrations, relay, consumers)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        settings = app.state.settings
        async with httpx.AsyncClient(transport=transport, base_url="http://service", timeout=30,
                                     event_hooks={"request": [signer(settings.service_name,
                                                                     settings.identity_secret)]}) as client:
            yield client


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 20.0, interval: float = 0.05,
                     message: str = "condition not met") -> Any:
    """Poll `check` until it returns a truthy value; return it. Fails after `timeout`."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = await check()
            if value:
                return value
        except AssertionError as exc:
            last_exc = exc
        await asyncio.sleep(interval)
    if last_exc:
        raise AssertionError(f"{message}: {last_exc}")
    raise AssertionError(message)


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}."
