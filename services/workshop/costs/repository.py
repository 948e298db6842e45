from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.workshop.costs.models import SubletLine
from services.workshop.jobs.models import WorkInterval
from services.workshop.parts.models import StockMovement


async def sublet_by_line(session: AsyncSession, repair_order_id: str, line_id: str) -> SubletLine | None:
    stmt = select(SubletLine).where(SubletLine.repair_order_id == repair_order_id, SubletLine.line_id == line_id)
    return (await session.exec(stmt)).first()


async def sublet_for_update(session: AsyncSession, repair_order_id: str, line_id: str) -> SubletLine | None:
    stmt = (select(SubletLine).where(SubletLine.repair_order_id == repair_order_id, SubletLine.line_id == line_id)
            .with_for_update())
    return (await session.exec(stmt.execution_options(populate_existing=True))).first()


async def sublets_of_order(session: AsyncSession, repair_order_id: str) -> list[SubletLine]:
    stmt = select(SubletLine).where(SubletLine.repair_order_id == repair_order_id).order_by(SubletLine.line_id)
    return list((await session.exec(stmt)).all())


async def closed_intervals(session: AsyncSession, job_ids: list[str]) -> list[WorkInterval]:
    """The work intervals of these jobs that have closed: the hours clocked on them."""
    if not job_ids:
        return []
    stmt = (select(WorkInterval)
            .where(col(WorkInterval.job_id).in_(job_ids), col(WorkInterval.seconds).is_not(None))
            .order_by(col(WorkInterval.started_at), WorkInterval.id))
    return list((await session.exec(stmt)).all())


async def parts_movements(session: AsyncSession, repair_order_id: str) -> list[StockMovement]:
    """Parts issued to the order and returned from it, from the ledger."""
    stmt = (select(StockMovement)
            .where(StockMovement.repair_order_id == repair_order_id, col(StockMovement.kind).in_(("issue", "return")))
            .order_by(col(StockMovement.id)))
    return list((await session.exec(stmt)).all())
