"""Domain errors carry their HTTP status and a stable problem type; one set of handlers
renders every error as RFC 9457 problem+json."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .logging import get_logger

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://aftersales.example/problems/"
log = get_logger(__name__)


class DomainError(Exception):
    status = 400
    type = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body = {"type": PROBLEM_BASE + self.type, "title": self.title, "status": self.status, "detail": self.detail}
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class NotFound(DomainError):
    status, type, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, type, title = 409, "conflict", "Conflict"


class InvalidTransition(Conflict):
    type, title = "invalid-transition", "Invalid state transition"

    def __init__(self, current: str, action: str, **extra: Any) -> None:
        super().__init__(f"cannot {action} while {current}", current_state=current, action=action, **extra)


class StaleVersion(DomainError):
    status, type, title = 412, "stale-version", "Precondition failed: stale version"

    def __init__(self, current_version: int, **extra: Any) -> None:
        super().__init__("the object changed since you read it", current_version=current_version, **extra)


class ValidationFailed(DomainError):
    """A business-rule violation on one input field (422)."""

    status, type, title = 422, "validation", "Invalid input"

    def __init__(self, field: str, message: str, **extra: Any) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}], **extra)


class Unauthorized(DomainError):
    status, type, title = 401, "unauthorized", "Unauthorized"


class Forbidden(DomainError):
    status, type, title = 403, "forbidden", "Forbidden"


class TooManyRequests(DomainError):
    status, type, title = 429, "rate-limited", "Too many requests"


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        return problem_response(exc.status, exc.problem(str(request.url.path)))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [
            {"field": _field_path(e.get("loc", ())), "message": e.get("msg", "invalid"), "in": (e.get("loc") or ["body"])[0]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(
            422,
            {"type": PROBLEM_BASE + "validation", "title": "Invalid input", "status": 422, "detail": detail, "errors": errors},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return problem_response(
            exc.status_code,
            {"type": "about:blank", "title": str(exc.detail), "status": exc.status_code, "detail": str(exc.detail)},
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        from .db import is_connection_error

        if is_connection_error(exc):
            # The database is restarting or unreachable: nothing was written; retry soon.
            log.warning("database unavailable", path=request.url.path, error=repr(exc))
            return problem_response(
                503, {"type": PROBLEM_BASE + "unavailable", "title": "Service unavailable", "status": 503,
                      "detail": "the database is unavailable; retry shortly"}, headers={"Retry-After": "1"},
            )
        log.exception("unhandled error", path=request.url.path)
        return problem_response(
            500, {"type": PROBLEM_BASE + "internal", "title": "Internal error", "status": 500, "detail": "unexpected error"}
        )


def problem_responses(*errors: type[DomainError]) -> dict[int, dict[str, Any]]:
    """For `responses=` on routes, so the OpenAPI lists the problems a route can answer."""
    out: dict[int, dict[str, Any]] = {}
    for err in errors:
        out[err.status] = {"description": err.title, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    return out
