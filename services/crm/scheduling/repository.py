from datetime import date

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.tables import KnownStore
from services.crm.scheduling.models import JobRun


async def lock_store_job(session: AsyncSession, job: str, store_id: str) -> None:
    """Until the transaction ends, no other worker runs this job for this store."""
    conn = await session.connection()
    await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"crm-job:{job}:{store_id}"})


async def run_of_day(session: AsyncSession, job: str, store_id: str, day: date) -> JobRun | None:
    stmt = select(JobRun).where(JobRun.job == job, JobRun.store_id == store_id, JobRun.run_date == day)
    return (await session.exec(stmt)).first()


async def active_stores(session: AsyncSession) -> list[KnownStore]:
    stmt = select(KnownStore).where(KnownStore.status == "active").order_by(KnownStore.id)
    return list((await session.exec(stmt)).all())


async def latest_runs(session: AsyncSession, store_id: str | None, per_job: int = 1) -> list[JobRun]:
    stmt = select(JobRun)
    if store_id:
        stmt = stmt.where(JobRun.store_id == store_id)
    rows = list((await session.exec(stmt.order_by(col(JobRun.run_date).desc(), col(JobRun.last_run_at).desc()))).all())
    seen: dict[tuple[str, str], int] = {}
    latest = []
    for row in rows:
        key = (row.job, row.store_id)
        if seen.get(key, 0) < per_job:
            seen[key] = seen.get(key, 0) + 1
            latest.append(row)
    return latest
