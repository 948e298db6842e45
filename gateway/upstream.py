"""The gateway's client to the services: one small interface over a well-kept HTTP client.

`GATEWAY_UPSTREAM_CLIENT` chooses aiohttp's ClientSession or httpx's transport (the default
is the one `make bench` measured closer to the targets, docs/performance.md); the proxy
sees only `Upstream.send` and the four kinds of failure below. Either way, connections are
kept alive per service, at most `GATEWAY_UPSTREAM_MAX_CONNECTIONS` in all, and one idle
longer than `GATEWAY_UPSTREAM_KEEPALIVE_EXPIRY`, or one that carried a 5xx answer, is closed
rather than reused. Server-sent event streams go on a pool of their own, at most
`GATEWAY_UPSTREAM_STREAM_MAX_CONNECTIONS`: a stream holds its connection for as long as it
is open, and must never take one that other calls wait for. Neither keeps
cookies (a cookie one caller's answer set must never ride on another caller's request),
adds headers of its own, follows redirects or decompresses: the service's answer passes
as it was sent.

A service may run as several replicas (`GATEWAY_<SERVICE>_URL` lists them, comma-separated):
`Replicas` checks each one's /healthz every `GATEWAY_UPSTREAM_HEALTH_INTERVAL` seconds and
takes one that fails out of rotation, and `Balanced` spreads the calls over the ones in it,
sending a call again to the next replica when no connection could be made (nothing was sent)
or, for a call that may be repeated (an idempotent method, or a POST with an
Idempotency-Key, which the service answers once), when the connection closed unanswered."""
from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import aiohttp
import httpx
from yarl import URL

# What can go wrong, in the terms the proxy answers with.
CONNECT = "connect"        # no connection (refused, unreachable, no pool slot in time): nothing was sent
NO_ANSWER = "no_answer"    # the connection closed before any answer began
TIMEOUT = "timeout"        # the service did not answer (or finish answering) in time
BROKEN = "broken"          # the answer was not valid HTTP or broke off

UpstreamClient = Literal["aiohttp", "httpx"]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# RFC 9110 §9.2.2. aiohttp sends these once more by itself when the connection closes
# before an answer (RFC 9112 §9.3.1), so the proxy must not add a retry of its own.
_AIOHTTP_RETRIES = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# Control characters (tab aside) would let a header value start a header of its own.
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_NAME_BREAKS = re.compile(rb"[\x00-\x1f\x7f:]")


class UpstreamFailure(Exception):
    def __init__(self, kind: str, detail: str, *, retried: bool = False) -> None:
        super().__init__(detail)
        self.kind = kind
        # The client already sent the request a second time itself.
        self.retried = retried


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


@dataclass(frozen=True)
class UpstreamLimits:
    max_connections: int
    max_keepalive: int          # httpx only: aiohttp keeps any idle connection until keepalive_seconds
    keepalive_seconds: float
    connect_timeout: float
    read_timeout: float         # between two reads of an answer; none for server-sent events
    write_timeout: float        # httpx only
    pool_timeout: float         # waiting for a free connection when all are busy
    stream_max_connections: int = 100  # the separate pool for server-sent event streams
    # Services with more than one replica: the calls to them go through `Balanced`.
    replicas: tuple[Replicas, ...] = ()


def refuse_unsafe_headers(headers: list[tuple[bytes, bytes]]) -> None:
    """A line break in a value would let a caller write headers of their own (an identity
    header, say) after the ones the gateway signed; both clients refuse too, this names why."""
    for name, value in headers:
        if _CONTROL.search(value) is not None or _NAME_BREAKS.search(name) is not None:
            raise UpstreamFailure(BROKEN, f"refused to send header {name!r}: control characters or colon")


def create_upstream(client: UpstreamClient, limits: UpstreamLimits) -> Upstream:
    upstream: Upstream = AiohttpUpstream(limits) if client == "aiohttp" else HttpxUpstream(limits)
    several = [replicas for replicas in limits.replicas if len(replicas.urls) > 1]
    return Balanced(upstream, several) if several else upstream


# RFC 9110 §9.2.2, and a POST with an Idempotency-Key: the service stores its answer with the
# write, so a second delivery replays the first one's answer instead of writing again.
_REPEATABLE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


