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
from services.common.identity import verify
from tests.gateway.fakes import SECRET, settings
from tests.gateway.servers import serve
from tests.support.processes import free_port

TOKEN = "ak_streaming_hq_0123456789"


class SlowNetwork:
    """network's introspection, a KPI stream the test paces, and a route slower than the gateway waits."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.stream_closed = asyncio.Event()

        async def introspect(request: Request):
            assert verify(request.headers, SECRET).role == "system"
            return JSONResponse({"active": True, "id": "key-hq", "role": "hq_analyst", "name": "hq"})

        async def stream(request: Request):
            verify(request.headers, SECRET)

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
