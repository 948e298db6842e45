"""What the gateway's upstream client does on the wire, through the whole gateway: the
service here is written byte by byte, so each framing, each failure and each pool rule is
shown as the service sees it and as the caller gets it. Every test runs on both clients
GATEWAY_UPSTREAM_CLIENT can choose."""
from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from services.common.identity import IDENTITY_HEADERS
from tests.gateway.fakes import CLIENT_ADDRESS, gateway
from tests.gateway.servers import serve, wire_server
from tests.support.platform import eventually

OK = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n{"ok": true}'


def _async(condition):
    async def check():
        return condition()
    return check


@contextlib.asynccontextmanager
async def through_gateway(answer, client: str, **overrides):
    """A byte-level reception behind the gateway (its other services are stand-ins); yields
    the service, a caller with an HQ key, and the rig."""
    async with wire_server(answer) as service, gateway(own={"reception": service.url}, upstream_client=client,
                                                         **overrides) as rig:
        key = rig.key("hq_admin")
        rig.client.headers["Authorization"] = f"Bearer {key}"
        yield service, rig.client, rig


async def ok(request, writer, number):
    writer.write(OK)


def problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()["detail"]


async def test_sends_method_target_and_body_as_given_and_no_header_of_its_own(upstream_client):
    async with through_gateway(ok, upstream_client) as (service, caller, _):
        got = await caller.get("/api/reception/v1/stores/a%3Ab?x=1&y=a%20b", headers={"X-Note": "n"})
        assert got.status_code == 200 and got.json() == {"ok": True}
        await caller.post("/api/reception/v1/stores", content=b'{"a": 1}', headers={"Content-Type": "application/json"})
        await caller.post("/api/reception/v1/stores/1/close")
        get, post, empty_post = service.requests
        assert get.line == b"GET /v1/stores/a%3Ab?x=1&y=a%20b HTTP/1.1"
        assert get.header(b"host") == service.url[len("http://"):].encode()
        # Exactly the caller's headers (less credentials and hop-by-hop ones) and the gateway's:
        # the client adds no User-Agent, Accept, Accept-Encoding or Content-Type of its own.
        sent = {k.lower().encode(): v.encode() for k, v in got.request.headers.items()}
        passed = {k: v for k, v in sent.items() if k not in (b"host", b"connection", b"authorization")}
        added = {h.lower().encode() for h in IDENTITY_HEADERS} | {
            b"host", b"x-request-id", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"}
        names = [k for k, _ in get.headers()]
        assert len(names) == len(set(names))
        assert set(names) == set(passed) | added
        assert all(get.header(k) == v for k, v in passed.items())
        assert get.header(b"x-forwarded-for") == CLIENT_ADDRESS.encode()
        assert post.body == b'{"a": 1}' and post.header(b"content-length") == b"8"
        assert post.header(b"content-type") == b"application/json"
        # A POST without a body still says so, or a service could wait for one.
        assert [v for k, v in empty_post.headers() if k == b"content-length"] == [b"0"]


async def test_keeps_one_connection_alive_across_requests(upstream_client):
    async with through_gateway(ok, upstream_client) as (service, caller, _):
        for _ in range(5):
            response = await caller.get("/api/reception/v1/x")
            assert response.status_code == 200 and response.json() == {"ok": True}
            assert response.headers["content-type"] == "application/json"
        assert len(service.requests) == 5 and service.connections == 1


async def test_reads_chunked_close_delimited_head_and_no_content_answers(upstream_client):
    async def answer(request, writer, number):
        target = request.target
        if target == b"/v1/chunked":
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        elif target == b"/v1/head":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n")
        elif target == b"/v1/empty":
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        else:  # no length at all: the body runs to the close
            writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end")
            await writer.drain()
            writer.close()

    async with through_gateway(answer, upstream_client) as (service, caller, _):
        chunked = await caller.get("/api/reception/v1/chunked")
        assert chunked.content == b"hello world" and chunked.headers["content-length"] == "11"
        assert "transfer-encoding" not in chunked.headers
        head = await caller.head("/api/reception/v1/head")
        # A HEAD answer's length is the length the GET would have had.
        assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "1234"
        empty = await caller.get("/api/reception/v1/empty")
        assert empty.status_code == 204 and empty.content == b""
        assert service.connections == 1
        assert (await caller.get("/api/reception/v1/close")).content == b"until the end"
        # That connection ended with its answer; the next request needs a new one.
        assert (await caller.get("/api/reception/v1/chunked")).content == b"hello world"
        assert service.connections == 2


async def test_skips_an_interim_answer(upstream_client):
    async def answer(request, writer, number):
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)

    async with through_gateway(answer, upstream_client) as (service, caller, _):
        response = await caller.post("/api/reception/v1/x", content=b"{}")
        assert response.status_code == 200 and response.json() == {"ok": True}
        assert (await caller.get("/api/reception/v1/x")).status_code == 200 and service.connections == 1