def _may_repeat(method: str, headers: list[tuple[bytes, bytes]]) -> bool:
    return method in _REPEATABLE or (method == "POST" and any(name.lower() == b"idempotency-key"
                                                               for name, _ in headers))


class Replicas:
    """One service's replicas and which of them are in rotation.

    A replica goes out when its /healthz fails or times out, or when a call to it finds no
    connection; it comes back when /healthz answers 200 again. The checks run every
    `interval` seconds from the first call on, inside the event loop that serves the calls,
    so a replica that died is out within interval + timeout seconds (SIGKILLed, at once: its
    port refuses the next call). With every replica out, all are tried: a wrong "down" costs
    a refused connection, while sending nothing anywhere would cost the call."""

    def __init__(self, service: str, urls: Sequence[str], *, interval: float = 0.5, timeout: float = 1.0) -> None:
        if not urls:
            raise ValueError(f"no URL for {service}")
        self.service, self.urls = service, tuple(url.rstrip("/") for url in urls)
        self.interval, self.timeout = interval, timeout
        self._out: dict[str, float] = {}  # replica -> since (monotonic)
        self._turn = 0
        self._watcher: asyncio.Task | None = None

    def in_rotation(self) -> list[str]:
        return [url for url in self.urls if url not in self._out]

    def pick(self) -> str:
        """The next replica in rotation (round robin)."""
        return self.order()[0]

    def order(self, *, advance: bool = True) -> list[str]:
        """Replicas to try for one call: those in rotation from the next one round, then the others.
        `advance=False` keeps the turn: for a call that has picked its replica already and wants the
        rest (two moves a call would give every call of two replicas the same one)."""
        self._watch()
        live = self.in_rotation()
        if advance:
            self._turn += 1
        if live:
            start = self._turn % len(live)
            return live[start:] + live[:start] + [url for url in self.urls if url in self._out]
        return list(self.urls)

    def owns(self, url: str) -> str | None:
        """The replica `url` was built on, if it is one of these."""
        for base in self.urls:
            if url.startswith(base) and url[len(base):len(base) + 1] in ("", "/", "?"):
                return base
        return None

    def take_out(self, url: str) -> None:
        self._out.setdefault(url, time.monotonic())

    def _watch(self) -> None:
        if len(self.urls) < 2 or (self._watcher is not None and not self._watcher.done()):
            return
        with contextlib.suppress(RuntimeError):  # not in an event loop (settings read at start-up)
            self._watcher = asyncio.get_running_loop().create_task(self._check_forever(),
                                                                   name=f"replicas-{self.service}")

    async def _check_forever(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout, trust_env=False) as client:
            async def check(url: str) -> None:
                try:
                    healthy = (await client.get(f"{url}/healthz")).status_code == 200
                except httpx.HTTPError:
                    healthy = False
                if healthy:
                    self._out.pop(url, None)
                else:
                    self.take_out(url)

            while True:
                await asyncio.gather(*(check(url) for url in self.urls))
                await asyncio.sleep(self.interval)

    async def aclose(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


class Balanced:
    """Calls to a service with several replicas, spread over those in rotation. The proxy
    builds its URL on one replica (`GatewaySettings.upstream` picks it); a call that finds
    that one gone goes to the next, as `_may_repeat` allows."""

    def __init__(self, upstream: Upstream, replicas: Sequence[Replicas]) -> None:
        self._upstream, self._replicas = upstream, list(replicas)

    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes,
                   *, streaming: bool) -> UpstreamAnswer:
        for replicas in self._replicas:
            base = replicas.owns(url)
            if base is not None:
                break
        else:
            return await self._upstream.send(method, url, headers, body, streaming=streaming)
        rest = url[len(base):]
        others = [replica for replica in replicas.order(advance=False) if replica != base]
        failure: UpstreamFailure | None = None
        for replica in [base, *others]:
            try:
                return await self._upstream.send(method, replica + rest, headers, body, streaming=streaming)
            except UpstreamFailure as exc:
                failure = exc
                if exc.kind == CONNECT or (exc.kind == NO_ANSWER and _may_repeat(method, headers)):
                    replicas.take_out(replica)
                    continue
                raise
        assert failure is not None
        raise failure

    async def aclose(self) -> None:
        for replicas in self._replicas:
            await replicas.aclose()
        await self._upstream.aclose()


