from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.pagination import paginate
from services.crm.batch import answering, batch_rows, begin
from services.crm.customers.models import Customer, Vehicle
from services.crm.messages.models import Consent, Message, MessageAttempt

_ABOUT = "messages.about"
_CONSENTS = "messages.consents"


async def get(session: AsyncSession, message_id: str) -> Message | None:
    return await session.get(Message, message_id)


async def of_notice(session: AsyncSession, notice_key: str, about: str | None) -> list[Message]:
    """The messages of one notice; inside a batch whose preload asked about `about`, from its rows."""
    if about is not None and (rows := await answering(session, _ABOUT, about)) is not None:
        return [m for m in rows.find(Message, about=about) if m.notice_key == notice_key]
    return list((await session.exec(select(Message).where(Message.notice_key == notice_key))).all())


async def about(session: AsyncSession, about_id: str, statuses: Iterable[str] | None = None) -> list[Message]:
    stmt = select(Message).where(Message.about == about_id)
    if statuses is not None:
        stmt = stmt.where(col(Message.status).in_(list(statuses)))
    return list((await session.exec(stmt.order_by(col(Message.id)))).all())


async def consents(session: AsyncSession, customer: Customer) -> list[Consent]:
    batch = batch_rows(session)
    if batch is not None and batch.added(customer):
        return []  # consent is recorded through the API, for a customer on file: none for one an event adds
    if (rows := await answering(session, _CONSENTS, customer.id)) is not None:
        return rows.find(Consent, customer_id=customer.id)
    return list((await session.exec(select(Consent).where(Consent.customer_id == customer.id))).all())


async def load_for_batch(session: AsyncSession, about_ids: set[str], customer_ids: set[str]) -> None:
    """A batch's preload (services.crm.batch): the messages about its orders and its customers' consents."""
    rows = begin(session)
    if about_ids:
        await session.exec(select(Message).where(col(Message.about).in_(about_ids)))
        rows.ask(_ABOUT, about_ids)
    if customer_ids:
        await session.exec(select(Consent).where(col(Consent.customer_id).in_(customer_ids)))
        rows.ask(_CONSENTS, customer_ids)


async def page(session: AsyncSession, *, store_id: str | None, customer_id: str | None, channel: str | None,
               status: str | None, kind: str | None, about_id: str | None, limit: int,
               cursor: str | None) -> tuple[Sequence[Message], str | None]:
    stmt = select(Message)
    if store_id:
        stmt = stmt.where(Message.store_id == store_id)
    if customer_id:
        stmt = stmt.where(Message.customer_id == customer_id)
    if channel:
        stmt = stmt.where(Message.channel == channel)
    if status:
        stmt = stmt.where(Message.status == status)
    if kind:
        stmt = stmt.where(Message.kind == kind)
    if about_id:
        stmt = stmt.where(Message.about == about_id)
    return await paginate(session, stmt, Message.id, limit, cursor)


async def attempts(session: AsyncSession, message_id: str) -> list[MessageAttempt]:
    stmt = select(MessageAttempt).where(MessageAttempt.message_id == message_id).order_by(col(MessageAttempt.number))
    return list((await session.exec(stmt)).all())


async def open_attempt(session: AsyncSession, message_id: str) -> MessageAttempt | None:
    stmt = (select(MessageAttempt).where(MessageAttempt.message_id == message_id, MessageAttempt.outcome == "sending")
            .order_by(col(MessageAttempt.number).desc()))
    return (await session.exec(stmt)).first()


# --- the sender's claims: row locks skipped when held, so senders never take the same message

async def next_due(session: AsyncSession, now: datetime) -> Message | None:
    stmt = (select(Message).where(Message.status == "queued", Message.next_attempt_at <= now)
            .order_by(col(Message.next_attempt_at)).limit(1).with_for_update(skip_locked=True))
    return (await session.exec(stmt)).first()


async def stranded(session: AsyncSession, limit: int) -> list[Message]:
    stmt = (select(Message).where(Message.status == "sending").order_by(col(Message.id)).limit(limit)
            .with_for_update(skip_locked=True))
    return list((await session.exec(stmt)).all())


async def receipts_due(session: AsyncSession, now: datetime, limit: int) -> list[Message]:
    stmt = (select(Message).where(Message.status == "sent", Message.channel == "sms", Message.next_attempt_at <= now)
            .order_by(col(Message.next_attempt_at)).limit(limit).with_for_update(skip_locked=True))
    return list((await session.exec(stmt)).all())


async def vehicles_by_vin(session: AsyncSession, vins: set[str]) -> dict[str, Vehicle]:
    """The cars of `vins` CRM knows, in one query (a campaign's chunk is 1,000 VINs)."""
    if not vins:
        return {}
    return {v.vin: v for v in (await session.exec(select(Vehicle).where(col(Vehicle.vin).in_(vins)))).all()}
