"""The gateway's client to the services: one small interface, two implementations.

`gateway.connections.ServiceConnections` carries production traffic. httpx's pool
checks every pooled socket on each request and aiohttp's client spends more CPU per
request than the rest of the gateway together (both measured; docs/performance.md).
An httpx transport is still accepted, so the gateway's own tests can route upstream calls
to in-process apps."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable, Protocol

import httpx

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
