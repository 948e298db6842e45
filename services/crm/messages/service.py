"""Customer messages: which notices CRM writes, in the transaction of the change that causes
them, and what a customer allows on each channel.

A message's life:

    held ──(its order becomes known)──> queued
    queued ──(claimed; "sending" recorded before the call)──> sending
    sending ──accepted──> sent ──(SMS receipt)──> delivered | failed
    sending ──rate limited / may pass──> queued (later, backing off) ──(too many)──> failed
    sending ──rejected──> failed
    sending ──(the sender died during the call)──> sent | queued | unconfirmed (services/crm/messages/sender.py)
    queued ──(no consent, no address, provider off)──> skipped
    held | queued ──(the car collected, the booking over, the reminder answered)──> cancelled

A notice that reaches the customer once (`Reach.FIRST`) writes its next channel's message
when one fails or is skipped."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.clock import Clock
from services.common.errors import NotFound
from services.common.events.catalogue import network as nw
from services.common.events.catalogue import reception as rx
from services.common.events.catalogue import workshop as ws
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.stores import ensure_visible, store_zone
from services.common.tables import KnownStore
from services.crm.customers import repository as customers
from services.crm.customers.models import Appointment, Customer, RepairOrder, Vehicle
from services.crm.customers.service import default_preferences, visible_customer
from services.crm.messages import repository
from services.crm.messages.models import Consent, Message
from services.crm.messages.policy import (
    CHANNEL_ORDER,
    EXTRA_WORK_GATHER,
    KINDS,
    Category,
    Channel,
    ChannelConsent,
    Reach,
    Status,
    campaign_category,
    default_consent,
    parse_hhmm,
    reachable,
)
from services.crm.messages.schemas import (
    AttemptPublic,
    ChannelConsentPublic,
    ConsentPublic,
    ConsentUpdate,
    MessageDetail,
    MessagePublic,
)
from services.crm.reminders.models import Reminder
from services.crm.settings import CrmSettings

# --- consent -------------------------------------------------------------------------------


def preferences_of(customer: Customer) -> dict:
    return customer.contact_preferences or default_preferences()


async def consents_of(session: AsyncSession, customer: Customer) -> dict[Channel, ChannelConsent]:
    """Per channel, what the customer allows: as recorded, else the default (policy.default_consent)."""
    prefs = preferences_of(customer)
    recorded = {Channel(row.channel): row for row in await repository.consents(session, customer)}
    result = {}
    for channel in CHANNEL_ORDER:
        row = recorded.get(channel)
        if row is None:
            result[channel] = default_consent(channel, customer.phone, prefs)
        else:
            address = customer.phone if channel == Channel.SMS else row.address
            result[channel] = ChannelConsent(channel, address, row.service, row.marketing, True)
    return result


async def consent_view(session: AsyncSession, customer: Customer) -> ConsentPublic:
    consents = await consents_of(session, customer)
    rows = {row.channel: row for row in await repository.consents(session, customer)}
    prefs = preferences_of(customer)
    service_ok = {c.channel for c in reachable(consents, Category.SERVICE, prefs)}
    marketing_ok = {c.channel for c in reachable(consents, Category.MARKETING, prefs)}
    channels = []
    for channel, consent in consents.items():
        row = rows.get(channel.value)
        channels.append(ChannelConsentPublic(
            channel=channel.value, address=consent.address, service=consent.service, marketing=consent.marketing,
            effective_service=channel in service_ok, effective_marketing=channel in marketing_ok,
            recorded=consent.recorded, updated_at=row.updated_at if row else None,
            updated_by=row.updated_by if row else None))
    return ConsentPublic(customer_id=customer.id, store_id=customer.store_id, channels=channels)


async def get_consent(session: AsyncSession, principal: Principal, customer_id: str) -> ConsentPublic:
    return await consent_view(session, await visible_customer(session, principal, customer_id))


async def set_consent(session: AsyncSession, clock: Clock, principal: Principal, customer_id: str,
                      data: ConsentUpdate) -> ConsentPublic:
    """Record what the customer said, per channel named. A withdrawal holds from now: the
    sender checks consent again when it takes a message, so one already queued is skipped."""
    customer = await visible_customer(session, principal, customer_id)
    now = clock.now()
    rows = {row.channel: row for row in await repository.consents(session, customer)}
    given: list[tuple[Channel, bool, bool, str | None]] = []
    if data.sms is not None:
        given.append((Channel.SMS, data.sms.service, data.sms.marketing, None))
    if data.wechat is not None:
        given.append((Channel.WECHAT, data.wechat.service, data.wechat.marketing, data.wechat.openid))
    if data.email is not None:
        given.append((Channel.EMAIL, data.email.service, data.email.marketing, data.email.address))
    for channel, service, marketing, address in given:
        row = rows.get(channel.value)
        if row is None:
            row = Consent(customer_id=customer.id, channel=channel.value, store_id=customer.store_id, service=service,
                          marketing=marketing, updated_at=now, updated_by=principal.id)
        row.service, row.marketing = service, marketing
        if channel != Channel.SMS and address is not None:
            row.address = address
        row.updated_at, row.updated_by = now, principal.id
        row.updated_by_name, row.updated_by_credential = principal.name or None, principal.credential or None
        session.add(row)
    await session.flush()
    return await consent_view(session, customer)


# --- notices -------------------------------------------------------------------------------

# Campaign dates are the brand's, in China time (services/network/campaigns).
BRAND_ZONE = ZoneInfo("Asia/Shanghai")
# How old a delivery may be when CRM hears of it and still thanks the customer for it.
FRESH = timedelta(days=1)


def _local(instant: datetime, store: KnownStore | None) -> str:
    return f"{instant.astimezone(store_zone(store)):%Y-%m-%d %H:%M}"


async def _facts(session: AsyncSession, store_id: str, customer: Customer | None,
                 vehicle: Vehicle | None) -> tuple[KnownStore | None, dict[str, str]]:
    store = await session.get(KnownStore, store_id)
    facts = {"store_name": store.name if store else "", "customer_name": customer.name if customer else "",
             "plate": "", "model": ""}
    if vehicle is not None:
        facts["plate"] = vehicle.plate or vehicle.vin[-6:]
        facts["model"] = vehicle.model or ""
    return store, facts


def _message(kind: str, channel: Channel, *, store_id: str, customer_id: str | None, notice_key: str,
             about: str | None, variables: dict[str, str], status: Status, now: datetime,
             not_before: datetime | None = None, expires_at: datetime | None = None, reason: str | None = None,
             fallback_from: str | None = None, category: Category | None = None) -> Message:
    return Message(id=new_id(), store_id=store_id, customer_id=customer_id, kind=kind,
                   category=(category or KINDS[kind].category).value, channel=channel.value, notice_key=notice_key,
                   about=about, variables=variables, status=status.value, status_reason=reason, attempts=0,
                   next_attempt_at=max(now, not_before) if not_before else now, expires_at=expires_at,
                   fallback_from=fallback_from, created_at=now, updated_at=now)


async def notify(session: AsyncSession, kind: str, customer: Customer, *, store_id: str, notice_key: str,
                 about: str | None, variables: dict[str, str], now: datetime, not_before: datetime | None = None,
                 expires_at: datetime | None = None, category: Category | None = None) -> list[Message]:
    """Write the notice's messages (none if it exists already): one per channel the customer
    allows, or the first of them; one skipped message, saying why, when none is allowed.
    `category` overrides the kind's (a recall's campaign invitation is a service message)."""
    existing = await repository.of_notice(session, notice_key, about)
    if existing:
        return existing
    spec = KINDS[kind]
    category = category or spec.category
    allowed = reachable(await consents_of(session, customer), category, preferences_of(customer))
    common = dict(store_id=store_id, customer_id=customer.id, notice_key=notice_key, about=about, variables=variables,
                  now=now, not_before=not_before, expires_at=expires_at, category=category)
    if not allowed:
        messages = [_message(kind, Channel.SMS, status=Status.SKIPPED, **common,  # type: ignore[arg-type]
                             reason="no channel the customer allows for this message")]
    else:
        chosen = allowed if spec.reach == Reach.ALL else allowed[:1]
        messages = [_message(kind, c.channel, status=Status.QUEUED, **common)  # type: ignore[arg-type]
                    for c in chosen]
    for message in messages:
        session.add(message)
    return messages


async def _hold(session: AsyncSession, kind: str, *, store_id: str, notice_key: str, about: str,
                variables: dict[str, str], now: datetime) -> None:
    """A notice about an order CRM has not heard of yet (the workshop's event came first):
    kept until reception's event about the order arrives (`order_known`)."""
    if await repository.of_notice(session, notice_key, about):
        return
    session.add(_message(kind, Channel.SMS, store_id=store_id, customer_id=None, notice_key=notice_key, about=about,
                         variables=variables, status=Status.HELD, now=now, reason="waiting for the repair order"))


async def _order_notice(session: AsyncSession, kind: str, repair_order_id: str, store_id: str,
                        variables: dict[str, str], now: datetime, *, notice_key: str | None = None,
                        not_before: datetime | None = None, expires_at: datetime | None = None) -> None:
    notice_key = notice_key or f"{kind}:{repair_order_id}"
    order = await customers.repair_order(session, repair_order_id)
    if order is None or order.customer_id is None:
        await _hold(session, kind, store_id=store_id, notice_key=notice_key, about=repair_order_id,
                    variables=variables, now=now)
        return
    if order.status != "open":
        return  # collected or cancelled before the workshop's word came: nothing to tell
    customer = await customers.customer(session, order.customer_id)
    if customer is None:
        return
    vehicle = await customers.vehicle(session, order.vin) if order.vin else None
    _, facts = await _facts(session, store_id, customer, vehicle)
    await notify(session, kind, customer, store_id=store_id, notice_key=notice_key, about=repair_order_id,
                 variables={**facts, "order_number": order.number, **variables}, now=now, not_before=not_before,
                 expires_at=expires_at)


async def car_ready(session: AsyncSession, event: ws.RepairOrderReady, now: datetime) -> None:
    store = await session.get(KnownStore, event.store_id)
    await _order_notice(session, "car_ready", event.repair_order_id, event.store_id,
                        {"ready_at": _local(event.ready_at, store)}, now)


def estimate_link(settings: CrmSettings, repair_order_id: str) -> str:
    return settings.messages_estimate_link.format(repair_order_id=repair_order_id) \
        if settings.messages_estimate_link else ""


async def parts_delayed(session: AsyncSession, event: ws.ReservationBackordered, settings: CrmSettings,
                        now: datetime) -> None:
    """One notice per order, however many of its parts wait (the first backorder says it all)."""
    await _order_notice(session, "parts_delayed", event.repair_order_id, event.store_id,
                        {"part_no": event.part_no, "link": estimate_link(settings, event.repair_order_id)}, now)


async def _drop_unsent(session: AsyncSession, kind: str, repair_order_id: str, keep: str | None, why: str,
                       now: datetime) -> None:
    """Cancel the order's `kind` notices not yet sent, but `keep`: what they say is out of date."""
    for message in await repository.about(session, repair_order_id, [Status.HELD.value, Status.QUEUED.value]):
        if message.kind == kind and message.notice_key != keep:
            message.status, message.status_reason, message.updated_at = Status.CANCELLED.value, why, now
            session.add(message)


async def promise_moved(session: AsyncSession, event: rx.RepairOrderPromiseMoved, now: datetime) -> None:
    """The car will be ready later than promised: the customer hears the new time and why,
    once per move; a move made before the last one's notice went out replaces it. A promise
    moved earlier is no delay and tells nothing (the car-ready notice will)."""
    if event.previous_promised_at is not None and event.promised_at <= event.previous_promised_at:
        return
    store = await session.get(KnownStore, event.store_id)
    move = event.moves if event.moves is not None else f"{event.promised_at:%Y%m%d%H%M}"
    notice_key = f"order_delayed:{event.repair_order_id}:{move}"
    await _drop_unsent(session, "order_delayed", event.repair_order_id, notice_key, "the promise moved again", now)
    await _order_notice(session, "order_delayed", event.repair_order_id, event.store_id, {
        "promised_at": _local(event.promised_at, store),
        "previous_promised_at": _local(event.previous_promised_at, store) if event.previous_promised_at else "",
        "reason": event.reason or "",
    }, now, notice_key=notice_key, expires_at=event.promised_at)


def _yuan(amount_fen: int) -> str:
    return f"{Decimal(amount_fen) / 100:,.2f}"


def _items(lines: Sequence[rx.RepairOrderLine]) -> str:
    """The proposal's lines as an SMS can hold them: the first two, and how many in all."""
    names = "、".join(line.description for line in lines[:2])
    return names if len(lines) <= 2 else f"{names} 等{len(lines)}项 ({len(lines)} items)"


async def extra_work_proposed(session: AsyncSession, event: rx.RepairOrderExtraWorkProposed, settings: CrmSettings,
                              now: datetime) -> None:
    """Work found that waits for the customer's yes: one notice per approval round, sent
    `EXTRA_WORK_GATHER` after the round's latest line so it names them all; a link to
    approve the estimate where the channel carries one (sender.outgoing) and one is set."""
    version = event.estimate_version or 2
    notice_key = f"extra_work:{event.repair_order_id}:{version}"
    lines = event.lines or []
    if event.lines is not None and not lines:
        await _drop_unsent(session, "extra_work", event.repair_order_id, None, "no extra work waits any more", now)
        return
    amount = event.customer_fen if event.customer_fen is not None else event.amount_fen or 0
    variables = {"items": _items(lines), "amount": _yuan(amount),
                 "total_due": _yuan(event.customer_due_fen) if event.customer_due_fen is not None else "",
                 "link": estimate_link(settings, event.repair_order_id)}
    send_at = event.proposed_at + EXTRA_WORK_GATHER
    existing = await repository.of_notice(session, notice_key, event.repair_order_id)
    if existing:
        # A later line of the same round: the notice not yet sent says the round as it now stands.
        for message in existing:
            if message.status not in (Status.HELD.value, Status.QUEUED.value):
                continue
            if any(message.variables.get(k) != v for k, v in variables.items()):
                message.variables = {**message.variables, **variables}
                message.next_attempt_at = max(message.next_attempt_at, send_at)
                message.updated_at = now
                session.add(message)
        return
    await _order_notice(session, "extra_work", event.repair_order_id, event.store_id, variables, now,
                        notice_key=notice_key, not_before=send_at)


async def order_known(session: AsyncSession, order: RepairOrder, customer: Customer, vehicle: Vehicle,
                      now: datetime) -> None:
    """Reception's event about an order arrived: its held notices go out now, or, once the
    car is collected, not at all."""
    for held in await repository.about(session, order.id, [Status.HELD.value]):
        if order.status != "open":
            held.status, held.status_reason = Status.CANCELLED.value, f"the order is {order.status}"
            held.updated_at = now
            session.add(held)
            continue
        await session.delete(held)
        await session.flush()
        _, facts = await _facts(session, order.store_id, customer, vehicle)
        await notify(session, held.kind, customer, store_id=order.store_id, notice_key=held.notice_key,
                     about=order.id, variables={**facts, "order_number": order.number, **held.variables}, now=now)


async def booked(session: AsyncSession, event: rx.AppointmentBooked, customer: Customer, vehicle: Vehicle,
                 settings: CrmSettings, now: datetime) -> None:
    """The confirmation now, and the reminder the day before at the store's reminder time."""
    if event.scheduled_at <= now:
        return
    store, facts = await _facts(session, event.store_id, customer, vehicle)
    variables = {**facts, "scheduled_at": _local(event.scheduled_at, store), "service": event.service_type}
    common = dict(store_id=event.store_id, about=event.appointment_id, variables=variables, now=now,
                  expires_at=event.scheduled_at)
    await notify(session, "booking_confirmed", customer,
                 notice_key=f"booking_confirmed:{event.appointment_id}", **common)  # type: ignore[arg-type]
    zone = store_zone(store)
    day_before = event.scheduled_at.astimezone(zone).date() - timedelta(days=1)
    remind_at = datetime.combine(day_before, parse_hhmm(settings.messages_reminder_time), tzinfo=zone)
    if remind_at > now:
        await notify(session, "booking_reminder", customer, notice_key=f"booking_reminder:{event.appointment_id}",
                     not_before=remind_at, **common)  # type: ignore[arg-type]


def _is_first_maintenance(lines: Sequence[rx.RepairOrderLine]) -> bool:
    code = reference.maintenance_policy()["first_maintenance"]["op_code"]
    return any(line.op_code == code for line in lines)


async def delivered(session: AsyncSession, event: rx.RepairOrderDelivered, customer: Customer, vehicle: Vehicle,
                    callback_due_at: datetime | None, now: datetime) -> None:
    """At pick-up: a held car-ready notice is dropped; the first maintenance is thanked for;
    the customer hears when the store will call them."""
    for held in await repository.of_notice(session, f"car_ready:{event.repair_order_id}", event.repair_order_id):
        if held.status == Status.HELD.value:
            held.status, held.status_reason, held.updated_at = Status.CANCELLED.value, "the car was collected", now
            session.add(held)
    if now - event.delivered_at > FRESH:
        return  # a delivery heard of late (a replay, a backlog): thanks and notices would come out of the blue
    store, facts = await _facts(session, event.store_id, customer, vehicle)
    facts["order_number"] = event.number
    if _is_first_maintenance(event.lines):
        await notify(session, "first_maintenance_thanks", customer, store_id=event.store_id,
                     notice_key=f"first_maintenance_thanks:{event.repair_order_id}", about=event.repair_order_id,
                     variables=facts, now=now)
    if callback_due_at is not None and callback_due_at > now:
        await notify(session, "callback_notice", customer, store_id=event.store_id,
                     notice_key=f"callback_notice:{event.repair_order_id}", about=event.repair_order_id,
                     variables={**facts, "call_day": f"{callback_due_at.astimezone(store_zone(store)):%Y-%m-%d}"},
                     now=now)


async def preload_for_deliveries(session: AsyncSession, events: Sequence[rx.RepairOrderDelivered],
                                 customer_ids: set[str]) -> None:
    await repository.load_for_batch(session, {e.repair_order_id for e in events}, customer_ids)


async def maintenance_letter(session: AsyncSession, reminder: Reminder, customer: Customer, vehicle: Vehicle,
                             now: datetime) -> list[Message]:
    """The reminder's letter, on the first channel the customer allows for invitations. When
    it is sent, the reminder is marked sent (reminders.service.letter_sent), which is what a
    follow-up call a week later goes by."""
    _, facts = await _facts(session, reminder.store_id, customer, vehicle)
    variables = {**facts, "due_on": reminder.due_on.isoformat(), "due_km": str(reminder.due_km)}
    return await notify(session, f"{reminder.kind}_invitation", customer, store_id=reminder.store_id,
                        notice_key=f"reminder:{reminder.id}", about=reminder.id, variables=variables, now=now)


async def campaign_invitations(session: AsyncSession, event: nw.CampaignVinsAffected, now: datetime) -> tuple[int, int]:
    """One invitation per affected car CRM knows, to its current owner, from the owner's
    store; the notice key (campaign and VIN) makes a chunk given twice invite nobody twice.
    A VIN CRM has never seen (sold and serviced elsewhere) is skipped: network's list is the
    brand's, CRM's cars are the group's. Answers (invited, unknown)."""
    vins = {vin.upper() for vin in event.vins}
    known = await repository.vehicles_by_vin(session, vins)
    owners = await customers.customers_by_id(session, {v.customer_id for v in known.values()})
    category = campaign_category(event.kind)
    # The campaign's last day ends at midnight China time, the brand's dates' zone.
    expires_at = datetime.combine(event.ends_on + timedelta(days=1), time(), tzinfo=BRAND_ZONE)
    invited = 0
    for vin in sorted(known):
        vehicle = known[vin]
        customer = owners.get(vehicle.customer_id)
        if customer is None:
            continue
        _, facts = await _facts(session, customer.store_id, customer, vehicle)
        variables = {**facts, "campaign_kind": event.kind, "code": event.code, "title_zh": event.title_zh,
                     "title_en": event.title_en, "starts_on": event.starts_on.isoformat(),
                     "ends_on": event.ends_on.isoformat()}
        await notify(session, "campaign_invitation", customer, store_id=customer.store_id,
                     notice_key=f"campaign_invitation:{event.campaign_id}:{vin}", about=event.campaign_id,
                     variables=variables, now=now, expires_at=expires_at, category=category)
        invited += 1
    return invited, len(vins) - len(known)


async def still_wanted(session: AsyncSession, message: Message) -> str | None:
    """Why the message is no longer worth sending, or None: checked as the sender takes it."""
    if message.kind in ("car_ready", "parts_delayed", "order_delayed", "extra_work") and message.about:
        order = await customers.repair_order(session, message.about)
        if order is not None and order.status != "open":
            return f"the order is {order.status}"
    elif message.kind in ("booking_confirmed", "booking_reminder") and message.about:
        booking = await session.get(Appointment, message.about)
        if booking is not None and booking.status != "booked":
            return f"the booking is {booking.status}"
    elif message.kind.endswith("maintenance_invitation") and message.about:
        reminder = await session.get(Reminder, message.about)
        if reminder is not None and reminder.status != "pending":
            return f"the reminder is {reminder.status}"
    return None


async def fall_back(session: AsyncSession, message: Message, now: datetime) -> Message | None:
    """The notice's next channel the customer allows, after `message` failed or was skipped."""
    spec = KINDS[message.kind]
    if spec.reach != Reach.FIRST or message.customer_id is None:
        return None
    customer = await customers.customer(session, message.customer_id)
    if customer is None:
        return None
    tried = {m.channel for m in await repository.of_notice(session, message.notice_key, None)}
    category = Category(message.category)
    for consent in reachable(await consents_of(session, customer), category, preferences_of(customer)):
        if consent.channel.value not in tried:
            following = _message(message.kind, consent.channel, store_id=message.store_id,
                                 customer_id=message.customer_id, notice_key=message.notice_key, about=message.about,
                                 variables=message.variables, status=Status.QUEUED, now=now,
                                 expires_at=message.expires_at, fallback_from=message.id, category=category)
            session.add(following)
            return following
    return None


# --- for callers -----------------------------------------------------------------------------


async def list_messages(session: AsyncSession, principal: Principal, *, store_id: str | None,
                        customer_id: str | None, channel: str | None, status: str | None, kind: str | None,
                        about: str | None, limit: int, cursor: str | None):
    # A store's caller sees its own store's messages, whatever store it names; HQ the one it names, or all.
    rows, next_cursor = await repository.page(session, store_id=principal.store_id or store_id,
                                              customer_id=customer_id, channel=channel, status=status, kind=kind,
                                              about_id=about, limit=limit, cursor=cursor)
    return [MessagePublic.model_validate(m) for m in rows], next_cursor


async def message_detail(session: AsyncSession, principal: Principal, message_id: str) -> MessageDetail:
    message = await repository.get(session, message_id)
    if message is None:
        raise NotFound("message not found")
    ensure_visible(principal, message.store_id, "message")
    attempts = [AttemptPublic.model_validate(a) for a in await repository.attempts(session, message.id)]
    return MessageDetail(**MessagePublic.model_validate(message).model_dump(), attempt_log=attempts)
