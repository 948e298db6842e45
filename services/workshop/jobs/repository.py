from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.workshop.jobs.models import Job, QualityCheck, WorkInterval


async def get(session: AsyncSession, job_id: str) -> Job | None:
    return await session.get(Job, job_id)


async def get_for_update(session: AsyncSession, job_id: str) -> Job | None:
    stmt = select(Job).where(Job.id == job_id).with_for_update()
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


async def by_line(session: AsyncSession, repair_order_id: str, line_id: str) -> Job | None:
    stmt = select(Job).where(Job.repair_order_id == repair_order_id, Job.line_id == line_id)
    return (await session.exec(stmt)).first()


async def of_order(session: AsyncSession, repair_order_id: str, *, for_update: bool = False) -> list[Job]:
    stmt = select(Job).where(Job.repair_order_id == repair_order_id).order_by(Job.id)
    if for_update:
        stmt = stmt.with_for_update()
    return list((await session.exec(stmt.execution_options(populate_existing=True))).all())


async def running_for_technician(session: AsyncSession, technician_id: str, *, except_job: str) -> list[Job]:
    stmt = (
        select(Job)
        .where(Job.technician_id == technician_id, Job.status == "in_progress", Job.id != except_job)
        .order_by(Job.id)
        .with_for_update()
    )
    return list((await session.exec(stmt.execution_options(populate_existing=True))).all())


async def page(session: AsyncSession, *, store_id: str | None, limit: int, cursor: str | None,
               repair_order_id: str | None, status: str | None, technician_id: str | None):
    """One page of jobs; each filter given narrows it."""
    stmt = select(Job)
    if store_id:
        stmt = stmt.where(Job.store_id == store_id)
    if repair_order_id:
        stmt = stmt.where(Job.repair_order_id == repair_order_id)
    if status:
        stmt = stmt.where(Job.status == status)
    if technician_id:
        stmt = stmt.where(Job.technician_id == technician_id)
    return await paginate(session, stmt, Job.id, limit, cursor)


async def open_interval(session: AsyncSession, job_id: str) -> WorkInterval | None:
    stmt = select(WorkInterval).where(WorkInterval.job_id == job_id, col(WorkInterval.ended_at).is_(None))
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


async def intervals(session: AsyncSession, job_id: str) -> list[WorkInterval]:
    stmt = (select(WorkInterval).where(WorkInterval.job_id == job_id)
            .order_by(col(WorkInterval.started_at), WorkInterval.id))
    return list((await session.exec(stmt)).all())


async def worked_by(session: AsyncSession, job_id: str) -> set[str]:
    stmt = select(WorkInterval.technician_id).where(WorkInterval.job_id == job_id).distinct()
    return set((await session.exec(stmt)).all())


async def checks(session: AsyncSession, job_id: str) -> list[QualityCheck]:
    stmt = (select(QualityCheck).where(QualityCheck.job_id == job_id)
            .order_by(col(QualityCheck.checked_at), QualityCheck.id))
    return list((await session.exec(stmt)).all())


async def passed_between(session: AsyncSession, store_id: str, start: datetime, end: datetime) -> list[Job]:
    stmt = select(Job).where(Job.store_id == store_id, Job.status == "qc_passed",
                             col(Job.qc_passed_at) >= start, col(Job.qc_passed_at) < end)
    return list((await session.exec(stmt)).all())


async def failures_between(session: AsyncSession, store_id: str, start: datetime, end: datetime) -> dict[str, int]:
    stmt = (
        select(QualityCheck.technician_id, sa.func.count())
        .where(QualityCheck.store_id == store_id, QualityCheck.result == "fail",
               QualityCheck.checked_at >= start, QualityCheck.checked_at < end)
        .group_by(QualityCheck.technician_id)
    )
    return {tech: count for tech, count in (await session.exec(stmt)).all() if tech}


async def intervals_overlapping(session: AsyncSession, store_id: str, start: datetime,
                                end: datetime) -> list[WorkInterval]:
    stmt = select(WorkInterval).where(
        WorkInterval.store_id == store_id, WorkInterval.started_at < end,
        sa.or_(col(WorkInterval.ended_at).is_(None), col(WorkInterval.ended_at) > start),
    )
    return list((await session.exec(stmt)).all())
