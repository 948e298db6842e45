"""The gateway served by uvicorn in front of real sockets: server-sent events stream
through unbuffered, a slow service is 504, a closed port is 503."""
from __future__ import annotations

import asyncio
import json

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from gateway.main import create_app
from tests.gateway.fakes import gateway, settings, vouched
from tests.gateway.servers import serve, wire_server
from tests.support.processes import free_port

TOKEN = "ak_streaming_hq_0123456789"


class SlowNetwork:
    """network's introspection, a KPI stream the test paces, and a route slower than the gateway waits."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.stream_closed = asyncio.Event()

        async def introspect(request: Request):
            assert (await vouched(request, "network")).role == "system"
            return JSONResponse({"active": True, "id": "key-hq", "role": "hq_analyst", "name": "hq"})

        async def stream(request: Request):
            await vouched(request, "network")

            async def events():
                try:
                    yield b'event: kpi\ndata: {"repair_orders_delivered": 1}\n\n'
                    await self.release.wait()
                    yield b'event: kpi\ndata: {"repair_orders_delivered": 2}\n\n'
                finally:
                    self.stream_closed.set()

            return StreamingResponse(events(), media_type="text/event-stream")

        async def slow(request: Request):
            await asyncio.sleep(2)
            return JSONResponse({"late": True})

        self.app = Starlette(routes=[
            Route("/v1/internal/introspect", introspect, methods=["POST"]),
            Route("/v1/kpis/stream", stream), Route("/v1/stores", slow),
        ])


async def test_server_sent_events_stream_through_without_buffering():
    network = SlowNetwork()
    async with serve(network.app) as network_url:
        app = create_app(settings(network_url=network_url))
        async with serve(app) as gateway_url, httpx.AsyncClient(base_url=gateway_url, timeout=10) as client:
            headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "text/event-stream"}
            async with client.stream("GET", "/api/network/v1/kpis/stream", headers=headers) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                assert response.headers["x-request-id"]
                lines = response.aiter_lines()
                # The first event arrives while the service is still holding the second.
                first = await asyncio.wait_for(_next_data(lines), 5)
                assert json.loads(first) == {"repair_orders_delivered": 1}
                assert not network.release.is_set()
                network.release.set()
                second = await asyncio.wait_for(_next_data(lines), 5)
                assert json.loads(second) == {"repair_orders_delivered": 2}
            await asyncio.wait_for(network.stream_closed.wait(), 5)


async def _next_data(lines) -> str:
    async for line in lines:
        if line.startswith("data:"):
            return line[5:].strip()
    raise AssertionError("stream ended")


async def test_a_client_leaving_a_stream_closes_it_upstream():
    network = SlowNetwork()
    async with serve(network.app) as network_url:
        app = create_app(settings(network_url=network_url))
        async with serve(app) as gateway_url, httpx.AsyncClient(base_url=gateway_url, timeout=10) as client:
            headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "text/event-stream"}
            async with client.stream("GET", "/api/network/v1/kpis/stream", headers=headers) as response:
                await asyncio.wait_for(_next_data(response.aiter_lines()), 5)
            # The caller is gone; the gateway must not hold the service's stream open.
            await asyncio.wait_for(network.stream_closed.wait(), 5)


async def test_a_slow_service_is_504_and_a_closed_port_is_503():
    network = SlowNetwork()
    async with serve(network.app) as network_url:
        app = create_app(settings(network_url=network_url, reception_url=f"http://127.0.0.1:{free_port()}",
                                  upstream_read_timeout=0.5))
        async with serve(app) as gateway_url, httpx.AsyncClient(base_url=gateway_url, timeout=10) as client:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            slow = await client.get("/api/network/v1/stores", headers=headers)
            assert slow.status_code == 504
            assert slow.headers["content-type"] == "application/problem+json"
            assert slow.json()["type"].endswith("/upstream-timeout")
            down = await client.get("/api/reception/v1/appointments", headers=headers)
            assert down.status_code == 503
            assert down.json()["type"].endswith("/upstream-unavailable") and down.headers["retry-after"]


SERVER_ERROR = (b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"content-length: 21\r\n\r\nInternal Server Error")
CREATED = b'HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n{"ok": true}'


async def test_a_post_after_a_500_is_not_sent_on_the_connection_the_service_dropped(upstream_client):
    """uvicorn sends the 500 that Starlette's error middleware writes for an exception and
    then closes the connection without a `Connection: close`. Here the service answers 500
    and closes that connection when the next request comes on it, unread and unanswered
    (its close crossing the request on the wire, as on a busy machine): the POST must go on
    a fresh connection, once, and not come back as 502."""

    async def answer(request, writer, number):
        earlier = [r for n, r in service.numbered if n == number][:-1]
        if earlier and earlier[-1].target == b"/v1/fails":
            writer.close()
        elif request.target == b"/v1/fails":
            writer.write(SERVER_ERROR)
        else:
            writer.write(CREATED)

    async with wire_server(answer) as service, gateway(own={"reception": service.url},
                                                         upstream_client=upstream_client) as rig:
        headers = {"Authorization": f"Bearer {rig.key('hq_admin')}"}
        failed = await rig.client.post("/api/reception/v1/fails", content=b"{}", headers=headers)
        assert failed.status_code == 500 and failed.text == "Internal Server Error"
        created = await rig.client.post("/api/reception/v1/orders", content=b'{"n": 1}', headers=headers)
        assert created.status_code == 201, created.text
        # Sent once, on a connection of its own; the one that carried the 500 never saw it.
        (failed_on, first), (created_on, second) = service.numbered
        assert (first.target, second.target) == (b"/v1/fails", b"/v1/orders") and failed_on != created_on
        # Good answers still keep their connection alive.
        again = await rig.client.post("/api/reception/v1/orders", content=b'{"n": 2}', headers=headers)
        assert again.status_code == 201 and service.connections == 2
