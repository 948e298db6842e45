from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.crm.callbacks.models import Callback
from services.crm.complaints.models import Complaint, ComplaintEscalation, ComplaintStep, StaffMember

OPEN_STATES = ("open", "assigned")


async def get(session: AsyncSession, complaint_id: str) -> Complaint | None:
    return await session.get(Complaint, complaint_id)


async def get_for_update(session: AsyncSession, complaint_id: str) -> Complaint | None:
    stmt = select(Complaint).where(Complaint.id == complaint_id).with_for_update()
    return (await session.exec(stmt)).first()


async def staff_member(session: AsyncSession, person_id: str) -> StaffMember | None:
    return await session.get(StaffMember, person_id)


async def by_origin(session: AsyncSession, origin_key: str) -> Complaint | None:
    return (await session.exec(select(Complaint).where(Complaint.origin_key == origin_key))).first()


async def page(session: AsyncSession, *, store_id: str | None, status: str | None, department: str | None,
               severity: str | None, escalated: bool | None, overdue: bool | None, customer_id: str | None,
               repair_order_id: str | None, owner: str | None, now: datetime, limit: int, cursor: str | None):
    """One page of complaints; each filter given narrows it (`overdue`: open and past due at `now`)."""
    stmt = select(Complaint)
    if store_id:
        stmt = stmt.where(Complaint.store_id == store_id)
    if status:
        stmt = stmt.where(Complaint.status == status)
    if department:
        stmt = stmt.where(Complaint.department == department)
    if severity:
        stmt = stmt.where(Complaint.severity == severity)
    if escalated is not None:
        stmt = stmt.where(Complaint.escalated == escalated)
    if overdue is True:
        stmt = stmt.where(col(Complaint.status).in_(OPEN_STATES), Complaint.due_at < now)
    elif overdue is False:
        stmt = stmt.where(~(col(Complaint.status).in_(OPEN_STATES) & (Complaint.due_at < now)))
    if customer_id:
        stmt = stmt.where(Complaint.customer_id == customer_id)
    if repair_order_id:
        stmt = stmt.where(Complaint.repair_order_id == repair_order_id)
    if owner:
        stmt = stmt.where(Complaint.owner == owner)
    return await paginate(session, stmt, Complaint.id, limit, cursor)


async def escalation(session: AsyncSession, complaint_id: str, reason: str) -> ComplaintEscalation | None:
    stmt = select(ComplaintEscalation).where(ComplaintEscalation.complaint_id == complaint_id,
                                             ComplaintEscalation.reason == reason)
    return (await session.exec(stmt)).first()


async def escalations_of(session: AsyncSession, complaint_ids: list[str]) -> list[ComplaintEscalation]:
    if not complaint_ids:
        return []
    stmt = select(ComplaintEscalation).where(col(ComplaintEscalation.complaint_id).in_(complaint_ids))
    return list((await session.exec(stmt.order_by(col(ComplaintEscalation.escalated_at)))).all())


async def steps_of(session: AsyncSession, complaint_ids: list[str]) -> list[ComplaintStep]:
    if not complaint_ids:
        return []
    stmt = select(ComplaintStep).where(col(ComplaintStep.complaint_id).in_(complaint_ids))
    return list((await session.exec(stmt.order_by(col(ComplaintStep.at), ComplaintStep.id))).all())


async def follow_ups_of(session: AsyncSession, complaint_ids: list[str]) -> list[Callback]:
    if not complaint_ids:
        return []
    stmt = select(Callback).where(col(Callback.complaint_id).in_(complaint_ids), Callback.kind == "follow_up")
    return list((await session.exec(stmt.order_by(col(Callback.created_at), Callback.id))).all())


async def opened_from_callbacks(session: AsyncSession, callback_ids: list[str]) -> list[Complaint]:
    if not callback_ids:
        return []
    return list((await session.exec(select(Complaint).where(col(Complaint.callback_id).in_(callback_ids)))).all())


async def overdue_without_escalation(session: AsyncSession, store_id: str, now: datetime) -> list[Complaint]:
    already = (
        select(ComplaintEscalation.id)
        .where(ComplaintEscalation.complaint_id == Complaint.id, ComplaintEscalation.reason == "overdue")
        .exists()
    )
    stmt = select(Complaint).where(Complaint.store_id == store_id, col(Complaint.status).in_(OPEN_STATES),
                                   Complaint.due_at < now, ~already)
    return list((await session.exec(stmt.order_by(col(Complaint.due_at)))).all())


def _alive_during(store_id: str, start: datetime, end: datetime):
    """Complaints opened before `end` and not closed before `start`: the only ones a period's
    figures can count (closed is final, so one closed earlier cannot be open at the end)."""
    return (Complaint.store_id == store_id, Complaint.opened_at < end,
            (col(Complaint.closed_at).is_(None)) | (col(Complaint.closed_at) >= start))


async def store_complaints_during(session: AsyncSession, store_id: str, start: datetime,
                                  end: datetime) -> list[Complaint]:
    return list((await session.exec(select(Complaint).where(*_alive_during(store_id, start, end)))).all())


async def store_steps_during(session: AsyncSession, store_id: str, start: datetime,
                             end: datetime) -> list[ComplaintStep]:
    """The history, up to `end`, of the complaints alive during [start, end), oldest first."""
    alive = select(Complaint.id).where(*_alive_during(store_id, start, end))
    stmt = select(ComplaintStep).where(col(ComplaintStep.complaint_id).in_(alive), ComplaintStep.at < end)
    return list((await session.exec(stmt.order_by(col(ComplaintStep.at), ComplaintStep.id))).all())


async def store_escalations_between(session: AsyncSession, store_id: str, start: datetime,
                                    end: datetime) -> list[ComplaintEscalation]:
    stmt = select(ComplaintEscalation).where(ComplaintEscalation.store_id == store_id,
                                             ComplaintEscalation.escalated_at >= start,
                                             ComplaintEscalation.escalated_at < end)
    return list((await session.exec(stmt)).all())
