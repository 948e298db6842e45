"""The HTTP server of every process (the gateway, each service's api and worker roles):
uvicorn on httptools, plus the two things neither has. httptools takes a header of any size
and any number of headers (llhttp has no limit of its own, and uvicorn sets none); uvicorn
has no deadline for a request's head, and none at all for a connection that sends nothing,
so a client trickling a header line a second (slowloris) holds a connection for ever.

Here the request head (request line and headers) is limited in bytes and in header fields,
answered 431 problem+json and the connection closed, and a client must send its whole head
within `http_header_timeout_seconds` of connecting, or of its first byte on a kept-alive
connection, or it is cut off. Idle kept-alive connections close after uvicorn's keep-alive
time as before. Settings: `http_max_header_bytes`, `http_max_headers`,
`http_header_timeout_seconds` (PlatformSettings; the gateway's own defaults are smaller)."""
from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .errors import PROBLEM_BASE, PROBLEM_JSON, Problem
from .settings import PlatformSettings

# After a 431 the client may still be sending its head. Closing a socket with unread bytes
# makes the kernel send a reset, which can destroy the answer before the client reads it, so
# the connection stays half-open this long (our side finished), dropping what arrives.
_LINGER_SECONDS = 2.0


class _HeadTooLarge(Exception):
    pass


class HeadLimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the head limits and deadline; `http_protocol`
    makes the subclass that holds one process's settings."""

    max_head_bytes: ClassVar[int]
    max_header_fields: ClassVar[int]
    head_timeout: ClassVar[float]
    refusal: ClassVar[bytes]  # the 431's headers after the server's own, and its body

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Until the head is complete the client owes us bytes: from the connection's start and
        # again from the end of each request (the next one's head).
        self._awaiting_head = True
        self._head_received = 0      # raw bytes since the head began, unfinished lines included
        self._head_bytes = 0         # the URL and the complete header lines parsed so far
        self._header_fields = 0
        self._head_begun = False     # the request line has started (leading blank lines do not count)
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        owed = self._awaiting_head
        if owed:
            self._head_received += len(data)
        super().data_received(data)
        if not self._awaiting_head or self._refused or self.transport.is_closing():
            return
        # A head left unfinished: the one this chunk went on with (a completed head resets the
        # count), or a next one it began. On a kept-alive connection a head is timed from its
        # first byte (between requests the keep-alive timeout applies, as before); a head that
        # arrives whole, the usual case, never needs a timer.
        if self._head_timer is None and (self._head_begun or (owed and self._head_received)):
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_too_slow)
        # httptools keeps a header line it has not seen the end of to itself, however long it
        # grows: only the bytes received tell.
        if self._head_received > self.max_head_bytes:
            self._refuse()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_begun = True
        self._head_bytes = 0
        self._header_fields = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._head_bytes += len(url)
        if self._head_bytes > self.max_head_bytes:
            self._stop_parsing()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_fields += 1
        self._head_bytes += len(name) + len(value) + 4  # ": " and CRLF
        if self._header_fields > self.max_header_fields or self._head_bytes > self.max_head_bytes:
            self._stop_parsing()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_begun = False
        self._head_received = 0
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head = True

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers any parser error 400; a head stopped for its size is ours to answer.
        if self._refused:
            self._answer_431()
        else:
            super().send_400_response(msg)

    def _stop_parsing(self) -> None:
        # An exception from a callback is the one way to stop httptools in the middle of a
        # chunk; uvicorn's data_received takes it for a parser error and calls send_400_response.
        self._refused = True
        raise _HeadTooLarge

    def _refuse(self) -> None:
        self._refused = True
        self._answer_431()

    def _answer_431(self) -> None:
        self._stop_head_timer()
        head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        self.transport.write(b"".join(head) + self.refusal)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(_LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._awaiting_head and not self.transport.is_closing():
            self.transport.close()

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None


def http_protocol(settings: PlatformSettings) -> type[HeadLimitedProtocol]:
    """The protocol class for uvicorn's `http=`, holding this process's limits."""
    problem = Problem(
        type=PROBLEM_BASE + "header-fields-too-large", title="Request header fields too large", status=431,
        detail=f"the request line and headers may hold at most {settings.http_max_header_bytes} bytes and "
        f"{settings.http_max_headers} header fields",
    )
    body = json.dumps(problem.body()).encode()
    answer = (f"content-type: {PROBLEM_JSON}\r\ncontent-length: {len(body)}\r\ncache-control: no-store\r\n"
              "connection: close\r\n\r\n").encode() + body

    class Configured(HeadLimitedProtocol):
        max_head_bytes = settings.http_max_header_bytes
        max_header_fields = settings.http_max_headers
        head_timeout = settings.http_header_timeout_seconds
        refusal = answer

    return Configured


def serve(app: ASGIApp, settings: PlatformSettings, *, port: int | None = None, **options: Any) -> None:
    """Serve `app` on settings.host and `port` (settings.port by default) until a signal stops
    it; `options` are uvicorn's own (timeout_keep_alive, proxy_headers, ...)."""
    uvicorn.run(app, host=settings.host, port=settings.port if port is None else port,
                http=http_protocol(settings), log_level="warning", access_log=False, lifespan="on", **options)
