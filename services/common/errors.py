"""Domain errors carry their HTTP status and a stable problem type; one set of handlers
renders every error as RFC 9457 problem+json."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException

from .logging import get_logger

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://aftersales.example/problems/"
PROBLEM_REF = "#/components/schemas/Problem"
log = get_logger(__name__)


def _absent(value: Any) -> bool:
    return value is None


class FieldError(BaseModel):
    """One input field a request got wrong."""

    model_config = ConfigDict(populate_by_name=True)

    field: str = Field(description="the field's path, e.g. lines.1.quantity")
    message: str
    # Only request validation knows where the field was; a business rule names the field alone.
    in_: str | SkipJsonSchema[None] = Field(default=None, alias="in", exclude_if=_absent,
                                            description="body, query, path or header")


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every error answer, the services' and the
    gateway's. Members beyond these carry the error's particulars (current_state,
    current_version, retry_after_seconds, ...)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    # Members left empty are absent from the answer, never null.
    detail: str | SkipJsonSchema[None] = Field(default=None, exclude_if=_absent)
    instance: str | SkipJsonSchema[None] = Field(default=None, exclude_if=_absent)
    errors: list[FieldError] | SkipJsonSchema[None] = Field(default=None, exclude_if=_absent)

    def body(self) -> dict[str, Any]:
        """The JSON object to send."""
        return self.model_dump(mode="json", by_alias=True)


def problem_schema() -> dict[str, Any]:
    """Problem's JSON schema with nothing to resolve elsewhere, for OpenAPI documents'
    `#/components/schemas/Problem` (a service's own and the gateway's merged one)."""
    schema = Problem.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            # A null default would contradict the member's type: an empty member is left out.
            return {key: inline(value) for key, value in node.items() if not (key == "default" and value is None)}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return inline(schema)


class DomainError(Exception):
    status = 400
    type = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def problem(self, instance: str | None = None) -> Problem:
        return Problem(type=PROBLEM_BASE + self.type, title=self.title, status=self.status, detail=self.detail,
                       instance=instance or None, **self.extra)


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


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem.body(), status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install_error_handlers(app: FastAPI) -> None:
    """Every error answered as problem+json, and the Problem schema in the app's OpenAPI
    document for the routes that list their problems (problem_responses)."""
    _add_problem_schema(app)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        return problem_response(exc.problem(str(request.url.path)))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [
            FieldError(field=_field_path(e.get("loc", ())), message=e.get("msg", "invalid"),
                       in_=str((e.get("loc") or ["body"])[0]))
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return problem_response(Problem(type=PROBLEM_BASE + ValidationFailed.type, title=ValidationFailed.title,
                                        status=422, detail=detail, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return problem_response(
            Problem(type="about:blank", title=str(exc.detail), status=exc.status_code, detail=str(exc.detail)),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        from .db import is_connection_error

        if is_connection_error(exc):
            # The database is restarting or unreachable: nothing was written; retry soon.
            log.warning("database unavailable", path=request.url.path, error=repr(exc))
            return problem_response(
                Problem(type=PROBLEM_BASE + "unavailable", title="Service unavailable", status=503,
                        detail="the database is unavailable; retry shortly"), headers={"Retry-After": "1"},
            )
        log.exception("unhandled error", path=request.url.path)
        return problem_response(
            Problem(type=PROBLEM_BASE + "internal", title="Internal error", status=500, detail="unexpected error")
        )


def _add_problem_schema(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = problem_schema()
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def problem_responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """For `responses=` on routes, so the OpenAPI lists the problems a route can answer; each
    refers to the Problem schema the app adds to its document (services.common.app)."""
    out: dict[int | str, dict[str, Any]] = {}
    for err in errors:
        out[err.status] = {"description": err.title, "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}}
    return out
