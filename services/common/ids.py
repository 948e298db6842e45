"""Identifiers that sort by creation time, so keyset pagination and B-tree inserts stay cheap."""
from __future__ import annotations

import os
import random
import time


def _uuid7(ms: int, rand: int) -> str:
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_id() -> str:
    """A UUIDv7 (RFC 9562) string: 48 bits of Unix milliseconds, then randomness."""
    return _uuid7(time.time_ns() // 1_000_000, int.from_bytes(os.urandom(10), "big"))


def new_request_id() -> str:
    """A UUIDv7 string for tracing one request. Its randomness comes from the process's
    pseudo-random generator instead of the kernel (one system call less on every request):
    a request id only needs to be unique, not unguessable; records use `new_id`."""
    return _uuid7(time.time_ns() // 1_000_000, random.getrandbits(74))
