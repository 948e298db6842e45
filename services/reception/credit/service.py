"""Customers on credit (赊账): who may pay later and how much.

A store keeps credit accounts for customers it lets pay later (a limit and payment terms),
known by phone. At settlement a payment `on_credit` is owed by the order's customer: within
the account's limit (its open receivables with this order), or past it or without any
account when the service manager allowed this one order on credit. The receivable is due
the terms' days after the store's settlement day; the customer's balance is what the ledger
holds open for them, so a payment matched in receivables lowers it with nothing else to keep."""
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.stores import ensure_visible, store_zone
from services.reception.credit import repository
from services.reception.credit.models import CreditAccount, CreditAllowance
from services.reception.credit.schemas import (
    CreditAccountCreate,
    CreditAccountList,
    CreditAccountPublic,
    CreditAccountUpdate,
    CreditAllowanceCreate,
    CreditAllowancePublic,
)
from services.reception.fleets import policy as fleet_policy
from services.reception.fleets import repository as fleets
from services.reception.receivables import ledger
from services.reception.receivables import repository as receivables
from services.reception.repair_orders.models import RepairOrder
from services.reception.shared.service import Who, listed_store, record_change, store_for_new_business, store_of

CREDIT_STOP_RULE = "customer_credit_stop"
MANAGERS = ("service_manager", "store_manager", "hq_admin")
FINISHED = ("settled", "delivered", "cancelled")
CUSTOMER = "customer"


def digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


async def create(session: AsyncSession, clock: Clock, principal: Principal, data: CreditAccountCreate) -> CreditAccount:
    store = await store_for_new_business(session, principal, data.store_id)
    phone = digits(data.customer.phone)
    held = await repository.by_phone(session, store.id, phone)
    if held is not None:
        raise Conflict(f"本店已有该电话的赊账账户。 The store has a credit account for {phone} already.",
                       field="customer.phone", credit_account_id=held.id)
    now = clock.now()
    account = CreditAccount(
        id=new_id(), store_id=store.id, customer_name=data.customer.name, phone=phone,
        credit_limit_fen=data.credit_limit_fen, payment_terms_days=data.payment_terms_days, active=True,
        note=data.note, created_at=now, created_by=Who.of(principal).as_dict(), updated_at=now)
    session.add(account)
    await session.flush()
    return account


async def get_visible(session: AsyncSession, principal: Principal, account_id: str, *,
                      for_update: bool = False) -> CreditAccount:
    account = await repository.get(session, account_id, for_update=for_update)
    if account is None:
        raise NotFound("credit account not found")
    ensure_visible(principal, account.store_id, "credit account")
    return account


async def update(session: AsyncSession, clock: Clock, account: CreditAccount,
                 data: CreditAccountUpdate) -> CreditAccount:
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None and name != "note":
            raise ValidationFailed(name, "may not be cleared")
        setattr(account, name, value)
    account.updated_at = clock.now()
    account.version += 1
    session.add(account)
    return account


async def public(session: AsyncSession, account: CreditAccount) -> CreditAccountPublic:
    payer_id = ledger.customer_payer_id(account.phone)
    balance = await receivables.open_fen(session, account.store_id, CUSTOMER, payer_id)
    return CreditAccountPublic(
        id=account.id, store_id=account.store_id, customer_name=account.customer_name, phone=account.phone,
        payer_id=payer_id, credit_limit_fen=account.credit_limit_fen, payment_terms_days=account.payment_terms_days,
        active=account.active, note=account.note, balance_fen=balance,
        credit_available_fen=account.credit_limit_fen - balance, credit_stop=balance >= account.credit_limit_fen,
        created_at=account.created_at, created_by=account.created_by, updated_at=account.updated_at,
        version=account.version)


async def list_accounts(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                        store_id: str | None, phone: str | None) -> CreditAccountList:
    rows, next_cursor = await repository.page(session, store_id=listed_store(principal, store_id),
                                              phone=digits(phone) if phone else None, limit=limit, cursor=cursor)
    return CreditAccountList(items=[await public(session, r) for r in rows], next_cursor=next_cursor)


# ---- one order on credit ----------------------------------------------------------------------

