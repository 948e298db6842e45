"""Fleet accounts: the company, its contract, vehicles and contacts; and the fleet's side of
its cars' repair orders.

An order checked in for a VIN on a fleet's list is the fleet's, under the contract as it
stands then: its customer-pay labour and part lines are priced at the contract's discounts
(each line rounded to the fen once). Above the contract's approval limit the order's
approval waits for the fleet's (an approving contact through a link token, or recorded by
API naming that contact); an order that grows past what was approved waits again. While the
fleet's balance with the order would pass its credit limit, work and settling on account
wait for the service manager's override. Settling with `on_account` adds the amount to the
fleet's balance; every settled order is on the month's statement. Uptime counts each car's
store-local days off the road, check-in day to handover day, over a range of days."""
import csv
import hashlib
import io
import secrets
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.common.identity import ANONYMOUS_ROLE, Principal
from services.common.ids import new_id
from services.common.permissions import allowed
from services.common.stores import ensure_visible, store_zone
from services.reception.fleets import policy, repository
from services.reception.fleets.models import Fleet, FleetOrder, FleetVehicle
from services.reception.fleets.schemas import (
    ContactIn,
    ContactPublic,
    ContractPublic,
    CreditOverride,
    DriverPublic,
    FleetApproval,
    FleetApprovalLink,
    FleetCreate,
    FleetList,
    FleetOrderPublic,
    FleetPublic,
    FleetSummary,
    FleetUpdate,
    FleetUptime,
    FleetVehicleIn,
    FleetVehiclePublic,
    Statement,
    StatementLine,
    StatementTotals,
    UptimeTotals,
    VehicleUptime,
)
from services.reception.receivables import ledger
from services.reception.repair_orders.models import RepairOrder, RepairOrderLine
from services.reception.shared.service import Who, fen, listed_store, record_change, store_for_new_business, store_of

MANAGERS = ("service_manager", "store_manager", "hq_admin")
APPROVAL_STATES = ("awaiting_approval", "approved", "in_progress")
ORDER = "repair_order"


# ---- the account --------------------------------------------------------------------------

async def create(session: AsyncSession, clock: Clock, principal: Principal, data: FleetCreate) -> Fleet:
    store = await store_for_new_business(session, principal, data.store_id)
    now = clock.now()
    fleet = Fleet(
        id=new_id(), store_id=store.id, name=data.name, **data.contract.model_dump(),
        contacts=_contacts(data.contacts, []), created_at=now, created_by=Who.of(principal).as_dict(), updated_at=now,
    )
    session.add(fleet)
    await session.flush()
    for i, vehicle in enumerate(data.vehicles):
        await _add_vehicle(session, fleet, vehicle, now, field=f"vehicles[{i}].vin")
    return fleet


