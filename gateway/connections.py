"""The gateway's HTTP/1.1 client to the services: kept-alive connections, parsed by httptools.

Every proxied request crosses this client, so it does only what a gateway in front of its
own services needs: one request at a time per connection, answers by Content-Length,
chunked or close-delimited, server-sent events streamed with back-pressure, and the
failures the proxy maps to 502/503/504 (`gateway.upstream`). In a bare forwarder on the
benchmark's machine, aiohttp's client cost 1.34 ms of CPU per proxied GET and this
design 0.61 ms (docs/performance.md). Parsing is httptools (llhttp, the parser uvicorn
uses); the pool and the exchange are ours."""
from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from typing import AsyncIterator, Callable

import httptools

from .upstream import BROKEN, CONNECT, NO_ANSWER, TIMEOUT, UpstreamAnswer, UpstreamFailure

# A streamed answer stops reading from the service while this much waits for a slow caller.
STREAM_HIGH_WATER = 256 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class _StrayBytes(Exception):
    pass


class _Exchange:
    """One request's answer on one connection: the httptools callbacks and their waiters."""

    __slots__ = ("connection", "parser", "head_only", "status", "headers", "chunks", "buffered", "head",
                 "complete", "keep_alive", "failure", "waiter", "last_read", "timeout", "length_known",
                 "interim", "streaming")

    def __init__(self, connection: _Connection, head_only: bool, timeout: float | None, streaming: bool) -> None:
        self.connection = connection
        self.parser = httptools.HttpResponseParser(self)
        self.head_only = head_only
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.head: asyncio.Future[None] = connection.loop.create_future()
        self.complete = False
        self.keep_alive = False
        self.failure: UpstreamFailure | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.last_read = time.monotonic()
        self.timeout = timeout
        self.length_known = False
        self.interim = False
        self.streaming = streaming
        if timeout is not None:
            connection.pool._watch(self)

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self.complete:
            self._stray()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        low = name.lower()
        if low == b"content-length" or low == b"transfer-encoding":
            self.length_known = True

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            # An interim answer (100 Continue): the real one follows on the same connection.
            self.interim = True
            self.headers = []
            self.length_known = False
            return
        self.status = status
        if self.head_only:
            # A HEAD answer has no body whatever its Content-Length says.
            self._finish(self.parser.should_keep_alive())
        if not self.head.done():
            self.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        if self.complete:
            self._stray()
        self.chunks.append(body)
        self.buffered += len(body)
        if self.streaming and self.buffered > STREAM_HIGH_WATER:
            self.connection.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.interim:
            self.interim = False
            return
        if not self.complete:
            self._finish(self.parser.should_keep_alive())

    def _stray(self) -> None:
        # Bytes past the answer nobody asked for: this connection's framing can no longer be trusted.
        self.connection.discard()
        raise _StrayBytes()

    # what the connection tells us
    def data(self, data: bytes) -> None:
        if self.timeout is not None:
            self.last_read = time.monotonic()
        parser = self.parser
        try:
            parser.feed_data(data)
        except httptools.HttpParserCallbackError:
            if self.failure is None and not self.complete:
                self.fail(BROKEN, "the answer could not be read")
        except httptools.HttpParserUpgrade:
            self.fail(BROKEN, "the service switched protocols")
        except httptools.HttpParserError as exc:
            self.fail(BROKEN, f"not a valid HTTP answer: {exc}")

    def lost(self, exc: Exception | None) -> None:
        if self.complete:
            return
        if self.head.done() and not self.length_known and not self.head_only:
            # No Content-Length, not chunked: the answer was everything up to the close.
            self._finish(False)
        elif not self.head.done() and not self.status:
            self.fail(NO_ANSWER, f"the connection closed before an answer ({exc!r})")
        else:
            self.fail(BROKEN, f"the connection closed within the answer ({exc!r})")

    def fail(self, kind: str, detail: str) -> None:
        if self.complete or self.failure is not None:
            return
        self.failure = UpstreamFailure(kind, detail)
        self._unwatch()
        self.connection.discard()
        if not self.head.done():
            self.head.set_exception(self.failure)
            # Marked retrieved: a caller that already left must not log "never retrieved".
            self.head.exception()
        self._wake()

    def _finish(self, keep_alive: bool) -> None:
        self.complete = True
        self.keep_alive = keep_alive
        self._unwatch()
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _unwatch(self) -> None:
        if self.timeout is not None:
            self.connection.pool._watched.discard(self)

    def check_timeout(self, now: float) -> None:
        if self.complete or self.failure is not None:
            return
        if now - self.last_read >= self.timeout:  # type: ignore[operator]
            what = "finish its answer" if self.head.done() else "answer"
            self.fail(TIMEOUT, f"the service did not {what} within {self.timeout} s")

    # what the proxy calls
    async def wait_head(self) -> None:
        await self.head

    async def read(self) -> bytes:
        while not self.complete:
            if self.failure is not None:
                raise self.failure
            await self._wait()
        if self.failure is not None and not self.complete:
            raise self.failure
        return b"".join(self.chunks)

    async def stream(self) -> AsyncIterator[bytes]:
        while True:
            if self.chunks:
                data = b"".join(self.chunks)
                self.chunks.clear()
                self.buffered = 0
                self.connection.resume_reading()
                yield data
                continue
            if self.complete:
                return
            if self.failure is not None:
                raise self.failure
            await self._wait()

    async def _wait(self) -> None:
        self.waiter = self.connection.loop.create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None


