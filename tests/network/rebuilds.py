"""Starting a KPI rebuild job and polling it until it is over, as a client of the API does."""
from __future__ import annotations

from urllib.parse import urljoin

from tests.support.platform import Caller, eventually

OVER = ("done", "failed")


async def poll(caller: Caller, location: str, timeout: float = 60) -> dict:
    """The job at `location` once it is over."""

    async def over() -> dict | None:
        answer = await caller.get(location)
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["state"] in OVER else None

    return await eventually(over, timeout=timeout, interval=0.1, message="the rebuild job never finished")


async def rebuilt(caller: Caller, timeout: float = 60) -> dict:
    """Starts a rebuild, waits for it, and returns the job, asserting it is done."""
    started = await caller.post("/v1/kpis/rebuild")
    assert started.status_code == 202, started.text
    job = await poll(caller, urljoin("/v1/kpis/rebuild", started.headers["location"]), timeout)
    assert job["state"] == "done", job
    return job
