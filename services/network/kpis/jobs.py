"""KPI rebuild jobs: a rebuild runs in the background of the process that accepted it, one
at a time across every process on the database, and is polled until it is over.

    queued --(its process starts it)--> running --> done
                                               \\-> failed (an error, the service stopping,
                                                            or its process gone)

One at a time: a second request while a job is queued or running is refused (409) and
told which job runs, since a second rebuild would only redo the first one's reading.
Nothing is left half-done: the rebuild writes the projections in one transaction at its
end (rebuild.py), so a job cut off at any point leaves the old figures as they were. The
process running a job writes a heartbeat every few seconds; a job whose process is gone
(restarted on this host, or silent for STALE_SECONDS) is failed by whoever looks next,
and a new one may start."""
from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.db import Database
from services.common.errors import Conflict, NotFound
from services.common.ids import new_id
from services.common.logging import get_logger
from services.common.settings import PlatformSettings
from services.network.kpis import repository
from services.network.kpis.broadcaster import KpiBroadcaster
from services.network.kpis.models import KpiRebuildJob
from services.network.kpis.rebuild import Progress, RebuildStopped, rebuild
from services.network.kpis.schemas import RebuildJobList, RebuildJobPublic, RebuildJobState

log = get_logger(__name__)
HEARTBEAT_SECONDS = 2.0
# A running job's heartbeat older than this: its process is gone (a process busy with the
# rebuild still beats, as the rebuild yields to the event loop every few milliseconds).
STALE_SECONDS = 30.0
HOST = socket.gethostname()
# This process, told apart from an earlier process of the same host and pid (a restarted container).
RUNNER = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def public(job: KpiRebuildJob) -> RebuildJobPublic:
    seconds = job.seconds or 0.0
    return RebuildJobPublic(
        id=job.id, state=RebuildJobState(job.state), requested_by=job.requested_by, requested_at=job.requested_at,
        started_at=job.started_at, finished_at=job.finished_at, events_total=job.events_total,
        events_read=job.events_read, events_applied=job.events_applied, events_skipped=job.events_skipped,
        entities=job.entities, events_per_s=round(job.events_read / seconds, 1) if seconds > 0 else None,
        error=job.error)


def _process_gone(runner: str) -> bool:
    """Whether the process named by `runner` is certainly not running (known only on this host)."""
    host, pid, *_ = (runner.split(":") + ["", ""])[:3]
    if host != HOST or runner == RUNNER:
        return False
    if not pid.isdigit() or int(pid) == os.getpid():
        return True  # this process's pid under another start: the process before a restart
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RebuildJobs:
    """Opens, runs and reports rebuild jobs for one process (app.state.kpi_rebuilds)."""

    def __init__(self, db: Database, settings: PlatformSettings, clock: Clock, *,
                 broadcaster: KpiBroadcaster | None = None, stop: asyncio.Event | None = None,
                 tasks: list[asyncio.Task] | None = None, progress: Progress | None = None) -> None:
        self.db, self.settings, self.clock, self.broadcaster = db, settings, clock, broadcaster
        self.stop = stop or asyncio.Event()
        # The service's own task list, so that stopping the service waits for a running job.
        self.tasks: list[asyncio.Task] = tasks if tasks is not None else []
        self.progress = progress

    async def fail_abandoned(self, session: AsyncSession) -> None:
        job = await repository.active_job(session)
        if job is None:
            return
        last_sign = job.heartbeat_at or job.requested_at
        silent = self.clock.now() - last_sign > timedelta(seconds=STALE_SECONDS)
        if silent or _process_gone(job.runner):
            reason = "its process stopped before it finished (restarted or gone); start a new one"
            await repository.update_job(session, job.id, only_if_active=True, state=RebuildJobState.FAILED,
                                        active=None, finished_at=self.clock.now(), error=reason)
            log.warning("kpi rebuild job abandoned", job_id=job.id, runner=job.runner)

    async def open(self, session: AsyncSession, requested_by: str) -> RebuildJobPublic:
        """A new queued job, in the caller's transaction; start it once that has committed."""
        await self.fail_abandoned(session)
        job = KpiRebuildJob(id=new_id(), state=RebuildJobState.QUEUED, active=True, requested_by=requested_by,
                            requested_at=self.clock.now(), runner=RUNNER)
        if not await repository.open_job(session, job):
            running = await repository.active_job(session)
            raise Conflict("a KPI rebuild is queued or running already: poll it rather than start another",
                           running_job_id=running.id if running else None,
                           running_job_state=running.state if running else None)
        return public(job)

    async def get(self, session: AsyncSession, job_id: str) -> RebuildJobPublic:
        await self.fail_abandoned(session)
        job = await repository.job(session, job_id)
        if job is None:
            raise NotFound("rebuild job not found")
        return public(job)

    async def recent(self, session: AsyncSession, limit: int) -> RebuildJobList:
        await self.fail_abandoned(session)
        return RebuildJobList(items=[public(job) for job in await repository.jobs(session, limit)])

    async def start(self, job_id: str) -> None:
        """Runs the job in the background of this process (async: a task needs the event loop)."""
        task = asyncio.create_task(self.run(job_id), name=f"kpi-rebuild-{job_id}")
        self.tasks.append(task)
        task.add_done_callback(lambda done: self.tasks.remove(done) if done in self.tasks else None)

    async def _set(self, job_id: str, **values) -> bool:
        async with self.db.transaction() as session:
            return await repository.update_job(session, job_id, only_if_active=True, **values)

    async def run(self, job_id: str) -> None:
        started = time.monotonic()
        seen = {"read": 0, "total": 0}

        def note(read: int, total: int) -> None:
            seen["read"], seen["total"] = read, total
            if self.progress is not None:
                self.progress(read, total)

        def counted() -> dict:
            return {"events_read": seen["read"], "events_total": seen["total"],
                    "seconds": round(time.monotonic() - started, 3), "heartbeat_at": self.clock.now()}

        async def beat() -> None:
            while True:
                await asyncio.sleep(HEARTBEAT_SECONDS)
                await self._set(job_id, **counted())

        if not await self._set(job_id, state=RebuildJobState.RUNNING, started_at=self.clock.now(),
                               heartbeat_at=self.clock.now(), runner=RUNNER):
            return  # failed by someone else meanwhile
        heartbeat = asyncio.create_task(beat())
        try:
            result = await rebuild(self.db, self.settings, broadcaster=self.broadcaster, progress=note,
                                   should_stop=self.stop.is_set)
        except (Exception, asyncio.CancelledError) as exc:
            heartbeat.cancel()
            stopping = isinstance(exc, RebuildStopped | asyncio.CancelledError) or self.stop.is_set()
            reason = "the service stopped before it finished; start a new one" if stopping else repr(exc)[:2000]
            log.warning("kpi rebuild job failed", job_id=job_id, error=reason)
            with contextlib.suppress(Exception):
                await self._set(job_id, **counted(), state=RebuildJobState.FAILED, active=None,
                                finished_at=self.clock.now(), error=reason)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        heartbeat.cancel()
        await self._set(job_id, **{**counted(), "events_read": result.events_read},
                        state=RebuildJobState.DONE, active=None, finished_at=self.clock.now(),
                        events_applied=result.events_applied, events_skipped=result.events_skipped,
                        entities=result.entities)
        log.info("kpi rebuild job done", job_id=job_id, **result.model_dump())
