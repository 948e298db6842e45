"""The sender: CRM's worker delivers the messages the outbox holds.

Each message is taken in a transaction of its own (`SELECT ... FOR UPDATE SKIP LOCKED`,
so several senders never take one message), which, before any call, checks the message is
still wanted, still allowed (consent is read again) and not in quiet hours, renders it,
records an attempt as `sending` and commits. The call to the provider comes after that
commit, and its answer is recorded in a second transaction.

What a crash in between does. The sender that marks a message `sending` also takes a
session-level PostgreSQL advisory lock on it, on the connection it keeps until the answer
is recorded; the lock goes when that connection does, so when the process dies (or its
connection is cut), and not before. A sender that finds a message `sending` whose lock it
can take therefore knows its sender is gone and nobody knows the call's outcome. It asks
the provider (`Provider.afterwards`):

- SMS (Aliyun): QuerySendDetails lists the number's messages with the `OutId` each was
  sent with (the message's id). Found: recorded as sent, not sent again. Not found: the
  call never reached the provider, and the message is sent again.
- WeChat: each send carries the message's id as `client_msg_id`, and WeChat sends one
  message per openid and client_msg_id within ten minutes: within that time the message is
  sent again and a repeat is dropped by WeChat; later, it is `unconfirmed`.
- Email: SMTP cannot be asked afterwards. The message is `unconfirmed` and not sent again.

So a message is never sent twice by us; it is sent at most once where the provider cannot
tell (email, WeChat after ten minutes), exactly once where it can (SMS, WeChat within
ten minutes). Two limits remain: QuerySendDetails is trusted to list a message as soon as
SendSms accepted it, and a provider that took a message and then failed to answer (a
timeout) is retried like any other failure that may pass: the attempt is `failed`, and
the retry may be a second copy, except on WeChat within its ten minutes. The call's
timeout (`messages_provider_timeout_seconds`) bounds how long one can hang."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.app import ServiceRuntime
from services.common.clock import Clock
from services.common.db import Database
from services.common.ids import new_id
from services.common.logging import get_logger
from services.common.stores import store_zone
from services.common.tables import KnownStore
from services.crm.customers import repository as customers
from services.crm.messages import repository, service
from services.crm.messages.models import Message, MessageAttempt
from services.crm.messages.policy import (
    KINDS,
    LINK_CHANNELS,
    Category,
    Channel,
    Status,
    backoff,
    parse_hhmm,
    quiet_until,
)
from services.crm.messages.providers import Afterwards, Outcome, Outgoing, Provider, Receipt, Result
from services.crm.messages.providers.email import SmtpEmail
from services.crm.messages.providers.sms import AliyunSms
from services.crm.messages.providers.wechat import WeChatTemplates
from services.crm.messages.render import render
from services.crm.reminders import service as reminders
from services.crm.settings import CrmSettings

log = get_logger(__name__)
# The advisory locks' first key: this lock space is the sender's (the second is the message id's hash).
LOCK_SPACE = 0x3E55A6E
RECEIPT_EVERY = timedelta(minutes=2)
RECEIPT_FOR = timedelta(days=3)  # the provider keeps a message's status for a while; we ask for this long
NEVER = datetime(2100, 1, 1, tzinfo=UTC)


def providers_from(settings: CrmSettings) -> dict[Channel, Provider]:
    timeout = settings.messages_provider_timeout_seconds
    return {
        Channel.SMS: AliyunSms(settings.messages_sms_url, settings.messages_sms_access_key_id,
                               settings.messages_sms_access_key_secret, settings.messages_sms_sign_name, timeout),
        Channel.WECHAT: WeChatTemplates(settings.messages_wechat_url, settings.messages_wechat_app_id,
                                        settings.messages_wechat_app_secret, timeout,
                                        settings.messages_wechat_dedup_seconds),
        Channel.EMAIL: SmtpEmail(settings.messages_smtp_host, settings.messages_smtp_port,
                                 settings.messages_smtp_username, settings.messages_smtp_password,
                                 settings.messages_smtp_starttls, settings.messages_email_from, timeout),
    }


def outgoing(message: Message) -> Outgoing:
    spec = KINDS[message.kind]
    variables = {"link": "", **message.variables}
    if Channel(message.channel) not in LINK_CHANNELS:
        variables["link"] = ""  # neither in the text nor among an SMS template's parameters
    rendered = render(message.kind, variables)
    text = {Channel.SMS.value: rendered.sms, Channel.EMAIL.value: rendered.email}.get(message.channel, rendered.sms)
    return Outgoing(key=message.id, address=message.address or "", title=rendered.title, text=text,
                    fields=rendered.wechat, variables={k: str(v) for k, v in variables.items() if v != ""},
                    sms_template=spec.sms_template, wechat_template=spec.wechat_template,
                    link=variables["link"] or None, provider_message_id=message.provider_message_id)


class Sender:
    def __init__(self, db: Database, settings: CrmSettings, clock: Clock,
                 providers: dict[Channel, Provider] | None = None) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        self.providers = providers if providers is not None else providers_from(settings)
        self.quiet = (parse_hhmm(settings.messages_quiet_from), parse_hhmm(settings.messages_quiet_until))
        self.sent = 0

    async def close(self) -> None:
        for provider in self.providers.values():
            await provider.close()

    async def run_once(self) -> int:
        """Settle what dead senders left, send every message due, ask for SMS receipts;
        returns how many messages were taken."""
        await self.reconcile()
        lanes = await asyncio.gather(*(self._lane() for _ in range(self.settings.messages_concurrency)),
                                     return_exceptions=True)
        for failed in (lane for lane in lanes if isinstance(lane, BaseException)):
            if not isinstance(failed, Exception):
                raise failed  # cancelled: the worker is stopping
            log.warning("sender lane stopped; its message, if any, is reconciled later", error=repr(failed))
        await self.receipts()
        return sum(lane for lane in lanes if isinstance(lane, int))

    # --- sending ------------------------------------------------------------------------

    async def _lane(self) -> int:
        """Take and send due messages one after another on one connection, which holds the
        advisory lock of the message in hand for as long as its call lasts."""
        async with self.db.engine.connect() as conn:
            try:
                return await self._send_until_idle(conn)
            finally:
                if not conn.invalidated:
                    # A claim whose commit failed after its lock was taken must not hand the lock to
                    # the pool with the connection.
                    with contextlib.suppress(Exception):
                        await conn.execute(sa.text("SELECT pg_advisory_unlock_all()"))
                        await conn.commit()

    async def _send_until_idle(self, conn: AsyncConnection) -> int:
        taken = 0
        recorded: str | None = None  # the message whose answer was committed last; its lock goes next
        while True:
            message_id: str | None = None
            try:
                claim = await self._claim(conn, recorded)
                recorded = None
                if claim is None:
                    return taken
                taken += 1
                if isinstance(claim, str):
                    continue  # settled without a call (cancelled, skipped, deferred)
                message_id = claim.message_id
                provider = self.providers[claim.channel]
                try:
                    result = await asyncio.wait_for(provider.send(claim.out),
                                                    self.settings.messages_provider_timeout_seconds + 5)
                except TimeoutError:
                    result = Result(Outcome.FAILED, error_code="timeout", detail="no answer in time")
                await self._record(conn, claim, result)
                recorded, message_id = message_id, None
            except BaseException:
                if message_id is not None:
                    # Leave the message `sending` for a reconciliation, and its lock to go with the
                    # connection: a cancelled or failing sender must not leave a lock in the pool.
                    with contextlib.suppress(Exception):
                        await conn.invalidate()
                raise

    async def _claim(self, conn: AsyncConnection, recorded: str | None) -> Claim | str | None:
        """The next due message, marked `sending` and locked, ready for its call; or its id
        when it was settled without one; or None when nothing is due. First the lock of the
        message recorded last goes: its answer is committed, so nobody can take it for stranded."""
        now = self.clock.now()
        async with _session(conn) as session:
            if recorded is not None:
                await session.exec(sa.select(sa.func.pg_advisory_unlock(  # type: ignore[call-overload]
                    LOCK_SPACE, sa.func.hashtext(recorded))))
            message = await repository.next_due(session, now)
            if message is None:
                return None
            settled = await self._settle_before_call(session, message, now)
            if settled is not None:
                message.status_reason = settled
                message.updated_at = now
                message.version += 1
                session.add(message)
                return message.id
            locked = (await session.exec(sa.select(sa.func.pg_try_advisory_lock(  # type: ignore[call-overload]
                LOCK_SPACE, sa.func.hashtext(message.id))))).scalar_one()
            if not locked:  # another message's lock by a hash collision: later
                message.next_attempt_at = now + timedelta(seconds=1)
                session.add(message)
                return message.id
            message.attempts += 1
            message.status, message.updated_at, message.version = Status.SENDING.value, now, message.version + 1
            out = outgoing(message)
            message.title, message.body = out.title, out.text
            attempt = MessageAttempt(id=new_id(), message_id=message.id, number=message.attempts,
                                     channel=message.channel, outcome="sending", started_at=now)
            session.add(message)
            session.add(attempt)
            return Claim(message.id, Channel(message.channel), out, message, attempt)

    async def _settle_before_call(self, session: AsyncSession, message: Message, now: datetime) -> str | None:
        """Why the message is not sent now (then it is cancelled, skipped or deferred), or None."""
        if message.expires_at is not None and message.expires_at <= now:
            message.status = Status.CANCELLED.value
            return "too late: its time has passed"
        reason = await service.still_wanted(session, message)
        if reason is not None:
            message.status = Status.CANCELLED.value
            return reason
        customer = await customers.customer(session, message.customer_id) if message.customer_id else None
        if customer is None:
            message.status = Status.SKIPPED.value
            return "no customer"
        consent = (await service.consents_of(session, customer))[Channel(message.channel)]
        category = Category(message.category)
        prefs = service.preferences_of(customer)
        if not consent.allows(category) or (category == Category.MARKETING and prefs.get("marketing_opt_out")):
            message.status = Status.SKIPPED.value
            await service.fall_back(session, message, now)
            return f"the customer does not allow {category.value} messages on {message.channel}"
        provider = self.providers.get(Channel(message.channel))
        if provider is None or not provider.configured:
            message.status = Status.SKIPPED.value
            await service.fall_back(session, message, now)
            return f"no {message.channel} provider configured"
        if KINDS[message.kind].quiet_at_night():
            store = await session.get(KnownStore, message.store_id)
            until = quiet_until(now, store_zone(store), *self.quiet)
            if until is not None:
                message.next_attempt_at = until
                return f"quiet hours: {'marketing' if category == Category.MARKETING else 'this notice'} " \
                       "waits for the morning"
        message.address = consent.address
        return None

    async def _record(self, conn: AsyncConnection, claim: Claim, result: Result) -> None:
        now = self.clock.now()
        async with _session(conn) as session:
            # The rows as the claim committed them: nobody else changes a message whose lock this
            # sender holds, so they are updated without being read again.
            message, attempt = claim.message, claim.attempt
            session.add(message)
            session.add(attempt)
            attempt.outcome, attempt.finished_at, attempt.settled_by = result.outcome.value, now, "answer"
            attempt.error_code, attempt.detail = result.error_code, result.detail
            attempt.provider_message_id = result.provider_message_id
            await self._apply(session, message, attempt, result, now)

    async def _apply(self, session: AsyncSession, message: Message, attempt: MessageAttempt, result: Result,
                     now: datetime) -> None:
        message.updated_at, message.version = now, message.version + 1
        if result.outcome == Outcome.ACCEPTED:
            await self._sent(session, message, result.provider_message_id, now)
        elif result.outcome in (Outcome.RATE_LIMITED, Outcome.FAILED) \
                and message.attempts < self.settings.messages_max_attempts:
            wait = backoff(message.attempts, self.settings.messages_backoff_seconds,
                           self.settings.messages_backoff_max_seconds, result.retry_after)
            message.status, message.next_attempt_at = Status.QUEUED.value, now + wait
            message.status_reason = f"{result.outcome.value} ({result.error_code}); trying again"
            attempt.retry_at = message.next_attempt_at
        else:
            message.status = Status.FAILED.value
            message.status_reason = f"{result.outcome.value} ({result.error_code}): {result.detail or ''}".strip()
            await service.fall_back(session, message, now)
        session.add(attempt)
        session.add(message)

    async def _sent(self, session: AsyncSession, message: Message, provider_id: str | None, now: datetime) -> None:
        message.status, message.sent_at, message.status_reason = Status.SENT.value, now, None
        message.provider_message_id = provider_id or message.provider_message_id
        message.next_attempt_at = now + RECEIPT_EVERY
        self.sent += 1
        if message.kind.endswith("_invitation") and message.about:
            await reminders.letter_sent(session, message.about, message.channel, now)

    # --- after a crash -------------------------------------------------------------------

    async def reconcile(self) -> int:
        """Settle messages left `sending` by a sender that is gone (its lock is free)."""
        settled = 0
        async with self.db.transaction() as session:
            for message in await repository.stranded(session, 100):
                free = (await session.exec(sa.select(sa.func.pg_try_advisory_xact_lock(  # type: ignore[call-overload]
                    LOCK_SPACE, sa.func.hashtext(message.id))))).scalar_one()
                if not free:
                    continue  # its sender is alive and in the call
                attempt = await repository.open_attempt(session, message.id)
                if attempt is None:
                    message.status = Status.QUEUED.value
                    session.add(message)
                    continue
                provider = self.providers[Channel(message.channel)]
                now = self.clock.now()
                try:
                    what, provider_id = await provider.afterwards(outgoing(message), attempt.started_at, now)
                except Exception as exc:
                    log.warning("cannot ask the provider about a stranded message; later", message_id=message.id,
                                error=repr(exc))
                    continue
                attempt.finished_at, attempt.settled_by = now, "reconcile"
                message.updated_at, message.version = now, message.version + 1
                if what == Afterwards.ACCEPTED:
                    attempt.outcome, attempt.provider_message_id = Outcome.ACCEPTED.value, provider_id
                    attempt.detail = "the provider has it (asked after the sender stopped)"
                    await self._sent(session, message, provider_id, now)
                elif what == Afterwards.NOT_SENT:
                    attempt.outcome, attempt.detail = "not_sent", "the provider never got it; sending again"
                    message.status, message.next_attempt_at = Status.QUEUED.value, now
                elif what == Afterwards.REPEAT_DROPPED:
                    attempt.outcome = "unconfirmed"
                    attempt.detail = "outcome unknown; sent again under the same key, which the provider drops if it " \
                                     "has the first"
                    message.status, message.next_attempt_at = Status.QUEUED.value, now
                else:
                    attempt.outcome = "unconfirmed"
                    attempt.detail = "the sender stopped during the call and the provider cannot be asked"
                    message.status = Status.UNCONFIRMED.value
                    message.status_reason = "the sender stopped during the call; not sent again, so at most once"
                session.add(attempt)
                session.add(message)
                settled += 1
        if settled:
            log.info("stranded messages settled", count=settled)
        return settled

    # --- receipts ------------------------------------------------------------------------

    async def receipts(self) -> int:
        """Ask the SMS provider what became of the SMS it accepted."""
        provider = self.providers.get(Channel.SMS)
        if provider is None or not provider.configured:
            return 0
        changed = 0
        now = self.clock.now()
        async with self.db.transaction() as session:
            for message in await repository.receipts_due(session, now, 50):
                sent_at = message.sent_at or message.created_at
                try:
                    receipt, code = await provider.receipt(outgoing(message), sent_at)
                except Exception as exc:
                    log.warning("SMS receipts unavailable; later", error=repr(exc))
                    break
                message.updated_at, message.version = now, message.version + 1
                if receipt == Receipt.DELIVERED:
                    message.status, message.delivered_at = Status.DELIVERED.value, now
                    changed += 1
                elif receipt == Receipt.FAILED:
                    message.status, message.status_reason = Status.FAILED.value, f"not delivered ({code})"
                    await service.fall_back(session, message, now)
                    changed += 1
                else:
                    message.next_attempt_at = now + RECEIPT_EVERY if now - sent_at < RECEIPT_FOR else NEVER
                session.add(message)
        return changed


@dataclass(frozen=True)
class Claim:
    message_id: str
    channel: Channel
    out: Outgoing
    message: Message
    attempt: MessageAttempt


class _session:
    """A transaction on the lane's own connection (so the advisory lock stays with it)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def __aenter__(self) -> AsyncSession:
        self.session = AsyncSession(bind=self.conn, expire_on_commit=False)
        await self.session.begin()
        return self.session

    async def __aexit__(self, kind, exc, tb) -> None:
        try:
            if exc is None:
                await self.session.commit()
            else:
                await self.session.rollback()
        finally:
            await self.session.close()


def job(settings: CrmSettings) -> Callable[[ServiceRuntime], Awaitable[None]]:
    """The worker's sender: runs until the worker stops, looking for due messages every
    `messages_poll_seconds` when it finds none."""

    async def run(runtime: ServiceRuntime) -> None:
        sender = Sender(runtime.db, settings, runtime.clock)
        try:
            while not runtime.stop.is_set():
                try:
                    taken = await sender.run_once()
                except Exception as exc:
                    log.warning("sender retrying", error=repr(exc))
                    taken = 0
                if taken == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(runtime.stop.wait(), settings.messages_poll_seconds)
        finally:
            await sender.close()

    return run
