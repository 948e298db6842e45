"""Token buckets per API key and per client address.

A bucket holds up to `burst` tokens and refills at `rate` per second; a request takes
one. Buckets live in this process (each gateway replica limits on its own) in a bounded
LRU, so a flood of new addresses cannot grow memory without limit. The `limits` package
offers fixed and moving windows but no token bucket with a refill-time answer, which is
what Retry-After needs, so this small piece is our own."""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    def __init__(self, rate: float, burst: int, *, max_entries: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate, self.burst, self.max_entries, self.clock = rate, burst, max_entries, clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, name: str) -> float:
        """Take one token for `name`: 0.0 when allowed, else the seconds until one is there."""
        now = self.clock()
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), updated=now)
            self._buckets[name] = bucket
            if len(self._buckets) > self.max_entries:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(name)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)
