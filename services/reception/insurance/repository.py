from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.reception.insurance.models import InsuranceAssessment


async def latest(session: AsyncSession, repair_order_id: str) -> InsuranceAssessment | None:
    stmt = (select(InsuranceAssessment).where(InsuranceAssessment.repair_order_id == repair_order_id)
            .order_by(col(InsuranceAssessment.round).desc()).limit(1))
    return (await session.exec(stmt)).first()
