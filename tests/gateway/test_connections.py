"""The gateway's HTTP/1.1 client against real sockets: servers written byte by byte, so
each framing, each failure and each pool rule is shown on the wire."""
from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import pytest

from gateway import connections
from gateway.connections import ServiceConnections
from gateway.upstream import BROKEN, CONNECT, NO_ANSWER, TIMEOUT, UpstreamFailure
from tests.support.platform import eventually
from tests.support.processes import free_port

OK = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n{"ok": true}'


@dataclass
class Request:
    head: bytes
    body: bytes

    @property
    def line(self) -> bytes:
        return self.head.split(b"\r\n", 1)[0]

    def headers(self) -> list[tuple[bytes, bytes]]:
        lines = self.head.split(b"\r\n")[1:]
        return [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(b":") for line in lines if line)]


@dataclass
class Server:
    """Reads requests off each connection and lets the test's `answer` write the reply."""

    answer: Callable[[Request, asyncio.StreamWriter, int], Awaitable[None]]
    connections: int = 0
    requests: list[Request] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.tasks.add(asyncio.current_task())
        self.connections += 1
        number = self.connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = next((int(v) for k, v in Request(head, b"").headers() if k == b"content-length"), 0)
                request = Request(head, await reader.readexactly(length) if length else b"")
                self.requests.append(request)
                await self.answer(request, writer, number)
                if writer.is_closing():
                    return
        except asyncio.CancelledError:
            return  # the test is over
        finally:
            self.closed.set()
            writer.close()


@contextlib.asynccontextmanager
async def server(answer):
    state = Server(answer)
    port = free_port()
    listener = await asyncio.start_server(state.handle, "127.0.0.1", port)
    try:
        yield state, f"http://127.0.0.1:{port}"
    finally:
        listener.close()
        for task in state.tasks:
            task.cancel()
        await asyncio.gather(*state.tasks, return_exceptions=True)


def _async(condition):
    async def check():
        return condition()
    return check


def pool(**overrides) -> ServiceConnections:
    options = dict(max_connections=10, keepalive_seconds=4.0, connect_timeout=1.0, pool_timeout=1.0, read_timeout=2.0)
    options.update(overrides)
    return ServiceConnections(**options)


async def fetch(client: ServiceConnections, url: str, method: str = "GET", body: bytes = b"",
                headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    answer = await client.send(method, url, headers or [], body, streaming=False)
    try:
        return answer.status, answer.headers, await answer.read()
    finally:
        await answer.close()


async def ok(request, writer, number):
    writer.write(OK)


async def test_sends_method_target_host_headers_and_body_as_given():
    async with server(ok) as (srv, base):
        client = pool()
        await fetch(client, base + "/v1/stores/a%2Fb?x=1&y=a%20b", headers=[(b"x-request-id", b"r-1")])
        await fetch(client, base + "/v1/stores", "POST", b'{"a": 1}', [(b"content-type", b"application/json")])
        await fetch(client, base + "/v1/stores/1/close", "POST")
        get, post, empty_post = srv.requests
        assert get.line == b"GET /v1/stores/a%2Fb?x=1&y=a%20b HTTP/1.1"
        assert get.headers() == [(b"host", base[len("http://"):].encode()), (b"x-request-id", b"r-1")]
        assert post.body == b'{"a": 1}' and (b"content-length", b"8") in post.headers()
        # A POST without a body still says so, or the service would wait for one.
        assert (b"content-length", b"0") in empty_post.headers()
        await client.aclose()


async def test_keeps_one_connection_alive_across_requests():
    async with server(ok) as (srv, base):
        client = pool()
        for _ in range(5):
            status, headers, body = await fetch(client, base + "/v1/x")
            assert status == 200 and body == b'{"ok": true}'
            assert (b"content-type", b"application/json") in headers
        assert srv.connections == 1 and len(srv.requests) == 5
        await client.aclose()


async def test_reads_chunked_close_delimited_head_and_no_content_answers():
    async def answer(request, writer, number):
        target = request.line.split()[1]
        if target == b"/chunked":
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        elif target == b"/head":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n")
        elif target == b"/empty":
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        else:  # no length at all: the body runs to the close
            writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end")
            await writer.drain()
            writer.close()

    async with server(answer) as (srv, base):
        client = pool()
        assert (await fetch(client, base + "/chunked"))[2] == b"hello world"
        status, headers, body = await fetch(client, base + "/head", "HEAD")
        assert status == 200 and body == b"" and (b"content-length", b"1234") in headers
        assert (await fetch(client, base + "/empty"))[:3:2] == (204, b"")
        assert srv.connections == 1
        assert (await fetch(client, base + "/close"))[2] == b"until the end"
        # That connection ended with its answer; the next request needs a new one.
        assert (await fetch(client, base + "/chunked"))[2] == b"hello world"
        assert srv.connections == 2
        await client.aclose()


async def test_skips_an_interim_answer():
    async def answer(request, writer, number):
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)

    async with server(answer) as (srv, base):
        client = pool()
        assert await fetch(client, base + "/x", "POST", b"{}") == (
            200, [(b"content-type", b"application/json"), (b"content-length", b"12")], b'{"ok": true}')
        assert (await fetch(client, base + "/x"))[0] == 200 and srv.connections == 1
        await client.aclose()