async def test_a_connection_the_service_closed_while_idle_is_replaced_unnoticed(upstream_client):
    async def answer(request, writer, number):
        writer.write(OK)
        await writer.drain()
        writer.close()  # as a service whose keep-alive timeout just passed

    async with through_gateway(answer, upstream_client) as (service, caller, _):
        assert (await caller.get("/api/reception/v1/x")).status_code == 200
        first = service.numbered[0][0]
        # The close has reached the gateway. aiohttp reads it at once and closes its end;
        # httpx may leave it there (CLOSE_WAIT) until it next takes the connection from its
        # pool, and finds it readable then.
        closed = (None, "LAST_ACK", "CLOSE") + (("CLOSE_WAIT",) if upstream_client == "httpx" else ())
        await eventually(_async(lambda: service.gateway_side(first) in closed), timeout=5,
                         message="the service's close never reached the gateway")
        # Even a POST, which is never retried, finds a live connection.
        assert (await caller.post("/api/reception/v1/x", content=b"{}")).status_code == 200
        assert service.connections == 2


async def test_a_connection_closed_as_the_request_arrives_is_retried_for_idempotent_methods_only(upstream_client):
    async def answer(request, writer, number):
        if sum(1 for n, _ in service.numbered if n == number) == 1:
            writer.write(OK)
        else:  # the second request on a kept-alive connection meets the service closing it
            writer.close()

    async with through_gateway(answer, upstream_client) as (service, caller, _):
        assert (await caller.get("/api/reception/v1/x")).status_code == 200
        retried = await caller.get("/api/reception/v1/x")
        assert retried.status_code == 200 and retried.json() == {"ok": True}
        assert [r.line.split()[0] for r in service.requests] == [b"GET", b"GET", b"GET"]
        assert service.connections == 2

        # The POST (the second request on the connection the retry opened) reached a service
        # that may have acted on it: the caller decides.
        refused = await caller.post("/api/reception/v1/x", content=b"{}")
        assert problem(refused, 502) == "reception closed the connection without answering"
        assert [r.line.split()[0] for r in service.requests].count(b"POST") == 1


async def test_a_connection_idle_past_keepalive_is_not_reused(upstream_client):
    async with through_gateway(ok, upstream_client, upstream_keepalive_expiry=0.3) as (service, caller, _):
        await caller.get("/api/reception/v1/x")
        await caller.get("/api/reception/v1/x")
        assert service.connections == 1
        await asyncio.sleep(0.6)  # the time that must pass: longer idle than the expiry
        await caller.get("/api/reception/v1/x")
        assert service.connections == 2


