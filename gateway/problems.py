"""The gateway's own answers, all RFC 9457 problem+json like the services' own."""
from __future__ import annotations

import math
from typing import Any

from fastapi.responses import JSONResponse

from services.common.errors import PROBLEM_BASE, PROBLEM_JSON, Problem

TITLES = {
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    413: ("payload-too-large", "Request body too large"),
    429: ("rate-limited", "Too many requests"),
    502: ("bad-gateway", "Bad gateway"),
    503: ("upstream-unavailable", "Service unavailable"),
    504: ("upstream-timeout", "Upstream timeout"),
    500: ("internal", "Internal error"),
}


def problem(status: int, detail: str, *, instance: str | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    kind, title = TITLES.get(status, ("error", "Error"))
    body = Problem(type=PROBLEM_BASE + kind, title=title, status=status, detail=detail, instance=instance or None,
                   **extra).body()
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="aftersales"')
    # Errors about who you are must never be cached by an intermediary.
    headers.setdefault("Cache-Control", "no-store")
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def too_many(detail: str, retry_after: float, instance: str | None = None, **extra: Any) -> JSONResponse:
    seconds = max(1, math.ceil(retry_after))
    return problem(429, detail, instance=instance, headers={"Retry-After": str(seconds)},
                   retry_after_seconds=seconds, **extra)