async def test_a_connection_the_service_closed_while_idle_is_replaced_unnoticed():
    async def answer(request, writer, number):
        writer.write(OK)
        await writer.drain()
        writer.close()  # as a service whose keep-alive timeout just passed

    async with server(answer) as (srv, base):
        client = pool()
        await fetch(client, base + "/x")
        await asyncio.wait_for(srv.closed.wait(), 5)
        await eventually(_async(lambda: client.open == 0), timeout=5, message="the close reaches the client")
        assert (await fetch(client, base + "/x"))[0] == 200
        assert srv.connections == 2
        await client.aclose()


async def test_a_connection_idle_past_keepalive_is_not_reused():
    now = [1000.0]
    async with server(ok) as (srv, base):
        client = pool(keepalive_seconds=4.0, clock=lambda: now[0])
        await fetch(client, base + "/x")
        now[0] += 3.9
        await fetch(client, base + "/x")
        assert srv.connections == 1
        now[0] += 4.1
        await fetch(client, base + "/x")
        assert srv.connections == 2
        await client.aclose()


@pytest.mark.parametrize("reply, kind", [
    (b"", NO_ANSWER),                                                        # closed without a word
    (b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort", BROKEN),        # broke off in the body
    (b"SMTP ready\r\n\r\n", BROKEN),                                          # not HTTP at all
    (b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n", BROKEN),
])
async def test_failures_are_named_for_what_the_proxy_answers(reply, kind):
    async def answer(request, writer, number):
        writer.write(reply)
        await writer.drain()
        writer.close()

    async with server(answer) as (srv, base):
        client = pool()
        with pytest.raises(UpstreamFailure) as failed:
            await fetch(client, base + "/x")
        assert failed.value.kind == kind
        # Nothing of a failed exchange goes back to the pool.
        assert client.open == 0
        await client.aclose()


async def test_a_refused_port_is_connect():
    client = pool()
    with pytest.raises(UpstreamFailure) as failed:
        await fetch(client, f"http://127.0.0.1:{free_port()}/x")
    assert failed.value.kind == CONNECT and client.open == 0


async def test_read_timeout_counts_from_the_last_byte_not_from_the_start():
    async def answer(request, writer, number):
        target = request.line.split()[1]
        if target == b"/silent":
            await asyncio.Event().wait()  # never answers
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n")
        for _ in range(8):  # 0.8 s in all, never 0.3 s without a byte
            await writer.drain()
            await asyncio.sleep(0.1)
            writer.write(b".")

    async with server(answer) as (srv, base):
        client = pool(read_timeout=0.3)
        assert (await fetch(client, base + "/trickle"))[2] == b"........"
        with pytest.raises(UpstreamFailure) as silent:
            await fetch(client, base + "/silent")
        assert silent.value.kind == TIMEOUT and "did not answer" in str(silent.value)
        await client.aclose()


async def test_a_body_that_stops_is_a_timeout_while_reading():
    async def answer(request, writer, number):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nhalf")
        await asyncio.Event().wait()  # the rest never comes

    async with server(answer) as (srv, base):
        client = pool(read_timeout=0.3)
        answer_ = await client.send("GET", base + "/x", [], b"", streaming=False)
        assert answer_.status == 200
        with pytest.raises(UpstreamFailure) as stalled:
            await answer_.read()
        assert stalled.value.kind == TIMEOUT and "finish its answer" in str(stalled.value)
        await answer_.close()
        await client.aclose()


async def test_the_pool_waits_for_a_free_connection_and_gives_up_after_pool_timeout():
    release = asyncio.Event()

    async def answer(request, writer, number):
        await release.wait()
        writer.write(OK)

    async with server(answer) as (srv, base):
        client = pool(max_connections=1, pool_timeout=0.2)
        first = asyncio.create_task(fetch(client, base + "/x"))
        await eventually(_async(lambda: len(srv.requests) == 1))
        with pytest.raises(UpstreamFailure) as waited:
            await fetch(client, base + "/x")
        assert waited.value.kind == CONNECT and "free" in str(waited.value)

        client.pool_timeout = 5
        second = asyncio.create_task(fetch(client, base + "/x"))
        await eventually(_async(lambda: len(client._waiters) == 1))
        release.set()
        assert (await first)[0] == 200 and (await second)[0] == 200
        # The waiter took the first request's connection when it came back.
        assert srv.connections == 1
        await client.aclose()


async def test_a_full_pool_closes_an_idle_connection_to_another_service():
    async with server(ok) as (one, one_url), server(ok) as (two, two_url):
        client = pool(max_connections=1, pool_timeout=0.2)
        await fetch(client, one_url + "/x")
        assert (await fetch(client, two_url + "/x"))[0] == 200
        assert client.open == 1
        await asyncio.wait_for(one.closed.wait(), 5)
        await client.aclose()


async def test_an_answer_closed_unread_closes_its_connection():
    async def answer(request, writer, number):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\npartial")
        with contextlib.suppress(ConnectionError):
            for _ in range(500):  # until the client's close shows
                await asyncio.sleep(0.01)
                writer.write(b"." * 100)
                await writer.drain()

    async with server(answer) as (srv, base):
        client = pool()
        answer_ = await client.send("GET", base + "/x", [], b"", streaming=False)
        await answer_.close()
        await asyncio.wait_for(srv.closed.wait(), 5)
        assert client.open == 0
        await client.aclose()


async def test_a_stream_passes_chunks_as_they_come_and_pauses_a_fast_service(monkeypatch):
    monkeypatch.setattr(connections, "STREAM_HIGH_WATER", 1024)
    go_on = asyncio.Event()

    async def answer(request, writer, number):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(b"6\r\nfirst\n\r\n")
        await go_on.wait()
        for _ in range(100):
            writer.write(b"400\r\n" + b"x" * 1024 + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    async with server(answer) as (srv, base):
        client = pool(read_timeout=0.1)
        answer_ = await client.send("GET", base + "/stream", [], b"", streaming=True)
        assert answer_.content_type == "text/event-stream"
        chunks = answer_.stream()
        # Streams have no read timeout: the first event waits as long as the service does.
        assert await asyncio.wait_for(chunks.__anext__(), 5) == b"first\n"
        await asyncio.sleep(0.3)
        go_on.set()
        connection = answer_._read.__self__.connection
        # The service writes while nobody reads: reading pauses.
        await eventually(_async(lambda: connection._reading_paused), timeout=5, interval=0.01)
        received = b"".join([chunk async for chunk in chunks])
        assert received == b"x" * 1024 * 100
        await answer_.close()
        assert srv.connections == 1
        await client.aclose()


async def test_a_header_with_a_line_break_is_never_sent():
    async with server(ok) as (srv, base):
        client = pool()
        with pytest.raises(UpstreamFailure) as refused:
            await fetch(client, base + "/x", headers=[(b"x-note", b"a\r\nx-principal-role: hq_admin")])
        assert refused.value.kind == BROKEN
        assert srv.requests == [] and client.open == 0


async def test_bytes_nobody_asked_for_end_the_connection():
    async def answer(request, writer, number):
        writer.write(OK + b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")

    async with server(answer) as (srv, base):
        client = pool()
        assert (await fetch(client, base + "/x"))[0] == 200
        await eventually(_async(lambda: client.open == 0))
        assert (await fetch(client, base + "/x"))[0] == 200
        # The stray answer made the first connection untrustworthy.
        assert srv.connections == 2
        await client.aclose()