def _contacts(given: list[ContactIn], current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    known = {c["id"] for c in current}
    contacts = []
    for i, contact in enumerate(given):
        if contact.id is not None and contact.id not in known:
            raise ValidationFailed(f"contacts[{i}].id", "no such contact on this fleet; leave id out for a new one")
        contacts.append({**contact.model_dump(mode="json"), "id": contact.id or new_id()})
    return contacts


async def get_visible(session: AsyncSession, principal: Principal, fleet_id: str, *,
                      for_update: bool = False) -> Fleet:
    fleet = await repository.get(session, fleet_id, for_update=for_update)
    if fleet is None:
        raise NotFound("fleet not found")
    ensure_visible(principal, fleet.store_id, "fleet")
    return fleet


async def update(session: AsyncSession, clock: Clock, fleet: Fleet, data: FleetUpdate) -> Fleet:
    """A contract change applies to orders checked in from now on; open orders keep theirs."""
    if data.name is not None:
        fleet.name = data.name
    if data.contract is not None:
        for name, value in data.contract.model_dump().items():
            setattr(fleet, name, value)
    if data.contacts is not None:
        fleet.contacts = _contacts(data.contacts, fleet.contacts)
    _touched(session, clock, fleet)
    return fleet


def _touched(session: AsyncSession, clock: Clock, fleet: Fleet) -> None:
    fleet.updated_at = clock.now()
    fleet.version += 1
    session.add(fleet)


async def add_vehicle(session: AsyncSession, clock: Clock, fleet: Fleet, data: FleetVehicleIn) -> Fleet:
    await _add_vehicle(session, fleet, data, clock.now(), field="vin")
    _touched(session, clock, fleet)
    return fleet


async def _add_vehicle(session: AsyncSession, fleet: Fleet, data: FleetVehicleIn, now: datetime, *,
                       field: str) -> None:
    held = await repository.vehicle_in_store(session, fleet.store_id, data.vin)
    if held is not None:
        whose = "this fleet" if held.fleet_id == fleet.id else "another fleet of this store"
        raise Conflict(f"车辆 {data.vin} 已在{'本车队' if held.fleet_id == fleet.id else '本店另一车队'}。 "
                       f"The car {data.vin} is on {whose} already.", field=field, vin=data.vin, fleet_id=held.fleet_id)
    session.add(FleetVehicle(
        id=new_id(), fleet_id=fleet.id, store_id=fleet.store_id, vin=data.vin, plate=data.plate,
        driver_name=data.driver.name if data.driver else None, driver_phone=data.driver.phone if data.driver else None,
        added_at=now,
    ))
    # Flushed now, so a second VIN of one request meets the first in the query above.
    await session.flush()


async def remove_vehicle(session: AsyncSession, clock: Clock, fleet: Fleet, vin: str) -> Fleet:
    """Off the contract for orders checked in from now on; its open orders stay the fleet's."""
    vehicle = next((v for v in await repository.vehicles(session, fleet.id) if v.vin == vin.upper()), None)
    if vehicle is None:
        raise NotFound("this car is not on the fleet's list")
    await repository.delete_vehicle(session, vehicle)
    _touched(session, clock, fleet)
    return fleet


def summary(fleet: Fleet) -> FleetSummary:
    return FleetSummary(
        id=fleet.id, store_id=fleet.store_id, name=fleet.name,
        contract=ContractPublic(**{name: getattr(fleet, name) for name in ContractPublic.model_fields}),
        balance_fen=fleet.balance_fen, credit_available_fen=fleet.credit_limit_fen - fleet.balance_fen,
        credit_stop=fleet.balance_fen >= fleet.credit_limit_fen,
        created_at=fleet.created_at, updated_at=fleet.updated_at, version=fleet.version,
    )


async def public(session: AsyncSession, fleet: Fleet) -> FleetPublic:
    return FleetPublic(
        **summary(fleet).model_dump(), created_by=fleet.created_by,
        contacts=[ContactPublic(**c) for c in fleet.contacts],
        vehicles=[FleetVehiclePublic(vin=v.vin, plate=v.plate, added_at=v.added_at,
                                     driver=DriverPublic(name=v.driver_name, phone=v.driver_phone)
                                     if v.driver_name else None)
                  for v in await repository.vehicles(session, fleet.id)],
    )


async def list_fleets(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                      store_id: str | None) -> FleetList:
    rows, next_cursor = await repository.page(session, store_id=listed_store(principal, store_id), limit=limit,
                                              cursor=cursor)
    return FleetList(items=[summary(r) for r in rows], next_cursor=next_cursor)


# ---- the fleet's side of a repair order (called by repair_orders.service) ---------------------------

async def attach(session: AsyncSession, order: RepairOrder) -> FleetOrder | None:
    """At check-in: a car on a fleet's list in this store makes the order the fleet's."""
    vehicle = await repository.vehicle_in_store(session, order.store_id, order.vin)
    if vehicle is None:
        return None
    fleet = await repository.get(session, vehicle.fleet_id)
    assert fleet is not None  # a vehicle row refers to its fleet
    fleet_order = FleetOrder(
        repair_order_id=order.id, fleet_id=fleet.id, store_id=order.store_id,
        labour_discount_percent=fleet.labour_discount_percent, parts_discount_percent=fleet.parts_discount_percent,
        approval_limit_fen=fleet.approval_limit_fen,
    )
    session.add(fleet_order)
    return fleet_order


async def contract_priced(session: AsyncSession, order: RepairOrder, priced: list[dict[str, Any]]) -> list[dict]:
    """The lines at the fleet's contract price, when the order is a fleet's."""
    fleet_order = await repository.order(session, order.id)
    if fleet_order is None:
        return priced
    lines = []
    for values in priced:
        percent = policy.discount_percent(values["kind"], values["pay_type"], fleet_order.labour_discount_percent,
                                          fleet_order.parts_discount_percent)
        if percent:
            values = {**values, "discount_percent": percent,
                      "amount_fen": policy.contract_amount(values["quantity"], values["unit_price_fen"], percent)}
        lines.append(values)
    return lines


def _cny(amount_fen: int) -> str:
    return f"{Decimal(amount_fen) / 100:,.2f}"


def _due(order: RepairOrder) -> int:
    return int(order.totals["customer_due_fen"])


async def before_work(session: AsyncSession, order: RepairOrder) -> None:
    """Before the customer's yes lets work start (or a supplement go ahead): the fleet's
    approval above its limit, and its credit."""
    fleet_order = await repository.order(session, order.id)
    if fleet_order is None:
        return
    due = _due(order)
    if policy.approval_needed(due, fleet_order.approval_limit_fen, fleet_order.approved_fen):
        grown = fleet_order.approved_fen is not None
        approved = f"（已批 {_cny(fleet_order.approved_fen or 0)} 元）" if grown else ""
        raise Conflict(
            f"车队工单：应付 {_cny(due)} 元超过车队审批限额 {_cny(fleet_order.approval_limit_fen)} 元{approved}，"
            "须车队经理批准后方可开工。 "
            f"Fleet order: the fleet owes {due} fen, above its approval limit of {fleet_order.approval_limit_fen} "
            f"fen{f' and past the {fleet_order.approved_fen} fen it approved' if grown else ''}; the fleet's manager "
            "approves it (POST .../fleet-approval) before work starts.",
            current_state=order.status, rule=policy.APPROVAL_RULE, amount_fen=due,
            approval_limit_fen=fleet_order.approval_limit_fen, approved_fen=fleet_order.approved_fen,
        )
    if fleet_order.credit_override is None:
        fleet = await repository.get(session, fleet_order.fleet_id)
        assert fleet is not None
        stop = policy.credit_stop(fleet.balance_fen, due, fleet.credit_limit_fen)
        if stop is not None:
            raise _credit_stopped(order, stop)


def _credit_stopped(order: RepairOrder, stop: policy.CreditStop) -> Conflict:
    return Conflict(
        f"车队信用停止：欠款 {_cny(stop.balance_fen)} 元加本单 {_cny(stop.amount_fen)} 元将超过信用额度 "
        f"{_cny(stop.credit_limit_fen)} 元，须服务经理特批。 Fleet credit stop: the balance of {stop.balance_fen} fen "
        f"with this order's {stop.amount_fen} fen would pass the credit limit of {stop.credit_limit_fen} fen; the "
        "service manager's override (POST .../credit-override) is needed.",
        current_state=order.status, rule=policy.CREDIT_STOP_RULE, balance_fen=stop.balance_fen,
        amount_fen=stop.amount_fen, credit_limit_fen=stop.credit_limit_fen,
    )


async def settled(session: AsyncSession, order: RepairOrder, lines: Iterable[RepairOrderLine],
                  on_account_fen: int, invoice_no: str, now: datetime) -> None:
    """At settlement: what is paid `on_account` goes onto the fleet's balance (a fleet's
    order only, within its credit unless overridden); the order goes on the month's statement."""
    fleet_order = await repository.order(session, order.id)
    if fleet_order is None:
        if on_account_fen:
            raise ValidationFailed("payments", "记账只限车队工单。 Only a fleet's order settles on account.")
        return
    # Locked: two orders of one fleet settled at once must not both fit in the last of its credit.
    fleet = await repository.get(session, fleet_order.fleet_id, for_update=True)
    assert fleet is not None
    if on_account_fen and fleet_order.credit_override is None:
        stop = policy.credit_stop(fleet.balance_fen, on_account_fen, fleet.credit_limit_fen)
        if stop is not None:
            raise _credit_stopped(order, stop)
    fleet.balance_fen += on_account_fen
    session.add(fleet)
    fleet_order.on_account_fen = on_account_fen
    fleet_order.settled_at = now
    fleet_order.charges = _charges(order, lines, on_account_fen, invoice_no)
    session.add(fleet_order)
    if on_account_fen:
        issued_on = now.astimezone(store_zone(await store_of(session, order.store_id))).date()
        await ledger.owed(session, store_id=order.store_id, payer_kind="fleet", payer_id=fleet.id,
                          payer_name=fleet.name, source_kind=ORDER, source_id=order.id, reference=invoice_no,
                          amount_fen=on_account_fen,
                          issued_on=issued_on, due_on=ledger.due_after_month_end(issued_on, fleet.payment_terms_days),
                          now=now)


async def paid_on_account(session: AsyncSession, fleet_id: str, amount_fen: int) -> Fleet:
    """Money received from the fleet (matched in receivables) comes off its balance."""
    fleet = await repository.get(session, fleet_id, for_update=True)
    if fleet is None:
        raise ValidationFailed("payer_id", "没有这个车队。 No such fleet.")
    # Like a settlement's charge, not an edit of the account: the version stays.
    fleet.balance_fen -= amount_fen
    session.add(fleet)
    return fleet


def _charges(order: RepairOrder, lines: Iterable[RepairOrderLine], on_account_fen: int,
             invoice_no: str) -> dict[str, Any]:
    by_kind = {"labor": 0, "part": 0, "other": 0}
    list_fen = 0
    for line in lines:
        if line.pay_type != "customer":
            continue
        by_kind[line.kind if line.kind in by_kind else "other"] += line.amount_fen
        list_fen += fen(line.quantity * line.unit_price_fen)
    due = _due(order)
    return {
        "invoice_no": invoice_no, "list_fen": list_fen,
        "discount_fen": list_fen - sum(by_kind.values()), "labour_fen": by_kind["labor"], "parts_fen": by_kind["part"],
        "other_fen": by_kind["other"], "tax_fen": int(order.totals["tax_fen"]), "customer_due_fen": due,
        "on_account_fen": on_account_fen, "paid_fen": due - on_account_fen,
    }


async def order_view(session: AsyncSession, order: RepairOrder) -> FleetOrderPublic | None:
    fleet_order = await repository.order(session, order.id)
    if fleet_order is None:
        return None
    fleet = await repository.get(session, fleet_order.fleet_id)
    assert fleet is not None
    waits = order.status in APPROVAL_STATES and policy.approval_needed(
        _due(order), fleet_order.approval_limit_fen, fleet_order.approved_fen)
    return FleetOrderPublic(
        fleet_id=fleet.id, name=fleet.name, labour_discount_percent=fleet_order.labour_discount_percent,
        parts_discount_percent=fleet_order.parts_discount_percent, approval_limit_fen=fleet_order.approval_limit_fen,
        approval_needed=waits, approved_fen=fleet_order.approved_fen, approved_by=fleet_order.approved_by,
        approved_at=fleet_order.approved_at, credit_override=fleet_order.credit_override,
        on_account_fen=fleet_order.on_account_fen, settled_at=fleet_order.settled_at,
    )


# ---- the fleet's approval and the manager's override ------------------------------------------

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _fleet_order_of(session: AsyncSession, order: RepairOrder) -> tuple[FleetOrder, Fleet]:
    fleet_order = await repository.order(session, order.id)
    if fleet_order is None:
        raise Conflict("这不是车队工单。 This order is not a fleet's.", current_state=order.status)
    fleet = await repository.get(session, fleet_order.fleet_id)
    assert fleet is not None
    return fleet_order, fleet


def _approving_contact(fleet: Fleet, contact_id: str, field: str) -> dict[str, Any]:
    contact = next((c for c in fleet.contacts if c["id"] == contact_id), None)
    if contact is None:
        raise ValidationFailed(field, "no such contact on the order's fleet")
    if not contact.get("approves"):
        raise ValidationFailed(field, f"{contact['name']} does not approve orders for the fleet")
    return contact


async def approval_link(session: AsyncSession, clock: Clock, order: RepairOrder,
                        contact_id: str) -> FleetApprovalLink:
    """A token for the contact's approval link, shown once; a new link replaces the last."""
    fleet_order, fleet = await _fleet_order_of(session, order)
    if order.status not in APPROVAL_STATES:
        raise Conflict(f"the order is {order.status}: there is nothing for the fleet to approve",
                       current_state=order.status)
    contact = _approving_contact(fleet, contact_id, "contact_id")
    token = secrets.token_urlsafe(32)
    now = clock.now()
    fleet_order.link_token_hash = _hash(token)
    fleet_order.link_contact_id = contact["id"]
    fleet_order.link_expires_at = now + policy.LINK_VALID
    session.add(fleet_order)
    return FleetApprovalLink(token=token, contact=ContactPublic(**contact), expires_at=fleet_order.link_expires_at,
                             amount_fen=_due(order))


async def order_for_link(session: AsyncSession, clock: Clock, repair_order_id: str, token: str) -> RepairOrder:
    """The order a link token is for, locked for the change; anything else is 404, so a
    guess learns nothing. The link stands in for the store's scoping: it names one order."""
    fleet_order = await repository.order_by_link(session, _hash(token))
    if (fleet_order is None or fleet_order.repair_order_id != repair_order_id
            or fleet_order.link_expires_at is None or fleet_order.link_expires_at <= clock.now()):
        raise NotFound("repair order not found")
    order = await repository.repair_order(session, repair_order_id, for_update=True)
    assert order is not None  # a fleet order refers to its repair order
    return order


def may_record_approval(principal: Principal) -> None:
    """By API the caller is one of reception's writers; anyone else comes with a link."""
    if principal.role == ANONYMOUS_ROLE or not allowed("reception", principal.role, "POST"):
        raise Forbidden(f"role {principal.role} may not do this")


async def approve(session: AsyncSession, clock: Clock, principal: Principal, order: RepairOrder,
                  data: FleetApproval) -> RepairOrder:
    """The fleet's yes to the order as it stands (what the fleet owes now)."""
    fleet_order, fleet = await _fleet_order_of(session, order)
    if order.status not in APPROVAL_STATES:
        raise Conflict(f"the order is {order.status}: there is nothing for the fleet to approve",
                       current_state=order.status)
    if data.token is not None:
        if fleet_order.link_token_hash != _hash(data.token) or (
                fleet_order.link_expires_at is None or fleet_order.link_expires_at <= clock.now()):
            raise ValidationFailed("token", "the link is not this order's, or it has expired")
        assert fleet_order.link_contact_id is not None
        contact = _approving_contact(fleet, fleet_order.link_contact_id, "token")
        channel = "link"
    elif data.contact_id is not None:
        contact = _approving_contact(fleet, data.contact_id, "contact_id")
        channel = "api"
    else:
        raise ValidationFailed("contact_id", "name the fleet's approving contact, or give the link's token")
    now = clock.now()
    due = _due(order)
    approved_by = {"contact_id": contact["id"], "name": contact["name"], "channel": channel}
    if principal.role != ANONYMOUS_ROLE:
        approved_by["recorded_by"] = Who.of(principal).as_dict()
    fleet_order.approved_fen, fleet_order.approved_by, fleet_order.approved_at = due, approved_by, now
    # A link approves once.
    fleet_order.link_token_hash = fleet_order.link_contact_id = fleet_order.link_expires_at = None
    session.add(fleet_order)
    who = Who.of(principal) if principal.role != ANONYMOUS_ROLE else Who(id=f"fleet-contact:{contact['id']}",
                                                                          name=contact["name"], role="fleet_contact")
    detail: dict[str, Any] = {"approved_fen": due, "contact": contact["name"], "channel": channel}
    if data.note:
        detail["note"] = data.note
    _order_changed(session, order, "fleet_approve", who, now, detail)
    return order


async def override_credit(session: AsyncSession, clock: Clock, principal: Principal, order: RepairOrder,
                          data: CreditOverride) -> RepairOrder:
    """The service manager lets this order's work and settlement on account go ahead past the
    fleet's credit stop."""
    if principal.role not in MANAGERS:
        raise Forbidden(f"只有服务经理或店长可以特批。 Only the service manager or the store manager overrides a "
                        f"fleet's credit stop; role {principal.role} may not.")
    fleet_order, _ = await _fleet_order_of(session, order)
    if order.status in ("settled", "delivered", "cancelled"):
        raise Conflict(f"the order is {order.status}", current_state=order.status)
    now = clock.now()
    who = Who.of(principal)
    fleet_order.credit_override = {"by": who.as_dict(), "at": now.isoformat(), "reason": data.reason}
    session.add(fleet_order)
    _order_changed(session, order, "credit_override", who, now, {"reason": data.reason})
    return order


def _order_changed(session: AsyncSession, order: RepairOrder, action: str, who: Who, at: datetime,
                   detail: dict[str, Any]) -> None:
    record_change(session, aggregate=ORDER, aggregate_id=order.id, store_id=order.store_id, action=action,
                  from_status=order.status, to_status=order.status, by=who, at=at, detail=detail)
    order.version += 1
    session.add(order)


# ---- the monthly statement ------------------------------------------------------------------------

async def statement(session: AsyncSession, principal: Principal, fleet_id: str, month: str) -> Statement:
    year, number = int(month[:4]), int(month[5:7])
    if not (2000 <= year <= 2100 and 1 <= number <= 12):
        raise ValidationFailed("statement_month", "a month YYYY-MM, 2000-01 to 2100-12")
    fleet = await get_visible(session, principal, fleet_id)
    store = await store_of(session, fleet.store_id)
    period = policy.month_period(year, number, store_zone(store))
    lines = []
    for fleet_order, order in await repository.settled_between(session, fleet.id, period.starts_at, period.ends_at):
        charges = fleet_order.charges or {}
        assert fleet_order.settled_at is not None
        lines.append(StatementLine(
            repair_order_id=order.id, number=order.number, vin=order.vin, plate=order.vehicle.get("plate"),
            opened_at=order.opened_at, settled_at=fleet_order.settled_at,
            **{name: charges[name] for name in ("invoice_no", "list_fen", "discount_fen", "labour_fen", "parts_fen",
                                                 "other_fen", "tax_fen", "customer_due_fen", "on_account_fen",
                                                 "paid_fen")},
        ))
    return Statement(
        fleet_id=fleet.id, fleet_name=fleet.name, store_id=fleet.store_id, month=month,
        first_day=period.first_day, last_day=period.last_day, payment_terms_days=fleet.payment_terms_days,
        due_on=period.due_on(fleet.payment_terms_days), orders=lines,
        totals=StatementTotals(
            orders=len(lines), discount_fen=sum(line.discount_fen for line in lines),
            customer_due_fen=sum(line.customer_due_fen for line in lines),
            on_account_fen=sum(line.on_account_fen for line in lines), paid_fen=sum(line.paid_fen for line in lines),
        ),
        balance_fen=fleet.balance_fen,
    )


CSV_COLUMNS = ("number", "vin", "plate", "opened_at", "settled_at", "invoice_no", "list_fen", "discount_fen",
               "labour_fen", "parts_fen", "other_fen", "tax_fen", "customer_due_fen", "on_account_fen", "paid_fen")
CSV_HEADINGS = ("工单号 order", "VIN", "车牌 plate", "开单 opened (UTC)", "结算 settled (UTC)", "发票 invoice",
                "原价 list (fen)", "折扣 discount (fen)", "工时 labour (fen)", "配件 parts (fen)", "其他 other (fen)",
                "税额 tax (fen)", "应付 due (fen)", "记账 on account (fen)", "已付 paid (fen)")


def to_csv(statement: Statement) -> str:
    """One row per order, then the month's totals; Chinese first with English beside it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADINGS)
    for line in statement.orders:
        row = line.model_dump(mode="json")
        writer.writerow([row[name] if row[name] is not None else "" for name in CSV_COLUMNS])
    t = statement.totals
    writer.writerow(["合计 total", f"{t.orders} orders", "", "", "", "", "", t.discount_fen, "", "", "", "",
                     t.customer_due_fen, t.on_account_fen, t.paid_fen])
    return out.getvalue()



# ---- uptime -----------------------------------------------------------------------------------------

async def uptime(session: AsyncSession, clock: Clock, principal: Principal, fleet_id: str, first: date,
                 last: date) -> FleetUptime:
    """Each car's days off the road in [first, last] (the store's days) and the fleet's availability."""
    if last < first:
        raise ValidationFailed("to", "不得早于开始日。 `to` is on or after `from`.")
    days = (last - first).days + 1
    if days > policy.MAX_UPTIME_DAYS:
        raise ValidationFailed("to", f"最长 {policy.MAX_UPTIME_DAYS} 天。 At most {policy.MAX_UPTIME_DAYS} days.")
    fleet = await get_visible(session, principal, fleet_id)
    zone = store_zone(await store_of(session, fleet.store_id))
    today = clock.now().astimezone(zone).date()
    if last > today:
        raise ValidationFailed("to", "不得晚于今天（本店日历）。 "
                                     "Uptime is measured up to today in the store's calendar.")
    starts = datetime.combine(first, time(0), tzinfo=zone)
    ends = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    plates: dict[str, str | None] = {v.vin: v.plate for v in await repository.vehicles(session, fleet.id)}
    stays: dict[str, list[tuple[date, date]]] = defaultdict(list)
    numbers: dict[str, list[str]] = defaultdict(list)
    for order in await repository.orders_at_store_between(session, fleet.id, starts, ends):
        left = order.delivered_at or order.cancelled_at
        # A car not yet handed over is still off the road today.
        stays[order.vin].append((order.opened_at.astimezone(zone).date(),
                                 left.astimezone(zone).date() if left else today))
        numbers[order.vin].append(order.number)
        plates.setdefault(order.vin, order.vehicle.get("plate"))
    vehicles = []
    for vin, plate in plates.items():
        off = len(policy.days_off_road(stays[vin], first, last))
        percent = policy.availability_percent(days, off)
        assert percent is not None  # a range has at least one day
        vehicles.append(VehicleUptime(vin=vin, plate=plate, days_off_road=off, days_on_road=days - off,
                                      availability_percent=percent, orders=numbers[vin]))
    vehicles.sort(key=lambda v: (-v.days_off_road, v.vin))
    off_total = sum(v.days_off_road for v in vehicles)
    return FleetUptime(
        fleet_id=fleet.id, fleet_name=fleet.name, store_id=fleet.store_id, first_day=first, last_day=last, days=days,
        vehicles=vehicles,
        totals=UptimeTotals(vehicles=len(vehicles), vehicle_days=days * len(vehicles), days_off_road=off_total,
                            availability_percent=policy.availability_percent(days * len(vehicles), off_total)))