@pytest.mark.parametrize("reply, detail", [
    (b"", "reception closed the connection without answering"),
    # a service that dies mid-answer
    (b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort", "reception broke off its answer"),
    (b"SMTP ready\r\n\r\n", "reception gave no valid answer"),
    (b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n",
     "reception gave no valid answer"),
], ids=["closed-without-a-word", "died-mid-answer", "not-http", "switched-protocols"])
async def test_a_service_that_breaks_the_protocol_is_502_and_its_connection_is_dropped(upstream_client, reply, detail):
    async def answer(request, writer, number):
        if request.target == b"/v1/fine":
            writer.write(OK)
            return
        writer.write(reply)
        await writer.drain()
        writer.close()

    async with through_gateway(answer, upstream_client) as (service, caller, _):
        assert problem(await caller.get("/api/reception/v1/x"), 502) == detail
        # Nothing of a failed exchange is used again.
        assert (await caller.get("/api/reception/v1/fine")).status_code == 200
        fine = next(number for number, request in service.numbered if request.target == b"/v1/fine")
        assert all(number != fine for number, request in service.numbered if request.target == b"/v1/x")


async def test_read_timeout_counts_from_the_last_byte_not_from_the_start(upstream_client):
    async def answer(request, writer, number):
        if request.target == b"/v1/silent":
            await asyncio.Event().wait()  # never answers
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n")
        for _ in range(8):  # 0.8 s in all, never 0.3 s without a byte
            await writer.drain()
            await asyncio.sleep(0.1)
            writer.write(b".")

    async with through_gateway(answer, upstream_client, upstream_read_timeout=0.3) as (service, caller, _):
        assert (await caller.get("/api/reception/v1/trickle")).content == b"........"
        assert problem(await caller.get("/api/reception/v1/silent"), 504) == "reception did not answer in time"
        # A request that may be running upstream is not sent again.
        assert [r.target for r in service.requests].count(b"/v1/silent") == 1


async def test_a_body_that_stops_is_504_while_reading(upstream_client):
    async def answer(request, writer, number):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\nhalf")
        await asyncio.Event().wait()  # the rest never comes

    async with through_gateway(answer, upstream_client, upstream_read_timeout=0.3) as (_, caller, _rig):
        stalled = await caller.get("/api/reception/v1/x")
        assert problem(stalled, 504) == "reception did not finish its answer in time"


async def test_the_pool_limit_holds_and_a_request_waits_only_pool_timeout_for_a_connection(upstream_client):
    release = asyncio.Event()

    async def answer(request, writer, number):
        await release.wait()
        writer.write(OK)

    limits = dict(upstream_max_connections=1, upstream_pool_timeout=0.2, upstream_connect_timeout=0.2)
    async with through_gateway(answer, upstream_client, **limits) as (service, caller, _):
        first = asyncio.create_task(caller.get("/api/reception/v1/x"))
        await eventually(_async(lambda: len(service.requests) == 1))
        waited = await caller.get("/api/reception/v1/x")
        assert problem(waited, 503) == "reception is unavailable" and waited.headers["retry-after"]
        assert len(service.requests) == 1
        release.set()
        assert (await first).status_code == 200
        # The connection is free again, and the only one there ever was.
        assert (await caller.get("/api/reception/v1/x")).status_code == 200
        assert service.connections == 1


async def test_a_waiting_request_takes_the_connection_that_comes_back(upstream_client):
    release = asyncio.Event()

    async def answer(request, writer, number):
        await release.wait()
        writer.write(OK)

    async with through_gateway(answer, upstream_client, upstream_max_connections=1) as (service, caller, _):
        first = asyncio.create_task(caller.get("/api/reception/v1/x"))
        second = asyncio.create_task(caller.get("/api/reception/v1/x"))
        await eventually(_async(lambda: len(service.requests) == 1))
        release.set()
        assert (await first).status_code == 200 and (await second).status_code == 200
        assert service.connections == 1


async def test_idle_connections_to_one_service_never_block_a_request_to_another(upstream_client):
    async with through_gateway(ok, upstream_client, upstream_max_connections=1) as (service, caller, rig):
        assert (await caller.get("/api/reception/v1/x")).status_code == 200
        workshop = await caller.get("/api/workshop/v1/jobs")
        assert workshop.status_code == 200 and workshop.json()["service"] == "workshop"
        assert (await caller.get("/api/reception/v1/x")).status_code == 200


async def test_a_body_that_reads_as_a_second_request_stays_a_body(upstream_client):
    """The gateway reads the whole body and sends it with a Content-Length of its own, never
    the caller's framing, so no caller can make the service see a request the gateway did
    not check (request smuggling)."""
    smuggled = b"0\r\n\r\nGET /v1/internal/introspect HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n"
    async with through_gateway(ok, upstream_client) as (service, caller, _):
        sent = await caller.post("/api/reception/v1/x", content=smuggled, headers={"Transfer-Encoding": "chunked"})
        assert sent.status_code == 200
        assert [r.line for r in service.requests] == [b"POST /v1/x HTTP/1.1"]
        only = service.requests[0]
        assert only.body == smuggled and only.header(b"content-length") == b"%d" % len(smuggled)
        assert only.header(b"transfer-encoding") is None


async def test_a_header_with_a_line_break_is_never_sent(upstream_client):
    async with through_gateway(ok, upstream_client) as (service, caller, _):
        smuggled = await caller.get("/api/reception/v1/x", headers={"X-Note": "a\r\nx-principal-role: hq_admin"})
        assert problem(smuggled, 502) == "reception gave no valid answer"
        assert service.requests == []


HTTPX_DESYNC = pytest.mark.xfail(strict=True, reason=(
    "httpcore keeps bytes that follow a complete answer and reads them as the next request's answer "
    "(docs/gateway.md); aiohttp closes such a connection"))


@pytest.mark.parametrize("client", ["aiohttp", pytest.param("httpx", marks=HTTPX_DESYNC)])
async def test_an_answer_sent_along_with_the_asked_one_is_never_given_to_the_next_caller(client):
    stray = b"HTTP/1.1 418 I'm a teapot\r\ncontent-length: 6\r\n\r\nstray!"

    async def answer(request, writer, number):
        writer.write(OK + stray)

    async with through_gateway(answer, client) as (service, caller, _):
        assert (await caller.get("/api/reception/v1/x")).status_code == 200
        for _ in range(3):
            again = await caller.get("/api/reception/v1/x")
            assert again.status_code == 200 and again.json() == {"ok": True}


async def test_a_stream_passes_events_as_they_come_and_holds_back_a_fast_service(upstream_client):
    """The caller stops reading: the service's writes stall long before the stream ends,
    instead of the gateway buffering the rest; when the caller reads again, all of it comes."""
    chunk, count = b"data: " + b"x" * (64 * 1024 - 8) + b"\n\n", 1024  # 64 MiB in all
    first_read = asyncio.Event()
    written = [0]

    async def answer(request, writer, number):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(_chunk(b"data: first\n\n"))
        await first_read.wait()
        for _ in range(count):
            writer.write(_chunk(chunk))
            await writer.drain()
            written[0] += len(chunk)
        writer.write(b"0\r\n\r\n")

    async with wire_server(answer) as service, gateway(own={"reception": service.url},
                                                         upstream_client=upstream_client) as rig:
        key = rig.key("hq_admin")
        async with serve(rig.app) as url, httpx.AsyncClient(base_url=url, timeout=30) as caller:
            headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
            async with caller.stream("GET", "/api/reception/v1/events", headers=headers) as response:
                assert response.status_code == 200
                chunks = response.aiter_raw()
                assert await asyncio.wait_for(chunks.__anext__(), 5) == b"data: first\n\n"
                first_read.set()
                await eventually(_stalled(written), timeout=30, interval=0.25, message="the service never stalled")
                assert written[0] < len(chunk) * count // 2
                rest = 0
                async for data in chunks:
                    rest += len(data)
                assert rest == len(chunk) * count


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _stalled(written: list[int]):
    seen = [-1]

    async def check() -> bool:
        stalled = written[0] == seen[0] and written[0] > 0
        seen[0] = written[0]
        return stalled
    return check


async def test_streams_have_no_read_timeout(upstream_client):
    go_on = asyncio.Event()

    async def answer(request, writer, number):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        await go_on.wait()
        writer.write(_chunk(b"data: late!\n\n") + b"0\r\n\r\n")

    async with wire_server(answer) as service, gateway(own={"reception": service.url}, upstream_client=upstream_client,
                                                         upstream_read_timeout=0.2) as rig:
        key = rig.key("hq_admin")
        async with serve(rig.app) as url, httpx.AsyncClient(base_url=url, timeout=10) as caller:
            headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
            async with caller.stream("GET", "/api/reception/v1/events", headers=headers) as response:
                assert response.status_code == 200
                await asyncio.sleep(0.5)  # longer than the read timeout, with nothing sent
                go_on.set()
                assert b"".join([data async for data in response.aiter_raw()]) == b"data: late!\n\n"