async def allow(session: AsyncSession, clock: Clock, principal: Principal, order: RepairOrder,
                data: CreditAllowanceCreate) -> RepairOrder:
    """The service manager lets this order's customer pay later (account or not, past its limit)."""
    if principal.role not in MANAGERS:
        raise Forbidden(f"只有服务经理或店长可以批准赊账。 Only the service manager or the store manager lets an "
                        f"order go on credit; role {principal.role} may not.")
    if order.status in FINISHED:
        raise Conflict(f"the order is {order.status}", current_state=order.status)
    if await fleets.order(session, order.id) is not None:
        raise Conflict("车队工单记账结算，不走个人赊账。 A fleet's order settles on account, not on a customer's "
                       "credit.", current_state=order.status)
    now = clock.now()
    who = Who.of(principal)
    allowance = await repository.allowance(session, order.id)
    if allowance is None:
        allowance = CreditAllowance(repair_order_id=order.id, store_id=order.store_id,
                                    payment_terms_days=data.payment_terms_days, reason=data.reason,
                                    allowed_by=who.as_dict(), allowed_at=now)
    else:
        allowance.payment_terms_days, allowance.reason = data.payment_terms_days, data.reason
        allowance.allowed_by, allowance.allowed_at = who.as_dict(), now
    session.add(allowance)
    record_change(session, aggregate="repair_order", aggregate_id=order.id, store_id=order.store_id,
                  action="credit_allowance", from_status=order.status, to_status=order.status, by=who, at=now,
                  detail={"reason": data.reason, "payment_terms_days": data.payment_terms_days})
    order.version += 1
    session.add(order)
    return order


async def allowance_view(session: AsyncSession, order: RepairOrder) -> CreditAllowancePublic | None:
    allowance = await repository.allowance(session, order.id)
    if allowance is None:
        return None
    return CreditAllowancePublic(payment_terms_days=allowance.payment_terms_days, reason=allowance.reason,
                                 allowed_by=allowance.allowed_by, allowed_at=allowance.allowed_at)


async def settled(session: AsyncSession, order: RepairOrder, on_credit_fen: int, invoice_no: str,
                  now: datetime) -> None:
    """At settlement: what is paid `on_credit` is owed by the order's customer."""
    if not on_credit_fen:
        return
    if await fleets.order(session, order.id) is not None:
        raise ValidationFailed("payments", "车队工单请用记账（on_account）。 A fleet's order settles on_account.")
    allowance = await repository.allowance(session, order.id)
    phone = digits(str(order.customer.get("phone") or ""))
    # Locked: two orders of one customer settled at once must not both fit in the last of the credit.
    account = await repository.by_phone(session, order.store_id, phone, for_update=True) if phone else None
    if allowance is not None:
        terms = allowance.payment_terms_days
    elif account is None or not account.active:
        raise ValidationFailed("payments", "该客户没有赊账额度，须服务经理批准本单赊账。 The customer has no "
                                           "credit account; the service manager's allowance (POST "
                                           ".../credit-allowance) lets this order go on credit.")
    else:
        terms = account.payment_terms_days
        balance = await receivables.open_fen(session, order.store_id, CUSTOMER, ledger.customer_payer_id(phone))
        stop = fleet_policy.credit_stop(balance, on_credit_fen, account.credit_limit_fen)
        if stop is not None:
            raise Conflict(
                f"客户赊账额度不足：欠款 {stop.balance_fen / 100:.2f} 元加本单 {stop.amount_fen / 100:.2f} 元"
                f"将超过额度 {stop.credit_limit_fen / 100:.2f} 元，须服务经理批准。 "
                f"Customer credit stop: the balance of {stop.balance_fen} fen with this order's {stop.amount_fen} fen "
                f"would pass the credit limit of {stop.credit_limit_fen} fen; the service manager's allowance "
                "(POST .../credit-allowance) is needed.",
                current_state=order.status, rule=CREDIT_STOP_RULE, balance_fen=stop.balance_fen,
                amount_fen=stop.amount_fen, credit_limit_fen=stop.credit_limit_fen)
    issued_on = now.astimezone(store_zone(await store_of(session, order.store_id))).date()
    name = account.customer_name if account is not None else str(order.customer.get("name") or phone)
    await ledger.owed(session, store_id=order.store_id, payer_kind=CUSTOMER, payer_id=ledger.customer_payer_id(phone),
                      payer_name=name[:200], payer_phone=phone[:20] or None, source_kind=ledger.REPAIR_ORDER,
                      source_id=order.id, reference=invoice_no, amount_fen=on_credit_fen, issued_on=issued_on,
                      due_on=issued_on + timedelta(days=terms), now=now)
