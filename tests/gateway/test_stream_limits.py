"""Server-sent event streams at the gateway: a principal holds at most a few, streams have
an upstream pool of their own, a lifetime and heartbeats, and a stream's count is given
back however it ends. The gateway is served by uvicorn (httpx's ASGI transport would
buffer a stream whole); reception is a stand-in whose streams stay open until told."""
from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from services.common.errors import PROBLEM_JSON
from tests.gateway.fakes import gateway
from tests.gateway.servers import serve, wire_server
from tests.support.platform import eventually

STREAM = "/api/reception/v1/live/stream"
ACCEPT = {"Accept": "text/event-stream"}


class LiveReception:
    """Streams that send `ready` and then nothing until `finish` is set; an ordinary route
    beside them; and counts of the streams it opened and saw closed."""

    def __init__(self) -> None:
        self.finish = asyncio.Event()
        self.opened = 0
        self.closed = 0

        async def stream(request: Request) -> Response:
            async def events() -> AsyncIterator[bytes]:
                self.opened += 1
                try:
                    yield b"event: ready\ndata: {}\n\n"
                    await self.finish.wait()
                    yield b"event: bye\ndata: {}\n\n"
                finally:
                    self.closed += 1

            return StreamingResponse(events(), media_type="text/event-stream")

        async def things(request: Request) -> Response:
            return JSONResponse({"things": []})

        self.app = Starlette(routes=[Route("/v1/live/stream", stream), Route("/v1/things", things),
                                     Route("/openapi.json", lambda r: JSONResponse({"paths": {}}))])

    @property
    def open(self) -> int:
        return self.opened - self.closed


@contextlib.asynccontextmanager
async def live_gateway(**overrides):
    """(reception stand-in, rig, a caller to the gateway over real sockets)."""
    reception = LiveReception()
    async with serve(reception.app) as reception_url, gateway(own={"reception": reception_url}, **overrides) as rig:
        limits = httpx.Limits(max_connections=300, max_keepalive_connections=20)
        async with serve(rig.app) as url, httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as caller:
            yield reception, rig, caller


class Lines:
    """A stream's lines, read on from where the last read stopped. The iterator is kept:
    httpx closes a response whose line iterator is collected, and the caller would leave."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        # An async generator in fact (httpx annotates it as an iterator), closed by aclose.
        self._lines = cast(AsyncGenerator[str, None], response.aiter_lines())

    async def aclose(self) -> None:
        await self._lines.aclose()

    async def next_event(self) -> str:
        """The next event's name."""
        async for line in self._lines:
            if line.startswith("event:"):
                return line[6:].strip()
        raise AssertionError("the stream ended before another event")

    async def until(self, wanted: str) -> list[str]:
        """The lines up to and including `wanted`."""
        seen = []
        async for line in self._lines:
            seen.append(line)
            if line == wanted:
                return seen
        raise AssertionError(f"the stream ended before {wanted!r}")


async def open_stream(stack: contextlib.AsyncExitStack, caller: httpx.AsyncClient, key: str) -> Lines:
    """A stream held open until `stack` closes, read to its first event when it is 200."""
    response = await stack.enter_async_context(
        caller.stream("GET", STREAM, headers={"Authorization": f"Bearer {key}", **ACCEPT}))
    lines = Lines(response)
    stack.push_async_callback(lines.aclose)
    if response.status_code == 200:
        assert await asyncio.wait_for(lines.next_event(), 10) == "ready"
    else:
        await response.aread()
    return lines


def streams_refused(opened: Lines, held: int, most: int) -> dict:
    response = opened.response
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["limit"] == "streams" and body["open_streams"] == held and body["max_streams"] == most
    assert f"{held} event streams are open" in body["detail"]
    return body


