"""What every service's HTTP layer shares: the transaction-per-request route class with
Idempotency-Key support, dependency aliases, identity and permission checks, request ids,
metrics, health, readiness and the AsyncAPI document."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import context, idempotency, scrape
from .clock import Clock
from .db import Database
from .errors import DomainError, Forbidden, Unauthorized, problem_response
from .identity import H_REQUEST, IdentityError, NonceLedger, Principal, SignedRequest, body_digest, scope_target, verify
from .ids import new_request_id
from .inputs import document_problems, text_problem
from .pagination import DEFAULT_LIMIT, MAX_LIMIT
from .permissions import allowed
from .settings import PlatformSettings

REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class _Rollback(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


async def verified_principal(request: Request) -> Principal:
    """The caller the gateway vouched for on this very request (method, path and query, this
    service, the body read here), or IdentityError. Checked once per request and the outcome
    kept: a nonce is accepted once, and a route may ask more than once."""
    outcome: Principal | IdentityError | None = getattr(request.state, "identity", None)
    if outcome is None:
        app = request.app
        settings: PlatformSettings = app.state.settings
        seen: NonceLedger | None = getattr(app.state, "identity_nonces", None)
        if seen is None:
            seen = app.state.identity_nonces = NonceLedger(settings.identity_nonce_capacity)
        # FastAPI has read a route's body before its dependencies run; this returns that copy.
        body = await request.body()
        signed = SignedRequest(request.method, scope_target(request.scope), settings.service_name, body_digest(body))
        try:
            outcome = verify(request.headers, settings.identity_secret, signed, settings.identity_max_age_seconds,
                             seen=seen)
        except IdentityError as exc:
            outcome = exc
        request.state.identity = outcome
    if isinstance(outcome, IdentityError):
        raise outcome
    return outcome


async def _principal_or_none(request: Request) -> Principal | None:
    try:
        return await verified_principal(request)
    except IdentityError:
        return None


class TransactionalRoute(APIRoute):
    """One database transaction per request, committed only for a success answer.

    A POST with `Idempotency-Key` stores its answer in that same transaction, so the key
    exists if and only if the write does; a retry replays the stored answer."""

    def get_route_handler(self) -> Callable:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            db: Database = request.app.state.db
            key = request.headers.get(idempotency.HEADER) if request.method == "POST" else None
            # (scope, key, request fingerprint) of a POST with a key from a known caller
            keyed: tuple[str, str, str] | None = None
            if key is not None:
                idempotency.check_key(key)
                principal = await _principal_or_none(request)
                if principal is not None:
                    scope = f"{principal.store_id or '*'}:{principal.id}"
                    body = await request.body()
                    keyed = scope, key, idempotency.request_fingerprint(request.method, request.url.path, body)
            for attempt in (1, 2):
                try:
                    async with db.transaction() as session:
                        request.state.session = session
                        if keyed is not None:
                            record = await idempotency.lookup(session, *keyed)
                            if record is not None:
                                return Response(
                                    content=record.response_body, status_code=record.status_code,
                                    media_type="application/json",
                                    headers={**record.response_headers, "Idempotent-Replayed": "true"},
                                )
                        response = await original(request)
                        if response.status_code >= 400:
                            raise _Rollback(response)
                        if keyed is not None:
                            kept = {k: v for k, v in response.headers.items() if k.lower() in ("location", "etag")}
                            idempotency.remember(session, *keyed, request.method,
                                                 request.url.path, response.status_code, response.body, kept)
                    return response
                except (_Rollback, DomainError) as refused:
                    # A refusal may be this delivery's reading of what another delivery of the
                    # same key wrote meanwhile (idempotency.answered_meanwhile): then that one's
                    # answer is this one's too.
                    if keyed is not None:
                        replayed: Response | None = None
                        async with db.sessions() as session:
                            try:
                                record = await idempotency.answered_meanwhile(session, *keyed)
                                # Read before the rollback, which expires the record's fields
                                # (reading them afterwards raised DetachedInstanceError: a 500).
                                if record is not None:
                                    replayed = Response(
                                        content=record.response_body, status_code=record.status_code,
                                        media_type="application/json",
                                        headers={**record.response_headers, "Idempotent-Replayed": "true"},
                                    )
                            finally:
                                await session.rollback()
                        if replayed is not None:
                            return replayed
                    if isinstance(refused, _Rollback):
                        return refused.response
                    raise
                except IntegrityError:
                    # A concurrent request with the same key won the race: replay its answer.
                    if keyed is None or attempt == 2:
                        raise
            raise AssertionError("unreachable")

        return handler


async def get_session(request: Request) -> AsyncSession:
    return request.state.session


async def current_principal(request: Request) -> Principal:
    try:
        principal = await verified_principal(request)
    except IdentityError as exc:
        raise Unauthorized(str(exc)) from exc
    # A service that bounds some HQ callers by what it alone knows (network: a region
    # manager's stores) sets `app.state.principal_scope` to narrow the principal per request.
    narrow: Callable[[Request, Principal], Awaitable[Principal]] | None = getattr(
        request.app.state, "principal_scope", None)
    if narrow is not None:
        principal = await narrow(request, principal)
    request.state.principal = principal
    return principal


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


def get_settings(request: Request) -> PlatformSettings:
    return request.app.state.settings


SessionDep = Annotated[AsyncSession, Depends(get_session)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
ClockDep = Annotated[Clock, Depends(get_clock)]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
CursorQuery = Annotated[str | None, Query(description="opaque cursor from next_cursor")]
DEFAULT_PAGE = DEFAULT_LIMIT


def require_access(area: str):
    """A dependency giving the caller, or 403 when the matrix denies this method here."""

    async def dependency(request: Request, principal: PrincipalDep) -> Principal:
        if not allowed(area, principal.role, request.method):
            raise Forbidden(f"role {principal.role} may not {request.method} here")
        return principal

    return dependency


def require_roles(*roles: str):
    async def dependency(principal: PrincipalDep) -> Principal:
        if principal.role not in roles and principal.role != "system":
            raise Forbidden(f"role {principal.role} may not do this")
        return principal

    return dependency


def _parsed_as_json(request: Request) -> bool:
    # As FastAPI decides whether a body is JSON: no content type, or a JSON one.
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return not media or media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def refuse_unstorable_input(request: Request) -> None:
    """An app-wide dependency (services.common.inputs says why): a 422 naming each path or
    query parameter, and body field, whose text no column can keep, or the body nested too
    deep, before the route's own validation and any query."""
    errors: list[dict[str, Any]] = []
    for where, values in (("path", request.path_params.items()), ("query", request.query_params.multi_items())):
        for name, value in values:
            problem = text_problem(value) if isinstance(value, str) else None
            if problem:
                errors.append({"loc": (where, name), "msg": problem, "type": "value_error"})
    # Only a route that takes a body has had it parsed, and cached on the request, by FastAPI.
    if getattr(request.scope.get("route"), "body_field", None) is not None and _parsed_as_json(request):
        try:
            document = await request.json()
        except ValueError:
            document = None  # not JSON: FastAPI has answered that already
        errors += [{"loc": ("body", *path), "msg": problem, "type": "value_error"}
                   for path, problem in document_problems(document)]
    if errors:
        raise RequestValidationError(errors)


