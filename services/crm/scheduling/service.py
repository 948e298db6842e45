"""CRM's scheduled jobs, per store and in the store's own day.

The worker starts each daily job for every active store once per store day (the run is
recorded in the job's own transaction, so several workers never both do it); HQ or the
store manager may start one by hand. The jobs are idempotent by what they write
(a milestone is reminded once, an absence announced once, a period's report stored
once, an escalation made once per reason), so running one again on the same day changes
nothing."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.errors import Forbidden, NotFound
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.logging import get_logger
from services.common.stores import active_store
from services.common.tables import KnownStore
from services.common.who import Who
from services.crm.callbacks import clerk
from services.crm.churn import service as churn
from services.crm.complaints import service as complaints
from services.crm.customer_base import service as customer_base
from services.crm.localtime import local_date, zone_of
from services.crm.reminders import service as reminders
from services.crm.reports import service as reports
from services.crm.scheduling import repository
from services.crm.scheduling.models import JobRun
from services.crm.scheduling.schemas import JobList, JobPublic, JobRunResult, LastRun, StoreRun
from services.crm.settings import CrmSettings
from services.crm.who import columns

log = get_logger(__name__)
# Who runs a job on schedule: no person, and nothing they came with.
SCHEDULER = Who(person_id="scheduler", name="scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    schedule: str
    daily: bool
    every_seconds: float
    work: Callable[[AsyncSession, KnownStore, datetime, CrmSettings, str, Who], Awaitable[dict]]


async def _reminders(session, store, now, settings, trigger, by):
    return await reminders.daily_run(session, store, now, settings.reminder_expire_after_days)


async def _churn(session, store, now, settings, trigger, by):
    return await churn.detect(session, store, now)


async def _invitation_follow_up(session, store, now, settings, trigger, by):
    return await clerk.invitation_follow_ups(session, store, now)


async def _escalation(session, store, now, settings, trigger, by):
    return {"escalated": await complaints.escalate_overdue(session, store.id, now)}


async def _customer_base(session, store, now, settings, trigger, by):
    return await customer_base.daily_snapshot(session, store, now)


async def _weekly(session, store, now, settings, trigger, by):
    return await reports.weekly_job(session, store, now, trigger, by)


async def _monthly(session, store, now, settings, trigger, by):
    return await reports.monthly_job(session, store, now, trigger, by)


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("maintenance_reminders", "first and periodic maintenance reminders 14 days ahead; expires unanswered ones",
            "daily", True, 300, _reminders),
        Job("churn_detection", "customers the periodic interval plus a grace month without a counted visit at risk, "
            "18 months lost, unless booked", "daily", True, 300, _churn),
        Job("invitation_follow_up", "a call a week after a maintenance invitation nobody booked on; a booking since "
            "cancels it", "daily", True, 300, _invitation_follow_up),
        Job("customer_base_snapshot", "each advisor's customer base and its retention, announced for the "
            "appraisal (crm.customer_base.changed)", "daily", True, 300, _customer_base),
        Job("weekly_report", "last ISO week's report, from Monday (store time)", "daily, generates on Monday",
            True, 300, _weekly),
        Job("monthly_report", "last month's report, from the 3rd (store time)", "daily, generates on the 3rd",
            True, 300, _monthly),
        Job("complaint_escalation", "escalates complaints past their deadline to HQ", "every minute", False, 60,
            _escalation),
    )
}


def job_named(name: str) -> Job:
    job = JOBS.get(name)
    if job is None:
        raise NotFound(f"no job {name}; jobs: {', '.join(JOBS)}")
    return job


async def run_for_store(session: AsyncSession, job: Job, store: KnownStore, now: datetime, settings: CrmSettings,
                        trigger: str, by: Who) -> StoreRun:
    day = local_date(now, await zone_of(session, store.id))
    result = await job.work(session, store, now, settings, trigger, by)
    record = await repository.run_of_day(session, job.name, store.id, day)
    if record is None:
        record = JobRun(id=new_id(), job=job.name, store_id=store.id, run_date=day, runs=1, first_run_at=now,
                        last_run_at=now, last_trigger=trigger, result=result, **columns("last_run_by", by))
    else:
        record.runs += 1
        record.last_run_at, record.last_trigger, record.result = now, trigger, result
        record.last_run_by, record.last_run_by_name = by.person_id, by.name
        record.last_run_by_credential = by.credential
    session.add(record)
    await session.flush()
    return StoreRun(store_id=store.id, run_date=day, runs_today=record.runs, result=result)


async def latest_runs(session: AsyncSession, principal: Principal) -> JobList:
    """The jobs and their latest run per store (a store's caller: its own store's)."""
    latest = await repository.latest_runs(session, principal.store_id)
    return JobList(items=[
        JobPublic(name=job.name, description=job.description, schedule=job.schedule, last_runs=[
            LastRun(store_id=r.store_id, run_date=r.run_date, runs=r.runs, last_run_at=r.last_run_at,
                    last_trigger=r.last_trigger, last_run_by=r.last_run_by,
                    last_run_by_name=r.last_run_by_name, last_run_by_credential=r.last_run_by_credential,
                    result=r.result)
            for r in latest if r.job == job.name
        ])
        for job in JOBS.values()
    ])


async def run_by_hand(session: AsyncSession, principal: Principal, name: str, store_id: str | None, now: datetime,
                      settings: CrmSettings) -> JobRunResult:
    job = job_named(name)
    if principal.role not in ("hq_admin", "store_manager", "system"):
        raise Forbidden(f"role {principal.role} may not start jobs")
    if principal.store_id or store_id:
        stores = [await active_store(session, principal, store_id)]
    else:
        stores = await repository.active_stores(session)
    by = Who.of(principal)
    runs = [await run_for_store(session, job, store, now, settings, "manual", by) for store in stores]
    return JobRunResult(job=job.name, trigger="manual", ran_at=now, stores=runs)


async def run_scheduled(job: Job, runtime) -> None:
    """The worker's tick: each active store in its own transaction; a daily job once per store day."""
    settings: CrmSettings = runtime.settings
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        stores = await repository.active_stores(session)
    for store in stores:
        try:
            async with runtime.db.transaction() as session:
                # Workers check and run one store's day one at a time, so a second worker sees
                # the first one's run and leaves it alone.
                await repository.lock_store_job(session, job.name, store.id)
                day = local_date(now, await zone_of(session, store.id))
                if job.daily and await repository.run_of_day(session, job.name, store.id, day) is not None:
                    continue
                run = await run_for_store(session, job, store, now, settings, "schedule", SCHEDULER)
            if any(run.result.get(k) for k in run.result if k != "period"):
                log.info("scheduled job ran", job=job.name, store_id=store.id, result=run.result)
        except IntegrityError:
            # Another worker ran this store's day at the same moment; its run stands.
            continue
        except Exception as exc:
            log.warning("scheduled job failed for a store", job=job.name, store_id=store.id, error=repr(exc))
