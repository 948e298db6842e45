"""The gateway's client to the services: one small interface, two implementations.

aiohttp carries production traffic: its connection pool hands out a kept-alive
connection in constant time, where httpx's pool checks every pooled socket on each
request (measured: about half of the gateway's CPU went there; see docs/performance.md).
An httpx transport is still accepted, so the gateway's own tests can route upstream calls
to in-process apps."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable, Protocol

import aiohttp
import httpx
from yarl import URL

# What can go wrong, in the terms the proxy answers with.
CONNECT = "connect"        # no connection (refused, unreachable, no pool slot in time): nothing was sent
NO_ANSWER = "no_answer"    # the connection closed before any answer began
TIMEOUT = "timeout"        # the service did not answer (or finish answering) in time
BROKEN = "broken"          # the answer was not valid HTTP or broke off


class UpstreamFailure(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass
class UpstreamAnswer:
    status: int
    headers: list[tuple[bytes, bytes]]
    content_type: str
    _read: Callable[[], Awaitable[bytes]]
    _chunks: Callable[[], AsyncIterator[bytes]]
    close: Callable[[], Awaitable[None]]

    async def read(self) -> bytes:
        return await self._read()

    def stream(self) -> AsyncIterator[bytes]:
        return self._chunks()


class Upstream(Protocol):
    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes,
                   *, streaming: bool) -> UpstreamAnswer: ...

    async def aclose(self) -> None: ...


class AiohttpUpstream:
    def __init__(self, *, max_connections: int, keepalive_seconds: float, connect_timeout: float,
                 pool_timeout: float, read_timeout: float) -> None:
        self._limits = dict(limit=max_connections, limit_per_host=0, keepalive_timeout=keepalive_seconds)
        # aiohttp's `connect` covers waiting for a pool slot plus the TCP connect.
        self._connect = dict(connect=pool_timeout + connect_timeout, sock_connect=connect_timeout)
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    def _session_now(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(**self._limits),
                # Bodies pass through as the service encoded them, headers as the caller sent them.
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes,
                   *, streaming: bool) -> UpstreamAnswer:
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None if streaming else self._read_timeout,
                                        **self._connect)
        try:
            response = await self._session_now().request(
                method, URL(url, encoded=True),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers],
                data=body if body or method not in ("GET", "HEAD", "OPTIONS", "DELETE") else None,
                timeout=timeout, allow_redirects=False, compress=None,
            )
        except aiohttp.ConnectionTimeoutError as exc:
            raise UpstreamFailure(CONNECT, f"connect timed out: {exc!r}") from exc
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamFailure(CONNECT, repr(exc)) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise UpstreamFailure(NO_ANSWER, repr(exc)) from exc
        except (aiohttp.ServerTimeoutError, asyncio.TimeoutError) as exc:
            raise UpstreamFailure(TIMEOUT, repr(exc)) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamFailure(BROKEN, repr(exc)) from exc

        async def read() -> bytes:
            try:
                return await response.read()
            except (aiohttp.ServerTimeoutError, asyncio.TimeoutError) as exc:
                raise UpstreamFailure(TIMEOUT, repr(exc)) from exc
            except aiohttp.ClientError as exc:
                raise UpstreamFailure(BROKEN, repr(exc)) from exc

        async def close() -> None:
            response.release()

        return UpstreamAnswer(status=response.status, headers=list(response.raw_headers),
                              content_type=response.headers.get("content-type", ""),
                              _read=read, _chunks=response.content.iter_any, close=close)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class HttpxUpstream:
    """The same interface over an httpx client (the gateway's tests give it a transport)."""

    def __init__(self, client: httpx.AsyncClient, *, connect_timeout: float, read_timeout: float,
                 write_timeout: float, pool_timeout: float) -> None:
        self._client = client
        self._timeouts = dict(connect=connect_timeout, write=write_timeout, pool=pool_timeout)
        self._read_timeout = read_timeout

    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes,
                   *, streaming: bool) -> UpstreamAnswer:
        timeout = httpx.Timeout(read=None if streaming else self._read_timeout, **self._timeouts)
        request = self._client.build_request(method, url, headers=headers, content=body, timeout=timeout)
        try:
            response = await self._client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise UpstreamFailure(CONNECT, repr(exc)) from exc
        except httpx.RemoteProtocolError as exc:
            raise UpstreamFailure(NO_ANSWER, repr(exc)) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamFailure(TIMEOUT, repr(exc)) from exc
        except httpx.TransportError as exc:
            raise UpstreamFailure(BROKEN, repr(exc)) from exc

        async def read() -> bytes:
            try:
                return b"".join([chunk async for chunk in response.aiter_raw()])
            except httpx.TimeoutException as exc:
                raise UpstreamFailure(TIMEOUT, repr(exc)) from exc
            except httpx.TransportError as exc:
                raise UpstreamFailure(BROKEN, repr(exc)) from exc

        return UpstreamAnswer(status=response.status_code, headers=list(response.headers.raw),
                              content_type=response.headers.get("content-type", ""),
                              _read=read, _chunks=response.aiter_raw, close=response.aclose)

    async def aclose(self) -> None:
        return None
