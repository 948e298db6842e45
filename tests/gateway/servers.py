"""Real HTTP servers inside the test's event loop (uvicorn), for what an in-process
transport cannot show: streaming, sockets that refuse, upstreams that are slow."""
from __future__ import annotations

import asyncio
import contextlib
from contextlib import asynccontextmanager
from typing import AsyncIterator

import uvicorn

from tests.support.processes import free_port


@asynccontextmanager
async def serve(app, port: int | None = None) -> AsyncIterator[str]:
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           access_log=False, timeout_graceful_shutdown=2))
    # Signals stay with the test runner.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
