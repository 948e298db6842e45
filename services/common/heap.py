"""Garbage collection in a long-running service process."""
from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Take everything alive once a process has built its app (modules, pydantic and
    SQLAlchemy models, routes, the OpenAPI schema) out of the collector's reach.

    Those objects live as long as the process, yet every full collection walked them all
    again: applying deliveries in CRM, one full collection took 160–180 ms, a pause
    every event in flight waited out. Frozen, the same collection looks only at objects
    made since, and took under 1 ms (`make bench`, pipeline; `docs/performance.md`).
    Called once, just before serving, and only by the command that starts a process: a
    test that builds many apps in one process would otherwise keep each of them alive."""
    gc.collect()
    gc.freeze()
