import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access, require_roles
from services.common.errors import Conflict, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.inputs import Day
from services.network.kpis import service
from services.network.kpis.broadcaster import RESYNC
from services.network.kpis.jobs import RebuildJobs
from services.network.kpis.schemas import KpiReport, RebuildJobList, RebuildJobPublic
from services.network.targets import service as targets

router = APIRouter(prefix="/v1/kpis", tags=["kpis"], route_class=TransactionalRoute)
# Long-lived routes: no request-wide transaction around them.
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
    report = await service.report(session, since, until, await service.visible_stores(session, principal, store_id),
                                  every_store=service.sees_every_store(principal, store_id))
    by_store, network = await targets.month_of_stores(session, clock, principal, until.year, until.month, store_id)
    for figures in report.stores:
        figures.attainment = by_store.get(figures.store_id)
        figures.targets = {m.measure.value: m.target for m in figures.attainment} if figures.attainment else None
    report.network.attainment = network
    report.network.targets = {m.measure.value: m.target for m in network}
    return report


async def stream_scope(request: Request, principal: Reader,
                       store_id: Annotated[str | None, Query()] = None) -> set[str] | None:
    """Which stores a subscriber hears of (None: every store), checked before the stream
    opens so a wrong store is a 404, not a broken stream."""
    scoped = principal.store_id or store_id or principal.role == "region_manager"
    if not scoped:
        return None  # HQ hears of every store: nothing to read (500 dashboards connecting at once read nothing)
    async with request.app.state.db.transaction() as session:
        stores = await service.visible_stores(session, principal, store_id)
    return {s.id for s in stores}


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
            item = await queue.get()
            if item == RESYNC:
                yield ServerSentEvent(event="resync", data={})
                continue
            number, changes = item
            for changed_store, day in sorted(changes):
                if only is not None and changed_store not in only:
                    continue

                async def load(store_id: str = changed_store, day: date = day) -> str | None:
                    async with db.transaction() as session:
                        figures = await service.store_day(session, store_id, day)
                    # Serialised once too: 500 dashboards would otherwise encode the same figures 500 times.
                    return None if figures is None else json.dumps(
                        {"store_id": store_id, "date": day.isoformat(), "kpis": figures.model_dump(mode="json")},
                        separators=(",", ":"), ensure_ascii=False)

                data = await broadcaster.figures(number, changed_store, day, load)
                if data is None:
                    continue
                sequence += 1
                yield ServerSentEvent(event="kpi", id=str(sequence), raw_data=data)
    finally:
        broadcaster.unsubscribe(queue)


def rebuild_jobs(request: Request) -> RebuildJobs:
    """The process's rebuild jobs, made on first use; a running job is one of the service's
    tasks, so stopping the service stops it (and fails it) rather than leaving it hanging."""
    state = request.app.state
    jobs = getattr(state, "kpi_rebuilds", None)
    if jobs is None:
        jobs = state.kpi_rebuilds = RebuildJobs(state.db, state.settings, state.clock,
                                                broadcaster=state.kpi_broadcaster, stop=state.runtime.stop,
                                                tasks=state.runtime.tasks)
    return jobs


Rebuilds = Annotated[RebuildJobs, Depends(rebuild_jobs)]


@router.post("/rebuild", status_code=202, response_model=RebuildJobPublic,
             responses=problem_responses(Conflict, ValidationFailed))
async def rebuild_kpis(session: SessionDep, principal: HqAdmin, jobs: Rebuilds, response: Response,
                       background: BackgroundTasks):
    """Starts a rebuild of the KPI projections from the topics, in the background: 202 with
    the job and its `Location` to poll. One at a time: while one is queued or running, 409
    naming it (`running_job_id`). The figures stay as they were until the rebuilt ones
    replace them in one transaction. A retry with the same Idempotency-Key answers the
    same job without starting another."""
    job = await jobs.open(session, principal.id)
    response.headers["Location"] = f"rebuild/jobs/{job.id}"
    # Started once the job's row has committed (background tasks run after the answer is sent).
    background.add_task(jobs.start, job.id)
    return job


@router.get("/rebuild/jobs", response_model=RebuildJobList)
async def list_rebuild_jobs(session: SessionDep, principal: HqAdmin, jobs: Rebuilds,
                            limit: Annotated[int, Query(ge=1, le=100)] = 20):
    """The latest rebuild jobs, newest first."""
    return await jobs.recent(session, limit)


@router.get("/rebuild/jobs/{rebuild_id}", response_model=RebuildJobPublic, responses=problem_responses(NotFound))
async def get_rebuild_job(rebuild_id: str, session: SessionDep, principal: HqAdmin, jobs: Rebuilds):
    """A rebuild job: queued, running (with events read so far and the rate), done or failed."""
    return await jobs.get(session, rebuild_id)
