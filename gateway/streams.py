"""Server-sent event streams at the gateway: how many one principal may hold, and the relay
that carries one from the service to the caller.

A stream holds a connection to its service for as long as it is open, so without a bound
one key could open hundreds and take every upstream connection from everybody else. Here
a principal (the person, or a machine's key) holds at most `per_principal` streams in
this process, and the process at most `total` (the size of the upstream pool kept for
streams, gateway/upstream.py). A stream ends after `lifetime` with reconnection advice,
so no stream is held forever and a caller's streams come back to the limits of today;
while the service is quiet, a comment line every `heartbeat` seconds shows the caller and
any proxy between that the stream is alive, and shows the gateway when the caller left."""
from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from services.common.logging import get_logger

from .upstream import UpstreamFailure

log = get_logger(__name__)

# A comment line (WHATWG HTML, server-sent events: a line starting with a colon is ignored).
HEARTBEAT = b": keep-alive\n"
_LIFETIME_NOTE = ": 连接已到最长时间，请重新连接 stream lifetime reached, reconnect".encode()


@dataclass
class StreamSlot:
    """One open stream of `principal`, counted until released (once, however often called)."""

    principal: str
    opened: float
    ends_at: float
    slots: StreamSlots = field(repr=False)
    _released: bool = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.slots._release(self)


class StreamSlots:
    def __init__(self, per_principal: int, total: int, lifetime: float, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_principal < 1 or total < 1 or lifetime <= 0:
            raise ValueError("streams need per_principal >= 1, total >= 1 and lifetime > 0")
        self.per_principal, self.total, self.lifetime, self.clock = per_principal, total, lifetime, clock
        self._open: dict[str, list[StreamSlot]] = {}
        self._count = 0

    def open(self, principal: str) -> StreamSlot | None:
        """A slot for one more stream of `principal`, or None when it holds its limit already."""
        held = self._open.get(principal)
        if held is not None and len(held) >= self.per_principal:
            return None
        now = self.clock()
        slot = StreamSlot(principal, now, now + self.lifetime, self)
        self._open.setdefault(principal, []).append(slot)
        self._count += 1
        return slot

    def full(self) -> bool:
        return self._count >= self.total

    def held(self, principal: str) -> int:
        return len(self._open.get(principal, ()))

    def in_use(self) -> int:
        return self._count

    def retry_after(self, principal: str) -> float:
        """Seconds until the first of `principal`'s open streams reaches its lifetime."""
        held = self._open.get(principal)
        if not held:
            return 0.0
        return max(0.0, min(slot.ends_at for slot in held) - self.clock())

    def _release(self, slot: StreamSlot) -> None:
        held = self._open.get(slot.principal)
        if held is None or slot not in held:
            return
        held.remove(slot)
        self._count -= 1
        if not held:
            del self._open[slot.principal]


class _Tail:
    """Where the bytes sent so far end, in the stream's own terms: a comment may go only
    where a line starts, and the stream may end cleanly only where an event does."""

    def __init__(self) -> None:
        self.last = b"\n\n"

    def add(self, chunk: bytes) -> None:
        if chunk:
            self.last = (self.last + chunk)[-2:]

    @property
    def line_start(self) -> bool:
        # A lone CR also ends a line, but a LF may follow it in the next chunk (CRLF), and a
        # comment between the two would make that LF an empty line: a premature dispatch.
        return self.last.endswith(b"\n")

    @property
    def event_start(self) -> bool:
        return self.last == b"\n\n"


class EventStream(Response):
    """The service's event stream relayed as it comes, with the gateway's heartbeats and
    its lifetime; the slot is released and the service's answer closed however it ends
    (the service ends it, the caller leaves, the lifetime passes, the stream breaks off)."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], chunks: AsyncIterator[bytes],
                 close: Callable[[], Awaitable[None]], slot: StreamSlot, *, heartbeat: float, retry_ms: int,
                 service: str) -> None:
        self.status_code = status
        self.raw_headers = list(headers)
        self.background = None
        self._chunks, self._close, self._slot = chunks, close, slot
        self._heartbeat, self._retry_ms, self._service = heartbeat, retry_ms, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        left = asyncio.ensure_future(_disconnected(receive))
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            if await self._relay(send, left):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self._slot.release()
            left.cancel()
            try:
                await self._close()
            finally:
                with contextlib.suppress(asyncio.CancelledError):
                    await left

    async def _relay(self, send: Send, left: asyncio.Future) -> bool:
        """Relay until the stream ends; False when the caller left (nothing more to send)."""
        tail, clock = _Tail(), self._slot.slots.clock
        # At the lifetime, an event the service is halfway through may still finish, for
        # one heartbeat's time; then the stream ends where it is.
        last_call = self._slot.ends_at + self._heartbeat
        quiet_since = clock()
        pending: asyncio.Future[bytes] | None = None
        try:
            while True:
                now = clock()
                if now >= self._slot.ends_at and (tail.event_start or now >= last_call):
                    await send({"type": "http.response.body", "body": self._lifetime_end(tail), "more_body": True})
                    return True
                if pending is None:
                    pending = asyncio.ensure_future(anext(self._chunks))
                wake = quiet_since + self._heartbeat
                if now < self._slot.ends_at:
                    wake = min(wake, self._slot.ends_at)
                else:
                    wake = min(wake, last_call)
                done, _ = await asyncio.wait({pending, left}, timeout=max(0.0, wake - now),
                                             return_when=asyncio.FIRST_COMPLETED)
                if left in done:
                    return False
                if pending in done:
                    try:
                        chunk = pending.result()
                    except StopAsyncIteration:
                        return True
                    except UpstreamFailure as failure:
                        # The answer has begun: all the caller can be told is that it ends.
                        log.warning("stream broke off", service=self._service, error=str(failure))
                        return True
                    finally:
                        pending = None
                    tail.add(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    quiet_since = clock()
                elif clock() - quiet_since >= self._heartbeat:
                    # Never inside a line: a beat due there is skipped.
                    if tail.line_start:
                        beat = HEARTBEAT + b"\n" if tail.event_start else HEARTBEAT
                        tail.add(beat)
                        await send({"type": "http.response.body", "body": beat, "more_body": True})
                    quiet_since = clock()
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, UpstreamFailure):
                    await pending

    def _lifetime_end(self, tail: _Tail) -> bytes:
        """What ends a stream at its lifetime: a note and the reconnection delay where a line
        starts; a blank line after them only where an event starts, since within an event it
        would hand the caller the half that came (an event cut off by the end is dropped)."""
        if not tail.line_start:
            return b""
        advice = _LIFETIME_NOTE + b"\nretry: %d\n" % self._retry_ms
        return advice + b"\n" if tail.event_start else advice


async def _disconnected(receive: Receive) -> None:
    """Returns when the caller has gone (the request's body was read whole before)."""
    while (await receive())["type"] != "http.disconnect":
        pass
