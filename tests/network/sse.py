"""Reading /v1/kpis/stream in tests: the app (already running) is served by uvicorn in this
process on a free port, and a client collects the server-sent events as they arrive."""
from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx
import uvicorn

from tests.support.platform import signing_client


@asynccontextmanager
async def served(app) -> AsyncIterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning",
                                           timeout_graceful_shutdown=2))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class EventStream:
    """Parsed events (`event`, `data`) of one open stream, in arrival order."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()

    async def next(self, timeout: float = 10.0) -> tuple[str, dict]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def next_of(self, name: str, timeout: float = 10.0) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event, data = await self.next(max(0.01, deadline - loop.time()))
            if event == name:
                return data


@asynccontextmanager
async def subscribed(base_url: str, path: str, headers: dict[str, str]) -> AsyncIterator[EventStream]:
    stream = EventStream()

    async def read(response: httpx.Response) -> None:
        event, data = "message", []
        async for line in response.aiter_lines():
            if line == "":
                if data:
                    await stream.events.put((event, json.loads("\n".join(data))))
                event, data = "message", []
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())

    async with signing_client(base_url, "network", timeout=httpx.Timeout(10, read=None)) as client:
        async with client.stream("GET", path, headers=headers) as response:
            assert response.status_code == 200, await response.aread()
            assert response.headers["content-type"].startswith("text/event-stream")
            reader = asyncio.create_task(read(response))
            try:
                yield stream
            finally:
                reader.cancel()
                try:
                    await reader
                except (asyncio.CancelledError, httpx.HTTPError):
                    pass
