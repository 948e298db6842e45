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

from services.common.identity import Principal, sign
from services.common.settings import DEV_IDENTITY_SECRET


def identity(role: str, store_id: str | None = None, principal_id: str | None = None, name: str = "",
             secret: str = DEV_IDENTITY_SECRET, credential: str = "") -> dict[str, str]:
    """Headers the gateway would send for this caller (a name in Chinese percent-encoded, as the gateway sends it)."""
    pid = principal_id or f"{role}-{store_id or 'hq'}"
    sent_name = quote(name or pid, safe=string.punctuation.replace("%", "") + " ")
    return sign(Principal(id=pid, role=role, store_id=store_id, name=sent_name, credential=credential),
                uuid.uuid4().hex, secret)


class Caller:
    """An httpx client that signs every request afresh as one principal."""

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
        async with httpx.AsyncClient(transport=transport, base_url="http://service", timeout=30) as client:
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