# A service that answered 5xx may have closed the connection without saying so: uvicorn
# sends the 500 that Starlette's error middleware writes for an exception and then closes
# the transport, with no `Connection: close`. The pool would hand that connection to the
# next request, which meets the close on the wire and fails before any byte of an answer.
# For GET and the other idempotent methods a retry would do, but a POST cannot be retried:
# "closed before any answer" is also what a service killed while it handled the POST looks
# like, and the gateway cannot tell the two apart, so a retry could apply it twice for a
# caller without an Idempotency-Key. So the connection that carried a 5xx is never reused:
# one new connection per server error, and no request ever meets the close.
def _server_error(status: int) -> bool:
    return status >= 500


class _NoReuseAfterServerError(aiohttp.ClientResponse):
    async def start(self, connection: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
        protocol = connection.protocol
        await super().start(connection)
        if _server_error(self.status) and protocol is not None:
            # Closed when the answer is read and released, instead of going back to the pool;
            # an answer that came whole with its head went back already: closed there.
            protocol.force_close()
            if self.connection is None:
                protocol.close()
        return self


class AiohttpUpstream:
    """aiohttp's ClientSession on a TCPConnector: a pool of `max_connections` for all
    services, idle connections closed after `keepalive_seconds`, and a second session on a
    connector of `stream_max_connections` for event streams. Sessions are opened on the
    first request, inside the event loop that serves it."""

    def __init__(self, limits: UpstreamLimits) -> None:
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        self._stream_session: aiohttp.ClientSession | None = None
        # aiohttp's `connect` covers waiting for a pool slot and connecting together.
        connect = limits.pool_timeout + limits.connect_timeout
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=limits.connect_timeout,
                                              sock_read=limits.read_timeout)
        self._stream_timeout = aiohttp.ClientTimeout(total=None, connect=connect,
                                                     sock_connect=limits.connect_timeout, sock_read=None)

    def _open(self, streaming: bool) -> aiohttp.ClientSession:
        limits = self._limits
        # Services are named by address or by a cluster DNS name; aiohttp resolves no IP
        # literal, and keeps a resolved name for ten seconds.
        connector = aiohttp.TCPConnector(limit=limits.stream_max_connections if streaming else limits.max_connections,
                                         limit_per_host=0, keepalive_timeout=limits.keepalive_seconds, ttl_dns_cache=10)
        session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False, trust_env=False,
            response_class=_NoReuseAfterServerError,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"), timeout=self._timeout)
        if streaming:
            self._stream_session = session
        else:
            self._session = session
        return session

    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes,
                   *, streaming: bool) -> UpstreamAnswer:
        refuse_unsafe_headers(headers)
        if streaming:
            session = self._stream_session or self._open(streaming=True)
        else:
            session = self._session or self._open(streaming=False)
        # aiohttp takes text headers and sends them as UTF-8: bytes that are UTF-8 pass
        # unchanged, any other byte is sent as the character it stands for in Latin-1.
        try:
            text = [(name.decode("latin-1"), value.decode()) for name, value in headers]
        except UnicodeDecodeError:
            text = [(name.decode("latin-1"), _text(value)) for name, value in headers]
        if not body and method in _BODY_METHODS:
            text.append(("content-length", "0"))
        try:
            # encoded=True: the path and query go exactly as the caller wrote them.
            response = await session.request(method, URL(url, encoded=True), headers=text, data=body or None,
                                             allow_redirects=False,
                                             timeout=self._stream_timeout if streaming else self._timeout)
        except aiohttp.ConnectionTimeoutError as exc:
            raise UpstreamFailure(CONNECT, f"no connection within the connect timeout: {exc!r}") from exc
        except aiohttp.ServerTimeoutError as exc:
            raise UpstreamFailure(TIMEOUT, f"the service did not answer in time: {exc!r}") from exc
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamFailure(CONNECT, repr(exc)) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise UpstreamFailure(NO_ANSWER, f"the connection closed before an answer: {exc!r}",
                                  retried=method in _AIOHTTP_RETRIES) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamFailure(BROKEN, f"not a valid HTTP answer: {exc!r}") from exc
        if response.status == 101:
            response.close()
            raise UpstreamFailure(BROKEN, "the service switched protocols")

        async def read() -> bytes:
            try:
                return await response.read()
            except aiohttp.ServerTimeoutError as exc:
                raise UpstreamFailure(TIMEOUT, f"the service did not finish its answer in time: {exc!r}") from exc
            except aiohttp.ClientError as exc:
                raise UpstreamFailure(BROKEN, f"the answer broke off: {exc!r}") from exc

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.content.iter_any():
                    yield chunk
            except aiohttp.ClientError as exc:
                raise UpstreamFailure(BROKEN, f"the stream broke off: {exc!r}") from exc

        async def close() -> None:
            # Back to the pool when read whole; an answer left unread closes its connection.
            response.release()

        return UpstreamAnswer(status=response.status, headers=list(response.raw_headers),
                              content_type=response.headers.get("Content-Type", ""),
                              _read=read, _chunks=chunks, close=close)

    async def aclose(self) -> None:
        for session in (self._session, self._stream_session):
            if session is not None:
                await session.close()


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


