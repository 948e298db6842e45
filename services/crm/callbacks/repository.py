from datetime import datetime
from typing import TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.crm import batch
from services.crm.callbacks.models import (
    BookingOffer,
    Callback,
    CallbackAttempt,
    CallTask,
    MemberSuggestion,
    ReturnRepair,
    StoreCallWindows,
    Survey,
)
from services.crm.reminders.models import Reminder


async def get(session: AsyncSession, callback_id: str) -> Callback | None:
    return await session.get(Callback, callback_id)


async def get_for_update(session: AsyncSession, callback_id: str) -> Callback | None:
    stmt = select(Callback).where(Callback.id == callback_id).with_for_update()
    return (await session.exec(stmt)).first()


OriginRow = TypeVar("OriginRow", Callback, CallTask)


async def _one_by_origin(session: AsyncSession, model: type[OriginRow], kind: str,
                         origin_key: str) -> OriginRow | None:
    """The row made for this origin: from a batch's preload when it holds the answer, else one query."""
    rows = await batch.answering(session, kind, origin_key)
    if rows is not None:
        return next(iter(rows.find(model, origin_key=origin_key)), None)
    return (await session.exec(select(model).where(model.origin_key == origin_key))).first()


async def by_origin(session: AsyncSession, origin_key: str) -> Callback | None:
    return await _one_by_origin(session, Callback, "callback", origin_key)


async def load_by_origin(session: AsyncSession, origin_keys: set[str], *, none_of: set[str]) -> None:
    """A batch's preload: the callbacks made for these origins, in one query, except for the
    origins in `none_of`, which the caller knows have none."""
    rows = batch.begin(session)
    wanted = rows.not_asked("callback", origin_keys - none_of)
    if wanted:
        (await session.exec(select(Callback).where(col(Callback.origin_key).in_(wanted)))).all()
    rows.ask("callback", origin_keys)


async def page(session: AsyncSession, *, store_id: str | None, status: str | None, kind: str | None,
               due_before: datetime | None, repair_order_id: str | None, customer_id: str | None,
               complaint_id: str | None, limit: int, cursor: str | None):
    """One page of callbacks; each filter given narrows it (`due_before`: due earlier)."""
    stmt = select(Callback)
    if store_id:
        stmt = stmt.where(Callback.store_id == store_id)
    if status:
        stmt = stmt.where(Callback.status == status)
    if kind:
        stmt = stmt.where(Callback.kind == kind)
    if due_before:
        stmt = stmt.where(Callback.due_at < due_before)
    if repair_order_id:
        stmt = stmt.where(Callback.repair_order_id == repair_order_id)
    if customer_id:
        stmt = stmt.where(Callback.customer_id == customer_id)
    if complaint_id:
        stmt = stmt.where(Callback.complaint_id == complaint_id)
    return await paginate(session, stmt, Callback.id, limit, cursor)


async def attempts_of(session: AsyncSession, callback_ids: list[str]) -> list[CallbackAttempt]:
    if not callback_ids:
        return []
    stmt = select(CallbackAttempt).where(col(CallbackAttempt.callback_id).in_(callback_ids))
    return list((await session.exec(stmt.order_by(col(CallbackAttempt.made_at), CallbackAttempt.id))).all())


async def surveys_of(session: AsyncSession, callback_ids: list[str]) -> list[Survey]:
    if not callback_ids:
        return []
    return list((await session.exec(select(Survey).where(col(Survey.callback_id).in_(callback_ids)))).all())


async def due_between(session: AsyncSession, store_id: str, start: datetime, end: datetime) -> list[Callback]:
    stmt = select(Callback).where(Callback.store_id == store_id, Callback.due_at >= start, Callback.due_at < end)
    return list((await session.exec(stmt)).all())


async def closed_between(session: AsyncSession, store_id: str, start: datetime, end: datetime) -> list[Callback]:
    """Callbacks that ended (survey recorded, or unreachable) inside [start, end)."""
    done = select(Callback).where(Callback.store_id == store_id, col(Callback.completed_at) >= start,
                                  col(Callback.completed_at) < end)
    gave_up = select(Callback).where(Callback.store_id == store_id, col(Callback.unreachable_at) >= start,
                                     col(Callback.unreachable_at) < end)
    return list((await session.exec(done)).all()) + list((await session.exec(gave_up)).all())


async def surveys_between(session: AsyncSession, store_id: str, start: datetime, end: datetime) -> list[Survey]:
    stmt = select(Survey).where(Survey.store_id == store_id, Survey.recorded_at >= start, Survey.recorded_at < end)
    return list((await session.exec(stmt.order_by(col(Survey.recorded_at), Survey.id))).all())


# --- the information clerk's calls, offers, return repairs and suggestions -------------