async def test_the_fourth_stream_of_one_key_is_429_while_another_key_and_person_still_get_theirs():
    async with live_gateway() as (reception, rig, caller), contextlib.AsyncExitStack() as stack:
        machine, other = rig.key("hq_analyst", key_id="key-dms"), rig.key("hq_analyst", key_id="key-other")
        # Two keys of one person count as the person.
        zhou = [rig.key("hq_analyst", key_id=f"key-zhou-{n}") for n in (1, 2)]
        for token in zhou:
            rig.network.keys[token].update(person_id="person-zhou", person_name="周敏")

        for _ in range(3):
            assert (await open_stream(stack, caller, machine)).response.status_code == 200
        fourth = await open_stream(stack, caller, machine)
        streams_refused(fourth, held=3, most=3)
        # Until the first of the three reaches the stream lifetime (15 minutes by default).
        assert 1 <= int(fourth.response.headers["retry-after"]) <= 900

        assert (await open_stream(stack, caller, other)).response.status_code == 200
        for token in (zhou[0], zhou[0], zhou[1]):
            assert (await open_stream(stack, caller, token)).response.status_code == 200
        streams_refused(await open_stream(stack, caller, zhou[1]), held=3, most=3)
        # The refused ones never reached the service.
        assert reception.opened == 7 and reception.open == 7


async def test_two_hundred_stream_attempts_from_one_key_do_not_hold_up_another_callers_get():
    """With the default limits: before streams had a pool and a limit of their own, 200
    streams from one key took the 200 upstream connections, and another caller's GET
    waited for one until it was answered 503."""
    async with live_gateway() as (reception, rig, caller):
        flood, other = rig.key("hq_analyst", key_id="key-flood"), rig.key("service_advisor", "store-a")
        hold = asyncio.Event()

        async def attempt() -> int:
            headers = {"Authorization": f"Bearer {flood}", **ACCEPT}
            async with caller.stream("GET", STREAM, headers=headers) as response:
                if response.status_code == 200:
                    lines = Lines(response)
                    await lines.next_event()
                    await hold.wait()
                    await lines.aclose()
                return response.status_code

        attempts = [asyncio.create_task(attempt()) for _ in range(200)]
        get = asyncio.create_task(caller.get("/api/reception/v1/things", headers=rig.bearer(other)))
        try:
            await eventually(_async(get.done), timeout=5, message="another caller's GET was held up by the streams")
            assert get.result().status_code == 200
            await eventually(_async(lambda: sum(a.done() for a in attempts) == 197 and reception.open == 3),
                             timeout=30, message="the refusals did not all come")
            assert sorted(a.result() for a in attempts if a.done()) == [429] * 197
            # While the key holds its three, the other caller goes on as before.
            again = asyncio.create_task(caller.get("/api/reception/v1/things", headers=rig.bearer(other)))
            await eventually(_async(again.done), timeout=5, message="another caller's GET was held up")
            assert again.result().status_code == 200
        finally:
            hold.set()
            results = await asyncio.gather(*attempts, return_exceptions=True)
        assert sorted(results) == [200] * 3 + [429] * 197
        assert reception.opened == 3


async def test_streams_have_an_upstream_pool_of_their_own_and_a_bound_for_all():
    async with live_gateway(upstream_max_connections=1, upstream_stream_max_connections=3) as (reception, rig, caller):
        keys = [rig.key("hq_analyst") for _ in range(4)]
        async with contextlib.AsyncExitStack() as stack:
            for key in keys[:3]:
                assert (await open_stream(stack, caller, key)).response.status_code == 200
            # The one connection other calls have is still theirs.
            get = asyncio.create_task(caller.get("/api/reception/v1/things", headers=rig.bearer(keys[3])))
            await eventually(_async(get.done), timeout=5, message="a GET waited behind the streams")
            assert get.result().status_code == 200
            # Every stream connection is taken: the next stream is refused at once, not queued.
            full = (await open_stream(stack, caller, keys[3])).response
            assert full.status_code == 503 and full.headers["retry-after"]
            assert "event streams at once" in full.json()["detail"]
            assert reception.opened == 3


async def test_a_stream_ends_at_its_lifetime_with_reconnection_advice_and_gives_its_count_back():
    async with live_gateway(stream_max_seconds=0.5, stream_max_per_principal=1) as (reception, rig, caller):
        key = rig.key("hq_analyst", key_id="key-hq")
        headers = {"Authorization": f"Bearer {key}", **ACCEPT}
        started = time.monotonic()
        async with caller.stream("GET", STREAM, headers=headers) as response:
            assert response.status_code == 200
            # Read to the end: the gateway ends it, the service never does.
            text = (await asyncio.wait_for(response.aread(), 10)).decode()
        assert time.monotonic() - started >= 0.5
        assert text.startswith("event: ready\ndata: {}\n\n")
        # Ended where an event ends: a comment, the delay to reconnect after, and a blank line.
        assert text.endswith("\nretry: 3000\n\n") and "stream lifetime reached, reconnect" in text
        assert "bye" not in text
        streams = rig.app.state.gate.streams
        await eventually(_async(lambda: reception.closed == 1 and streams.held("key-hq") == 0), timeout=5,
                         message="the service's stream stayed open, or the stream was still counted")
        async with contextlib.AsyncExitStack() as stack:
            assert (await open_stream(stack, caller, key)).response.status_code == 200