class HttpxUpstream:
    """httpx's connection pool (its AsyncHTTPTransport, on httpcore and h11) without the
    AsyncClient around it: the client's cookie jar, default headers, redirect and auth
    handling are all things a proxy must not do."""

    def __init__(self, limits: UpstreamLimits) -> None:
        self._transport, self._stream_transport = (httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=min(size, limits.max_keepalive),
                                keepalive_expiry=limits.keepalive_seconds),
            trust_env=False, retries=0) for size in (limits.max_connections, limits.stream_max_connections))
        timeouts = dict(connect=limits.connect_timeout, write=limits.write_timeout, pool=limits.pool_timeout)
        self._timeout = {"timeout": {**timeouts, "read": limits.read_timeout}}
        self._stream_timeout = {"timeout": {**timeouts, "read": None}}

    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes,
                   *, streaming: bool) -> UpstreamAnswer:
        refuse_unsafe_headers(headers)
        if not body and method in _BODY_METHODS:
            headers = [*headers, (b"content-length", b"0")]
        request = httpx.Request(method, url, headers=headers, content=body,
                                extensions=self._stream_timeout if streaming else self._timeout)
        try:
            transport = self._stream_transport if streaming else self._transport
            response = await transport.handle_async_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise UpstreamFailure(CONNECT, repr(exc)) from exc
        except httpx.TimeoutException as exc:
            raise UpstreamFailure(TIMEOUT, f"the service did not answer in time: {exc!r}") from exc
        except (httpx.ReadError, httpx.WriteError) as exc:
            raise UpstreamFailure(NO_ANSWER, f"the connection closed before an answer: {exc!r}") from exc
        except httpx.RemoteProtocolError as exc:
            # httpcore's words for a connection that closed before the status line.
            if "without sending a response" in str(exc):
                raise UpstreamFailure(NO_ANSWER, f"the connection closed before an answer: {exc!r}") from exc
            raise UpstreamFailure(BROKEN, f"not a valid HTTP answer: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise UpstreamFailure(BROKEN, repr(exc)) from exc
        if response.status_code == 101:
            await response.aclose()
            raise UpstreamFailure(BROKEN, "the service switched protocols")
        if _server_error(response.status_code):
            # As for aiohttp (_NoReuseAfterServerError): closed under the pool, which finds it
            # closed when it next looks and drops it.
            network = response.extensions.get("network_stream")

            async def close() -> None:
                if network is not None:
                    await network.aclose()
                await response.aclose()
        else:
            close = response.aclose

        async def read() -> bytes:
            try:
                return b"".join([chunk async for chunk in response.aiter_raw()])
            except httpx.TimeoutException as exc:
                raise UpstreamFailure(TIMEOUT, f"the service did not finish its answer in time: {exc!r}") from exc
            except httpx.TransportError as exc:
                raise UpstreamFailure(BROKEN, f"the answer broke off: {exc!r}") from exc

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            except httpx.TransportError as exc:
                raise UpstreamFailure(BROKEN, f"the stream broke off: {exc!r}") from exc

        return UpstreamAnswer(status=response.status_code, headers=list(response.headers.raw),
                              content_type=response.headers.get("content-type", ""),
                              _read=read, _chunks=chunks, close=close)

    async def aclose(self) -> None:
        await self._transport.aclose()
        await self._stream_transport.aclose()