# FastAPI's OpenTelemetry hooks, all off: the platform's Prometheus metrics and logs cover them.
NO_OTEL: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


class RequestContextMiddleware:
    """Request id (taken from the gateway or made), echoed on the answer and bound for logs
    and events; request latency by route template. Plain ASGI: a BaseHTTPMiddleware runs
    every request in an extra task and costs more than many handlers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._header = H_REQUEST.lower().encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = next((v.decode("latin-1") for k, v in scope["headers"] if k == self._header), "") or new_request_id()
        t1 = context.request_id.set(rid)
        t2 = context.correlation_id.set(rid)
        start = time.perf_counter()
        status = 500
        header = (self._header, rid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*(h for h in message.get("headers", []) if h[0] != self._header),
                                                  header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            REQUEST_SECONDS.labels(
                scope["app"].state.settings.service_name, scope["method"],
                getattr(route, "path", "unmatched"), str(status),
            ).observe(time.perf_counter() - start)
            context.request_id.reset(t1)
            context.correlation_id.reset(t2)


def install_platform_routes(app: FastAPI, ready_checks: dict[str, Callable[[], Any]]) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz():
        results = {name: bool(await check()) for name, check in ready_checks.items()}
        ok = all(results.values())
        return Response(
            content=__import__("json").dumps({"status": "ready" if ok else "not ready", "checks": results}),
            status_code=200 if ok else 503, media_type="application/json",
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request):
        refused = scrape.refusal(request.app.state.settings.metrics_token, request.headers.get("authorization"))
        if refused is not None:
            # Metrics name routes, stores' traffic and failures: for the scraper only.
            return problem_response(Unauthorized(refused).problem(request.url.path),
                                    headers={"WWW-Authenticate": scrape.METRICS_REALM})
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi():
        from .events.asyncapi import build_asyncapi

        return build_asyncapi()