async def test_a_quiet_stream_carries_heartbeats_and_then_its_events():
    async with live_gateway(stream_heartbeat_seconds=0.2) as (reception, rig, caller):
        headers = {"Authorization": f"Bearer {rig.key('hq_analyst')}", **ACCEPT}
        async with caller.stream("GET", STREAM, headers=headers) as response:
            lines = Lines(response)
            assert await asyncio.wait_for(lines.until("data: {}"), 5) == ["event: ready", "data: {}"]
            for _ in range(2):
                assert await asyncio.wait_for(lines.until(": keep-alive"), 5) == ["", ": keep-alive"]
            reception.finish.set()
            after = await asyncio.wait_for(lines.until("data: {}"), 5)
            assert after[-2:] == ["event: bye", "data: {}"]
            assert all(line in ("", ": keep-alive") for line in after[:-2])


async def test_a_heartbeat_never_goes_inside_a_line_the_service_is_halfway_through():
    async def answer(request, writer, number):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        for part in (b"event: kpi\n", b"data: {\"half", b"way\": 1}\n\n"):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
            await asyncio.sleep(0.5)  # the time that must pass: five heartbeats' worth of quiet
        writer.write(b"0\r\n\r\n")

    async with wire_server(answer) as service, gateway(own={"reception": service.url},
                                                         stream_heartbeat_seconds=0.1) as rig:
        headers = {"Authorization": f"Bearer {rig.key('hq_analyst')}", **ACCEPT}
        async with serve(rig.app) as url, httpx.AsyncClient(base_url=url, timeout=10) as caller:
            async with caller.stream("GET", STREAM, headers=headers) as response:
                text = (await asyncio.wait_for(response.aread(), 10)).decode()
        events = [block for block in text.split("\n\n") if block and not block.startswith(": keep-alive")]
        # Beats inside the event, between its lines, are comments a reader skips; none splits a line.
        assert [[line for line in block.split("\n") if line != ": keep-alive"] for block in events] == [
            ["event: kpi", 'data: {"halfway": 1}']]
        assert re.search(r"event: kpi\n(: keep-alive\n)+data", text)


async def test_a_stream_gives_its_count_back_when_the_caller_leaves_or_the_service_ends_it():
    async with live_gateway(stream_max_per_principal=1) as (reception, rig, caller):
        key = rig.key("hq_analyst", key_id="key-hq")
        streams = rig.app.state.gate.streams
        async with contextlib.AsyncExitStack() as stack:
            assert (await open_stream(stack, caller, key)).response.status_code == 200
            streams_refused(await open_stream(stack, caller, key), held=1, most=1)
        # The caller left (its connection closed): the count is back, and the service's stream closed.
        await eventually(_async(lambda: streams.held("key-hq") == 0 and reception.closed == 1), timeout=5,
                         message="a stream the caller left was still counted or open")
        async with contextlib.AsyncExitStack() as stack:
            opened = await open_stream(stack, caller, key)
            assert opened.response.status_code == 200
            reception.finish.set()  # the service ends its stream
            assert await asyncio.wait_for(opened.next_event(), 5) == "bye"
            with pytest.raises(AssertionError, match="ended"):
                await asyncio.wait_for(opened.next_event(), 5)
            await eventually(_async(lambda: streams.held("key-hq") == 0), timeout=5,
                             message="a stream the service ended was still counted")
            reception.finish.clear()
            assert (await open_stream(stack, caller, key)).response.status_code == 200
        await eventually(_async(lambda: streams.held("key-hq") == 0), timeout=5, message="a stream left was counted")
        # A stream asked for but answered with something else is counted only while it is answered:
        # with a limit of one, the second would be 429 otherwise.
        for _ in range(2):
            missing = await caller.get("/api/reception/v1/nothing/stream", headers=rig.bearer(key))
            assert missing.status_code == 404
        assert streams.held("key-hq") == 0


def _async(condition):
    async def check():
        return condition()
    return check