async def task(session: AsyncSession, task_id: str, *, lock: bool = False) -> CallTask | None:
    stmt = select(CallTask).where(CallTask.id == task_id)
    return (await session.exec(stmt.with_for_update() if lock else stmt)).first()


async def task_by_origin(session: AsyncSession, origin_key: str) -> CallTask | None:
    return await _one_by_origin(session, CallTask, "call_task", origin_key)


async def load_tasks_by_origin(session: AsyncSession, origin_keys: set[str], *, none_of: set[str]) -> None:
    """A batch's preload: the call tasks made for these origins, in one query (as load_by_origin)."""
    rows = batch.begin(session)
    wanted = rows.not_asked("call_task", origin_keys - none_of)
    if wanted:
        (await session.exec(select(CallTask).where(col(CallTask.origin_key).in_(wanted)))).all()
    rows.ask("call_task", origin_keys)


async def tasks_page(session: AsyncSession, *, store_id: str | None, kind: str | None, status: str | None,
                     due_before: datetime | None, customer_id: str | None, limit: int, cursor: str | None):
    stmt = select(CallTask)
    if store_id:
        stmt = stmt.where(CallTask.store_id == store_id)
    if kind:
        stmt = stmt.where(CallTask.kind == kind)
    if status:
        stmt = stmt.where(CallTask.status == status)
    if due_before:
        stmt = stmt.where(CallTask.due_at < due_before)
    if customer_id:
        stmt = stmt.where(CallTask.customer_id == customer_id)
    return await paginate(session, stmt, CallTask.id, limit, cursor)


async def pending_invitation_tasks(session: AsyncSession, store_id: str) -> list[CallTask]:
    stmt = select(CallTask).where(CallTask.store_id == store_id, CallTask.kind == "invitation_follow_up",
                                  CallTask.status == "pending")
    return list((await session.exec(stmt)).all())


async def store_windows(session: AsyncSession, store_id: str) -> StoreCallWindows | None:
    return await session.get(StoreCallWindows, store_id)


async def offers_for_vin(session: AsyncSession, vin: str, *, open_only: bool) -> list[BookingOffer]:
    stmt = select(BookingOffer).where(BookingOffer.vin == vin)
    if open_only:
        stmt = stmt.where(col(BookingOffer.appointment_id).is_(None))
    return list((await session.exec(stmt.order_by(col(BookingOffer.offered_at), BookingOffer.id))).all())


async def return_repair(session: AsyncSession, return_repair_id: str) -> ReturnRepair | None:
    return await session.get(ReturnRepair, return_repair_id)


async def reported_return_repairs(session: AsyncSession, vin: str) -> list[ReturnRepair]:
    stmt = select(ReturnRepair).where(ReturnRepair.vin == vin, ReturnRepair.status == "reported")
    return list((await session.exec(stmt.order_by(col(ReturnRepair.reported_at), ReturnRepair.id))).all())


async def return_repairs_page(session: AsyncSession, *, store_id: str | None, status: str | None, vin: str | None,
                              limit: int, cursor: str | None):
    stmt = select(ReturnRepair)
    if store_id:
        stmt = stmt.where(ReturnRepair.store_id == store_id)
    if status:
        stmt = stmt.where(ReturnRepair.status == status)
    if vin:
        stmt = stmt.where(ReturnRepair.vin == vin)
    return await paginate(session, stmt, ReturnRepair.id, limit, cursor)


async def suggestions_page(session: AsyncSession, *, store_id: str | None, customer_id: str | None,
                           since: datetime | None, until: datetime | None, limit: int, cursor: str | None):
    stmt = select(MemberSuggestion)
    if store_id:
        stmt = stmt.where(MemberSuggestion.store_id == store_id)
    if customer_id:
        stmt = stmt.where(MemberSuggestion.customer_id == customer_id)
    if since:
        stmt = stmt.where(MemberSuggestion.recorded_at >= since)
    if until:
        stmt = stmt.where(MemberSuggestion.recorded_at < until)
    return await paginate(session, stmt, MemberSuggestion.id, limit, cursor)


async def invitations_sent_before(session: AsyncSession, store_id: str, before: datetime) -> list[Reminder]:
    """Maintenance invitations sent (the letter) before `before` and still unanswered by a booking or visit."""
    stmt = select(Reminder).where(Reminder.store_id == store_id, Reminder.status == "sent",
                                  col(Reminder.sent_at) <= before)
    return list((await session.exec(stmt.order_by(Reminder.id))).all())


async def reminders_by_id(session: AsyncSession, ids: set[str]) -> dict[str, Reminder]:
    if not ids:
        return {}
    return {r.id: r for r in (await session.exec(select(Reminder).where(col(Reminder.id).in_(ids)))).all()}
