"""Receivables (回款): everything owed to a store, by payer, aged by store-local days past
due into 0-30, 31-60, 61-90 and over 90 (an item not yet due is in 0-30 with 0 days); money
received from a payer matched to one or several of its open items, wholly or partly; and
the payers to remind of what is overdue. A fleet's payment lowers its balance on account.

Every payer is on one ledger: a fleet (its orders on account), an insurer (its share of an
insurance order, the assessment's approved amounts less the excess), a customer on credit
(an order settled `on_credit`), the brand (warranty statements). Each gets its own reminder:
whom to call and what to quote (invoice numbers, claim numbers, statement periods)."""
from collections import defaultdict
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import ValidationFailed
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.stores import acting_store_id, store_zone
from services.reception.fleets import repository as fleet_accounts
from services.reception.fleets import service as fleets
from services.reception.receivables import repository
from services.reception.receivables.models import Receivable, ReceivablePayment
from services.reception.receivables.schemas import (
    BUCKETS,
    AllocationPublic,
    Bucket,
    BucketTotal,
    OverdueAccount,
    OverdueList,
    PaymentCreate,
    PaymentPublic,
    ReceivableList,
    ReceivablePublic,
)
from services.reception.shared import repository as shared
from services.reception.shared.service import Who, listed_store


def bucket_of(days_past_due: int) -> Bucket:
    if days_past_due <= 30:
        return "0-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"


async def _today(session: AsyncSession, clock: Clock, store_id: str | None, cache: dict[str | None, date]) -> date:
    if store_id not in cache:
        store = await shared.known_store(session, store_id) if store_id else None
        cache[store_id] = clock.now().astimezone(store_zone(store)).date()
    return cache[store_id]


def _public(item: Receivable, today: date) -> ReceivablePublic:
    days = max(0, (today - item.due_on).days)
    return ReceivablePublic(
        id=item.id, store_id=item.store_id, payer_kind=item.payer_kind,
        payer_id=item.payer_id, payer_name=item.payer_name, source_kind=item.source_kind, source_id=item.source_id,
        reference=item.reference, amount_fen=item.amount_fen, paid_fen=item.paid_fen,
        open_fen=item.amount_fen - item.paid_fen, issued_on=item.issued_on, due_on=item.due_on,
        days_past_due=days, bucket=bucket_of(days))


async def aged(session: AsyncSession, clock: Clock, principal: Principal, *, store_id: str | None,
               bucket: Bucket | None, payer_kind: str | None, payer_id: str | None) -> ReceivableList:
    store = listed_store(principal, store_id)
    today: dict[str | None, date] = {}
    items = []
    for item in await repository.open_items(session, store_id=store, payer_kind=payer_kind, payer_id=payer_id):
        public = _public(item, await _today(session, clock, item.store_id, today))
        if bucket is None or public.bucket == bucket:
            items.append(public)
    totals = [BucketTotal(bucket=b, count=sum(1 for i in items if i.bucket == b),
                          open_fen=sum(i.open_fen for i in items if i.bucket == b)) for b in BUCKETS]
    return ReceivableList(as_of=await _today(session, clock, store, today), items=items, totals=totals,
                          open_fen=sum(i.open_fen for i in items))


# What each kind of payer is reminded of, in its own words: 中文在前, English beside it.
WHAT_IS_OWED = {
    "customer": ("维修款", "repair bill(s)", "发票", "invoices"),
    "fleet": ("车队记账款", "fleet account item(s)", "发票", "invoices"),
    "insurer": ("保险理赔款", "insurance claim payment(s)", "报案号", "claim nos."),
    "brand": ("索赔结算款", "warranty settlement(s)", "结算期", "periods"),
}


def reminder(kind: str, name: str, items: int, owed_fen: int, oldest_due_on: date, days_past_due: int,
             references: list[str]) -> str:
    """The overdue reminder to send a payer: how much, how late, and what to quote when paying."""
    zh, en, ref_zh, ref_en = WHAT_IS_OWED[kind]
    quoted = "、".join(references[:10])
    quoted_en = ", ".join(references[:10])
    return (f"{name}：您有{zh} {items} 笔共 {owed_fen / 100:.2f} 元已逾期，最早一笔于 {oldest_due_on.isoformat()} 到期"
            f"（逾期 {days_past_due} 天）{f'，{ref_zh} {quoted}' if quoted else ''}，请尽快付款。 "
            f"{items} {en} totalling {owed_fen / 100:.2f} CNY are overdue, the oldest due on "
            f"{oldest_due_on.isoformat()} ({days_past_due} days ago){f'; {ref_en} {quoted_en}' if quoted else ''}; "
            "please pay.")