class _Connection(asyncio.Protocol):
    """One kept-alive connection to a service; at most one exchange at a time."""

    def __init__(self, pool: ServiceConnections, origin: tuple[str, int, bool]) -> None:
        self.pool = pool
        self.origin = origin
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.exchange: _Exchange | None = None
        self.closed = False
        self.idle_since = 0.0
        self._reading_paused = False
        self._counted = False  # holds one of the pool's slots once handed out, until discarded or lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None or exchange.complete:
            # Bytes nobody asked for: the connection's framing can no longer be trusted.
            self.discard()
            return
        exchange.data(data)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.exchange is not None:
            self.exchange.lost(exc)
        self._free_slot()

    def pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()

    def discard(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        # The slot frees now, not when the close completes on a later turn of the loop.
        self._free_slot()

    def _free_slot(self) -> None:
        if self._counted:
            self._counted = False
            self.pool._freed(self)

    def start(self, request: bytes, head_only: bool, timeout: float | None, streaming: bool) -> _Exchange:
        self.exchange = exchange = _Exchange(self, head_only, timeout, streaming)
        assert self.transport is not None
        try:
            self.transport.write(request)
        except RuntimeError as exc:  # uvloop, when the socket closed under us
            exchange.fail(NO_ANSWER, f"the connection closed before the request was sent ({exc!r})")
        return exchange


class ServiceConnections:
    """Pooled connections per service origin, at most `max_connections` in all.

    A connection goes back to the pool once its answer is read whole and the service
    keeps it alive; one idle longer than `keepalive_seconds` (below the services' own
    idle timeout) is closed rather than reused, so a request is rarely written onto a
    connection the service is closing at that moment. When that still happens, the proxy
    gets NO_ANSWER and retries idempotent methods once."""

    def __init__(self, *, max_connections: int, keepalive_seconds: float, connect_timeout: float,
                 pool_timeout: float, read_timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_connections = max_connections
        self.keepalive_seconds = keepalive_seconds
        self.connect_timeout = connect_timeout
        self.pool_timeout = pool_timeout
        self.read_timeout = read_timeout
        self.clock = clock
        self.open = 0
        self._idle: dict[tuple[str, int, bool], deque[_Connection]] = {}
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._origins: dict[str, tuple[tuple[str, int, bool], bytes]] = {}
        self._ssl: ssl.SSLContext | None = None
        self._closing = False
        # Read timeouts: one sweep over the answers in flight, rather than a timer armed and
        # cancelled for every request. An answer times out within a quarter of the timeout late.
        self._watched: set[_Exchange] = set()
        self._sweep: asyncio.TimerHandle | None = None

    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes,
                   *, streaming: bool) -> UpstreamAnswer:
        origin, authority, target = self._split(url)
        parts = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\nhost: ", authority, b"\r\n"]
        for name, value in headers:
            if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name or b":" in name:
                raise UpstreamFailure(BROKEN, f"refused to send header {name!r}: line breaks or colon")
            parts += (name, b": ", value, b"\r\n")
        if body or method in _BODY_METHODS:
            parts.append(b"content-length: %d\r\n" % len(body))
        parts.append(b"\r\n")
        if body:
            parts.append(body)
        request = b"".join(parts)

        connection = await self._acquire(origin)
        exchange = connection.start(request, method == "HEAD", None if streaming else self.read_timeout, streaming)
        try:
            await exchange.wait_head()
        except BaseException:
            connection.exchange = None
            exchange._unwatch()
            connection.discard()
            raise

        async def close() -> None:
            self._release(connection, exchange)

        content_type = ""
        for name, value in exchange.headers:
            if name.lower() == b"content-type":
                content_type = value.decode("latin-1")
                break
        return UpstreamAnswer(status=exchange.status, headers=exchange.headers, content_type=content_type,
                              _read=exchange.read, _chunks=exchange.stream, close=close)

    async def aclose(self) -> None:
        self._closing = True
        for idle in self._idle.values():
            while idle:
                idle.pop().discard()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(UpstreamFailure(CONNECT, "the gateway is shutting down"))
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None

    # the pool
    def _split(self, url: str) -> tuple[tuple[str, int, bool], bytes, bytes]:
        scheme, sep, rest = url.partition("://")
        authority, slash, path = rest.partition("/")
        known = self._origins.get(authority) if scheme == "http" else None
        if known is None:
            if not sep or scheme not in ("http", "https") or not authority:
                raise UpstreamFailure(CONNECT, f"not an http(s) URL: {url!r}")
            tls = scheme == "https"
            host, port = authority, 443 if tls else 80
            if authority.startswith("["):
                end = authority.find("]")
                host, tail = authority[1:end], authority[end + 1:]
                if tail.startswith(":"):
                    port = int(tail[1:])
            elif ":" in authority:
                host, _, number = authority.rpartition(":")
                port = int(number)
            known = ((host, port, tls), authority.encode("ascii"))
            if not tls:
                self._origins[authority] = known
        return known[0], known[1], (slash + path).encode("latin-1") or b"/"

    async def _acquire(self, origin: tuple[str, int, bool]) -> _Connection:
        idle = self._idle.get(origin)
        if idle:
            now = self.clock()
            while idle:
                connection = idle.pop()
                if connection.closed or connection.transport is None or connection.transport.is_closing():
                    # Closed by the service (its FIN may be read before connection_lost runs).
                    connection.discard()
                    continue
                if now - connection.idle_since > self.keepalive_seconds:
                    connection.discard()
                    continue
                return connection
        if self._closing:
            raise UpstreamFailure(CONNECT, "the gateway is shutting down")
        if self.open >= self.max_connections and not self._evict_idle():
            await self._wait_for_slot()
            return await self._acquire(origin)
        self.open += 1
        try:
            return await self._connect(origin)
        except BaseException:
            self.open -= 1
            self._wake_one()
            raise

    async def _wait_for_slot(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, self.pool_timeout)
        except asyncio.TimeoutError as exc:
            raise UpstreamFailure(CONNECT, f"no connection to the service free within {self.pool_timeout} s") from exc
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def _connect(self, origin: tuple[str, int, bool]) -> _Connection:
        host, port, tls = origin
        if tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self, origin), host, port,
                                       ssl=self._ssl if tls else None), self.connect_timeout)
        except asyncio.TimeoutError as exc:
            raise UpstreamFailure(CONNECT, f"connect to {host}:{port} timed out") from exc
        except OSError as exc:
            raise UpstreamFailure(CONNECT, f"connect to {host}:{port} failed: {exc!r}") from exc
        connection._counted = True
        return connection

    def _release(self, connection: _Connection, exchange: _Exchange) -> None:
        if connection.exchange is not exchange:
            return
        connection.exchange = None
        exchange._unwatch()
        if not exchange.complete or not exchange.keep_alive or connection.closed or self._closing:
            # Unread or unreusable: closing is the only way to end an answer midway.
            connection.discard()
            return
        connection.resume_reading()
        connection.idle_since = self.clock()
        idle = self._idle.setdefault(connection.origin, deque())
        idle.append(connection)
        # Whoever has waited longest for a slot takes this connection's turn.
        self._wake_one()

    def _watch(self, exchange: _Exchange) -> None:
        self._watched.add(exchange)
        if self._sweep is None:
            self._arm_sweep(exchange.connection.loop)

    def _arm_sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweep = loop.call_later(max(0.01, self.read_timeout / 4), self._sweep_timeouts, loop)

    def _sweep_timeouts(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweep = None
        now = time.monotonic()
        for exchange in list(self._watched):
            exchange.check_timeout(now)
        if self._watched:
            self._arm_sweep(loop)

    def _freed(self, connection: _Connection) -> None:
        self.open -= 1
        idle = self._idle.get(connection.origin)
        if idle and connection in idle:
            idle.remove(connection)
        self._wake_one()

    def _evict_idle(self) -> bool:
        """All slots taken: close the longest-idle connection to any service, if one is idle."""
        oldest: deque[_Connection] | None = None
        for idle in self._idle.values():
            if idle and (oldest is None or idle[0].idle_since < oldest[0].idle_since):
                oldest = idle
        if oldest is None:
            return False
        oldest.popleft().discard()
        return True

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
