from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy.exc import IntegrityError

from services.common import idempotency
from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access, require_roles
from services.common.errors import NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.inputs import Day
from services.network.kpis import service
from services.network.kpis.broadcaster import RESYNC
from services.network.kpis.rebuild import rebuild
from services.network.kpis.schemas import KpiReport, RebuildResult
from services.network.targets import service as targets

router = APIRouter(prefix="/v1/kpis", tags=["kpis"], route_class=TransactionalRoute)
# Long-lived or self-transacting routes: no request-wide transaction around them.
live = APIRouter(prefix="/v1/kpis", tags=["kpis"])
Reader = Annotated[Principal, Depends(require_access("kpis"))]
HqAdmin = Annotated[Principal, Depends(require_roles("hq_admin"))]
MAX_WINDOW_DAYS = 366
HQ_ZONE = "Asia/Shanghai"


@router.get("", response_model=KpiReport, responses=problem_responses(NotFound, ValidationFailed))
async def get_kpis(session: SessionDep, clock: ClockDep, principal: Reader,
                   store_id: Annotated[str | None, Query()] = None,
                   since: Annotated[Day | None, Query(
                       alias="from", description="first local day; default the 1st of `to`'s month")] = None,
                   until: Annotated[Day | None, Query(
                       alias="to", description="last local day, inclusive; default today")] = None):
    until = until or clock.now().astimezone(ZoneInfo(HQ_ZONE)).date()
    since = since or until.replace(day=1)
    if since > until:
        raise ValidationFailed("from", "must not be after `to`")
    if until - since > timedelta(days=MAX_WINDOW_DAYS - 1):
        raise ValidationFailed("from", f"a window is at most {MAX_WINDOW_DAYS} days")
    report = await service.report(session, since, until, await service.visible_stores(session, principal, store_id))
    month = await targets.attainment(session, clock, principal, until.year, until.month, store_id)
    by_store = {s.store_id: s.measures for s in month.stores}
    for figures in report.stores:
        figures.attainment = by_store.get(figures.store_id)
        figures.targets = {m.measure.value: m.target for m in figures.attainment} if figures.attainment else None
    report.network.attainment = month.network.measures
    report.network.targets = {m.measure.value: m.target for m in month.network.measures}
    return report


async def stream_scope(request: Request, principal: Reader,
                       store_id: Annotated[str | None, Query()] = None) -> set[str] | None:
    """Which stores a subscriber hears of (None: every store), checked before the stream
    opens so a wrong store is a 404, not a broken stream."""
    async with request.app.state.db.transaction() as session:
        stores = await service.visible_stores(session, principal, store_id)
    scoped = principal.store_id or store_id or principal.role == "region_manager"
    return {s.id for s in stores} if scoped else None


@live.get("/stream", response_class=EventSourceResponse, responses=problem_responses(NotFound))
async def stream_kpis(request: Request, only: Annotated[set[str] | None, Depends(stream_scope)]
                      ) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events: `ready` once subscribed, then a `kpi` event with a store's figures
    for a local day each time that day's figures change; `resync` when the client should
    reload everything (after a rebuild, or when it fell behind)."""
    db, broadcaster = request.app.state.db, request.app.state.kpi_broadcaster
    queue = broadcaster.subscribe()
    try:
        yield ServerSentEvent(event="ready", data={"stores": sorted(only) if only is not None else "all"}, retry=3000)
        sequence = 0
        while True:
            changes = await queue.get()
            if changes == RESYNC:
                yield ServerSentEvent(event="resync", data={})
                continue
            for changed_store, day in sorted(changes):
                if only is not None and changed_store not in only:
                    continue
                async with db.transaction() as session:
                    figures = await service.store_day(session, changed_store, day)
                if figures is None:
                    continue
                sequence += 1
                yield ServerSentEvent(event="kpi", id=str(sequence),
                                      data={"store_id": changed_store, "date": day.isoformat(),
                                            "kpis": figures.model_dump(mode="json")})
    finally:
        broadcaster.unsubscribe(queue)


@live.post("/rebuild", response_model=RebuildResult, responses=problem_responses(ValidationFailed))
async def rebuild_kpis(request: Request, principal: HqAdmin):
    """Reset the KPI projections and re-read every topic from the beginning. Answers when done;
    for long histories use `python -m services.network rebuild-kpis`, which shows progress.
    A retry with the same Idempotency-Key answers the first rebuild's result without rebuilding."""
    state = request.app.state
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        return await rebuild(state.db, state.settings, broadcaster=state.kpi_broadcaster)
    # The rebuild runs its own transactions, so this route keeps the key itself, as
    # TransactionalRoute does for the others: the answer is stored once the rebuild is done.
    idempotency.check_key(key)
    scope = f"{principal.store_id or '*'}:{principal.id}"
    fingerprint = idempotency.request_fingerprint(request.method, request.url.path, await request.body())
    async with state.db.transaction() as session:
        record = await idempotency.lookup(session, scope, key, fingerprint)
    if record is None:
        result = await rebuild(state.db, state.settings, broadcaster=state.kpi_broadcaster)
        answer = JSONResponse(jsonable_encoder(result))
        try:
            async with state.db.transaction() as session:
                idempotency.remember(session, scope, key, fingerprint, request.method, request.url.path,
                                     answer.status_code, answer.body, {})
            return answer
        except IntegrityError:
            # A retry running at the same time stored its result first: answer as it did.
            async with state.db.transaction() as session:
                record = await idempotency.lookup(session, scope, key, fingerprint)
            if record is None:
                raise  # the answer this key collided with is gone again: the conflict stands
    return Response(content=record.response_body, status_code=record.status_code, media_type="application/json",
                    headers={**record.response_headers, "Idempotent-Replayed": "true"})
