"""Token buckets: burst, refill, the wait until the next token, separate names, bounded memory."""
from __future__ import annotations

import pytest

from gateway.ratelimit import TokenBuckets


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_the_rate():
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("k") == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("k") == 0.0
    assert buckets.take("k") == pytest.approx(0.5)
    clock.now += 100
    assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]  # never more than the burst
    assert buckets.take("k") > 0


def test_names_have_their_own_buckets_and_memory_is_bounded():
    clock = Clock()
    buckets = TokenBuckets(rate=1.0, burst=1, max_entries=10, clock=clock)
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0
    assert buckets.take("b") == 0.0
    for i in range(100):
        buckets.take(f"addr-{i}")
    assert len(buckets) == 10


def test_nonsense_limits_are_refused():
    with pytest.raises(ValueError):
        TokenBuckets(rate=0, burst=1)
    with pytest.raises(ValueError):
        TokenBuckets(rate=1, burst=0)