async def _fleet_phone(session: AsyncSession, fleet_id: str) -> str | None:
    """A fleet is reminded through the contact who approves its orders, else its first contact."""
    fleet = await fleet_accounts.get(session, fleet_id)
    if fleet is None or not fleet.contacts:
        return None
    contact = next((c for c in fleet.contacts if c.get("approves")), fleet.contacts[0])
    return contact.get("phone")


async def overdue(session: AsyncSession, clock: Clock, principal: Principal, *, store_id: str | None,
                  payer_kind: str | None = None) -> OverdueList:
    store = listed_store(principal, store_id)
    today: dict[str | None, date] = {}
    by_payer: dict[tuple[str, str, str], list[ReceivablePublic]] = defaultdict(list)
    phones: dict[tuple[str, str, str], str | None] = {}
    for item in await repository.open_items(session, store_id=store, payer_kind=payer_kind):
        public = _public(item, await _today(session, clock, item.store_id, today))
        if public.days_past_due > 0:
            key = (item.store_id, item.payer_kind, item.payer_id)
            by_payer[key].append(public)
            phones[key] = phones.get(key) or item.payer_phone
    accounts = []
    for key, items in by_payer.items():
        store_of_payer, kind, payer = key
        oldest = min(items, key=lambda i: i.due_on)
        owed = sum(i.open_fen for i in items)
        references = sorted({i.reference for i in items if i.reference})
        phone = phones[key] if kind == "customer" else await _fleet_phone(session, payer) if kind == "fleet" else None
        accounts.append(OverdueAccount(
            store_id=store_of_payer, payer_kind=kind, payer_id=payer,
            payer_name=oldest.payer_name, overdue_fen=owed, items=len(items), oldest_due_on=oldest.due_on,
            days_past_due=oldest.days_past_due, contact_phone=phone, references=references,
            reminder=reminder(kind, oldest.payer_name, len(items), owed, oldest.due_on, oldest.days_past_due,
                              references)))
    accounts.sort(key=lambda a: (-a.days_past_due, a.payer_id))
    return OverdueList(as_of=await _today(session, clock, store, today), accounts=accounts)


async def record_payment(session: AsyncSession, clock: Clock, principal: Principal,
                         data: PaymentCreate) -> PaymentPublic:
    store_id = acting_store_id(principal, data.store_id)
    # Money is recorded once it is in: a later day would age and remind on a payment not yet made.
    if data.received_on > await _today(session, clock, store_id, {}):
        raise ValidationFailed("received_on", "收款日期不能晚于今天。 Money cannot be received after today.")
    if sum(a.amount_fen for a in data.allocations) != data.amount_fen:
        raise ValidationFailed("allocations", "各笔分配之和须等于收款金额。 The allocations must add up to amount_fen.")
    ids = [a.receivable_id for a in data.allocations]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("allocations", "同一应收款只能分配一次。 Each receivable is matched once per payment.")
    # Locked before reading what is open: two payments for one item cannot both fit in it.
    items = await repository.lock(session, ids)
    allocations = []
    for n, allocation in enumerate(data.allocations):
        item = items.get(allocation.receivable_id)
        if item is None or item.store_id != store_id or (item.payer_kind, item.payer_id) != (
                data.payer_kind, data.payer_id):
            raise ValidationFailed(f"allocations.{n}.receivable_id",
                                   "该付款人在本店没有这笔应收款。 No such receivable of this payer in this store.")
        open_fen = item.amount_fen - item.paid_fen
        if allocation.amount_fen > open_fen:
            raise ValidationFailed(f"allocations.{n}.amount_fen",
                                   f"超过未收金额 {open_fen} 分。 More than the {open_fen} fen still open.")
        item.paid_fen += allocation.amount_fen
        session.add(item)
        allocations.append(AllocationPublic(receivable_id=item.id, amount_fen=allocation.amount_fen,
                                            open_fen=item.amount_fen - item.paid_fen))
    if data.payer_kind == "fleet":
        await fleets.paid_on_account(session, data.payer_id, data.amount_fen)
    payment = ReceivablePayment(
        id=new_id(), store_id=store_id, payer_kind=data.payer_kind, payer_id=data.payer_id,
        amount_fen=data.amount_fen, received_on=data.received_on, method=data.method, reference=data.reference,
        allocations=[a.model_dump() for a in allocations], recorded_by=Who.of(principal).as_dict(),
        recorded_at=clock.now())
    repository.add_payment(session, payment)
    return PaymentPublic(id=payment.id, store_id=store_id, payer_kind=data.payer_kind, payer_id=data.payer_id,
                         amount_fen=data.amount_fen, received_on=data.received_on, method=data.method,
                         reference=data.reference, allocations=allocations)
