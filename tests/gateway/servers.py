"""Real HTTP servers inside the test's event loop: uvicorn for ASGI stand-ins of the
services, and servers written byte by byte for what a well-behaved server never does
(close without answering, break off, trickle, send what nobody asked for)."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn

from tests.support.processes import free_port


class Served:
    """One ASGI app on a port of its own, which keeps its port across stop() and start():
    while stopped, connections to it are refused, as to a service that is down."""

    def __init__(self, app, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                               lifespan="on", access_log=False, timeout_graceful_shutdown=2))
        # Signals stay with the test runner.
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
        self._server, self._task = server, asyncio.create_task(server.serve())
        while not server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await asyncio.wait_for(self._task, 10)
        self._server = self._task = None


@asynccontextmanager
async def serve(app, port: int | None = None) -> AsyncIterator[str]:
    served = Served(app, port)
    await served.start()
    try:
        yield served.url
    finally:
        await served.stop()


@dataclass
class Request:
    head: bytes
    body: bytes

    @property
    def line(self) -> bytes:
        return self.head.split(b"\r\n", 1)[0]

    @property
    def target(self) -> bytes:
        return self.line.split()[1]

    def headers(self) -> list[tuple[bytes, bytes]]:
        lines = self.head.split(b"\r\n")[1:]
        return [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(b":") for line in lines if line)]

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers() if k == name), None)


Answer = Callable[[Request, asyncio.StreamWriter, int], Awaitable[None]]


# What the gateway's contract cache asks every service for at start, answered here so it
# asks only once.
_OPENAPI = b'{"openapi": "3.1.0", "info": {"title": "wire", "version": "1"}, "paths": {}}'
_OPENAPI_ANSWER = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
                   % len(_OPENAPI) + _OPENAPI)


@dataclass
class WireServer:
    """Reads requests off each connection and lets the test's `answer(request, writer,
    connection number)` write the reply, byte by byte. `requests` and `connections` count
    what came for `/v1/...` (the gateway's contract cache fetches `/openapi.json` too)."""

    answer: Answer
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    numbered: list[tuple[int, Request]] = field(default_factory=list)
    closed: set[int] = field(default_factory=set)
    peers: dict[int, int] = field(default_factory=dict)  # connection number: the gateway's port
    tasks: set[asyncio.Task] = field(default_factory=set)
    _opened: int = 0

    @property
    def connections(self) -> int:
        return len({number for number, _ in self.numbered})

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self._opened += 1
        number = self._opened
        self.peers[number] = writer.get_extra_info("peername")[1]
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = int(Request(head, b"").header(b"content-length") or 0)
                request = Request(head, await reader.readexactly(length) if length else b"")
                if request.target == b"/openapi.json":
                    writer.write(_OPENAPI_ANSWER)
                    continue
                self.requests.append(request)
                self.numbered.append((number, request))
                await self.answer(request, writer, number)
                if writer.is_closing():
                    return
        except asyncio.CancelledError:
            return  # the test is over
        except ConnectionError:
            return  # the gateway closed the connection while this answer was being written
        finally:
            self.closed.add(number)
            writer.close()


    def gateway_side(self, number: int) -> str | None:
        """The kernel's state of the gateway's end of connection `number`, None once gone."""
        return tcp_state(self.peers[number], int(self.url.rsplit(":", 1)[1]))


_TCP_STATES = {"01": "ESTABLISHED", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE",
               "08": "CLOSE_WAIT", "09": "LAST_ACK", "0B": "CLOSING"}


def tcp_state(local_port: int, remote_port: int) -> str | None:
    """State of this machine's TCP socket from `local_port` to `remote_port` on 127.0.0.1
    (Linux's /proc/net/tcp), None when there is none."""
    local, remote = f"0100007F:{local_port:04X}", f"0100007F:{remote_port:04X}"
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                return _TCP_STATES.get(fields[3], fields[3])
    return None


@asynccontextmanager
async def wire_server(answer: Answer) -> AsyncIterator[WireServer]:
    state = WireServer(answer)
    port = free_port()
    listener = await asyncio.start_server(state.handle, "127.0.0.1", port)
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        listener.close()
        for task in state.tasks:
            task.cancel()
        await asyncio.gather(*state.tasks, return_exceptions=True)
