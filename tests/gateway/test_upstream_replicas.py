"""A service's replicas share the gateway's calls: each call picks the next replica round
(GatewaySettings.upstream), and the balancer, which tries the others only when that one is gone,
does not move the turn again."""
from __future__ import annotations

from collections import Counter

import pytest

from gateway.upstream import BROKEN, Balanced, Replicas, UpstreamAnswer, UpstreamFailure


class Recorder:
    """Keeps the URL each call was sent to and fails it as a broken answer, which the balancer
    passes on without trying another replica."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes,
                   *, streaming: bool) -> UpstreamAnswer:
        self.urls.append(url)
        raise UpstreamFailure(BROKEN, "recorded only")

    async def aclose(self) -> None:
        pass


async def test_calls_through_the_balancer_alternate_between_two_replicas():
    replicas = Replicas("reception", ["http://127.0.0.1:1", "http://127.0.0.1:2"], interval=60)
    recorder = Recorder()
    balanced = Balanced(recorder, [replicas])
    try:
        for _ in range(10):
            with pytest.raises(UpstreamFailure, match="recorded only"):
                await balanced.send("GET", replicas.pick() + "/v1/repair-orders", [], b"", streaming=False)
    finally:
        await balanced.aclose()
    assert Counter(url.rsplit(":", 1)[1].split("/")[0] for url in recorder.urls) == {"1": 5, "2": 5}
