"""Entries onto the ledger, for the features that create what is owed (at settlement a
fleet's on-account amount, the insurer's share and a customer's credit; network's warranty
statements through its events).
Kept apart from `service` so that those features can write here without importing the
payment rules, which in turn use them (a fleet's payment lowers its balance)."""
import calendar
import hashlib
import unicodedata
from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.ids import new_id
from services.common.stores import store_zone
from services.reception.receivables import repository
from services.reception.receivables.models import Receivable, ReceivablePayment
from services.reception.shared import repository as shared


def due_after_month_end(issued_on: date, terms_days: int) -> date:
    """A fleet's terms run from the end of the statement month its order is on."""
    month_end = issued_on.replace(day=calendar.monthrange(issued_on.year, issued_on.month)[1])
    return month_end + timedelta(days=terms_days)


async def owed(session: AsyncSession, *, store_id: str, payer_kind: str, payer_id: str, payer_name: str,
               source_kind: str, source_id: str, reference: str | None, amount_fen: int, issued_on: date,
               due_on: date, now: datetime, payer_phone: str | None = None) -> Receivable:
    """Record what a payer owes for one thing; the same thing recorded again stays one entry."""
    existing = await repository.by_source(session, source_kind, source_id, payer_kind)
    if existing is not None:
        return existing
    item = Receivable(
        id=new_id(), store_id=store_id, payer_kind=payer_kind, payer_id=payer_id, payer_name=payer_name,
        payer_phone=payer_phone, source_kind=source_kind, source_id=source_id, reference=reference,
        amount_fen=amount_fen, paid_fen=0, issued_on=issued_on, due_on=due_on, created_at=now)
    session.add(item)
    return item


# The brand pays a store's warranty statement on its own schedule; 30 days is what the
# dealer agreement gives it before the store chases.
BRAND_TERMS_DAYS = 30
BRAND = ("brand", "network", "主机厂 Brand (network settlements)")
SETTLEMENT = "settlement"
SYSTEM = {"id": "network", "name": "network service", "role": "system"}


async def settlement_issued(session: AsyncSession, *, settlement_id: str, store_id: str, period: str,
                            total_fen: int, issued_at: datetime, now: datetime) -> None:
    """A warranty statement issued to a store: the brand owes it (nothing, when chargebacks
    took it to zero or below)."""
    if total_fen <= 0:
        return
    store = await shared.known_store(session, store_id)
    issued_on = issued_at.astimezone(store_zone(store)).date()
    kind, payer_id, name = BRAND
    await owed(session, store_id=store_id, payer_kind=kind, payer_id=payer_id, payer_name=name,
               source_kind=SETTLEMENT, source_id=settlement_id, reference=period[:64], amount_fen=total_fen,
               issued_on=issued_on, due_on=issued_on + timedelta(days=BRAND_TERMS_DAYS), now=now)


async def settlement_paid(session: AsyncSession, *, settlement_id: str, reference: str, paid_at: datetime,
                          now: datetime) -> None:
    """The brand paid a statement: its item is settled in full, the payment on the ledger."""
    item = await repository.by_source(session, SETTLEMENT, settlement_id, BRAND[0])
    if item is None or item.paid_fen >= item.amount_fen:
        return
    store = await shared.known_store(session, item.store_id)
    amount = item.amount_fen - item.paid_fen
    item.paid_fen = item.amount_fen
    session.add(item)
    repository.add_payment(session, ReceivablePayment(
        id=new_id(), store_id=item.store_id, payer_kind=item.payer_kind, payer_id=item.payer_id, amount_fen=amount,
        received_on=paid_at.astimezone(store_zone(store)).date(), method="bank_transfer", reference=reference[:100],
        allocations=[{"receivable_id": item.id, "amount_fen": amount, "open_fen": 0}], recorded_by=SYSTEM,
        recorded_at=now))


# ---- an order's payers at settlement -------------------------------------------------------------

REPAIR_ORDER = "repair_order"
# Insurers pay a store's claim once the settlement papers reach them; 30 days is what the
# store's agreements with them give before it chases.
INSURER_TERMS_DAYS = 30


def insurer_payer_id(insurer: str) -> str:
    """One id per insurer however the advisor spaced or cased its name ("中国人保 PICC" and
    "中国人保  picc" are one payer): the order knows the insurer by name only."""
    folded = " ".join(unicodedata.normalize("NFKC", insurer).casefold().split())
    return "insurer:" + hashlib.sha256(folded.encode()).hexdigest()[:24]


def customer_payer_id(phone: str) -> str:
    """A customer on credit is known by phone in a store, as at the counter: its digits."""
    return "customer:" + "".join(ch for ch in phone if ch.isdigit())


async def insurer_share(session: AsyncSession, *, store_id: str, repair_order_id: str, insurance: dict | None,
                        insurer_due_fen: int, issued_on: date, now: datetime) -> Receivable | None:
    """What the insurer pays of a settled order (its assessment's approved amounts less the
    customer's excess) is owed by the insurer, its claim number the reference."""
    if insurer_due_fen <= 0 or not insurance:
        return None
    name = str(insurance["insurer"])
    return await owed(session, store_id=store_id, payer_kind="insurer", payer_id=insurer_payer_id(name),
                      payer_name=name[:200], source_kind=REPAIR_ORDER, source_id=repair_order_id,
                      reference=str(insurance.get("claim_no") or "")[:64] or None, amount_fen=insurer_due_fen,
                      issued_on=issued_on, due_on=issued_on + timedelta(days=INSURER_TERMS_DAYS), now=now)


async def of_order(session: AsyncSession, repair_order_id: str) -> list[Receivable]:
    return await repository.of_source(session, REPAIR_ORDER, repair_order_id)
