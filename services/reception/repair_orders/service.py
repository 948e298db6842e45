"""Repair orders, from check-in to handover.

open → awaiting_approval → approved → in_progress → ready → settled → delivered, and
cancelled from open, awaiting_approval or approved. in_progress and ready come from the
workshop's events. Lines added after approval are supplements: each batch needs the
customer's own approval and is the only thing the next `repair_order.approved` carries;
each supplement line added announces the round as it stands (`repair_order.extra_work_proposed`).
Money is integer fen, quantities Decimal; every amount is rounded once, half up.
The brand pays `warranty`, `first_maintenance` and `campaign` lines: none is in what the
customer owes. A campaign's work (its operation at the brand's flat hours and its parts)
goes on in one action, for a campaign open for the car, once per order."""
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.consumer import PoisonEvent
from services.common.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.reception import (
    RepairOrderApproved,
    RepairOrderCancelled,
    RepairOrderDelivered,
    RepairOrderExtraWorkProposed,
    RepairOrderOpened,
    RepairOrderPromiseMoved,
    RepairOrderSettled,
)
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.inputs import MAX_HOURS, MAX_LINE_FEN
from services.common.logging import get_logger
from services.common.outbox import emit
from services.common.policy_copies import Catalogue, first_catalogue
from services.common.stores import ensure_visible, store_zone
from services.common.tables import KnownStore
from services.reception.accessories import service as accessory_catalogue
from services.reception.appointments import repository as appointments
from services.reception.appointments import service as appointment_service
from services.reception.appointments.models import Appointment
from services.reception.credit import service as credit
from services.reception.fleets import repository as fleet_orders
from services.reception.fleets import service as fleets
from services.reception.insurance import service as insurance
from services.reception.policy_copies import service as policy_copies
from services.reception.receivables import ledger
from services.reception.receivables.models import Receivable
from services.reception.receivables.schemas import OrderReceivable
from services.reception.repair_orders import policy, repository
from services.reception.repair_orders.models import Approval, Invoice, RepairOrder, RepairOrderLine
from services.reception.repair_orders.schemas import (
    BRAND_PAY_TYPES,
    PAY_TYPES,
    Approve,
    CampaignLinesCreate,
    CheckIn,
    Deliver,
    Estimate,
    Inspection,
    Insurance,
    LineCreate,
    MovePromise,
    OrderPayment,
    RepairOrderList,
    RepairOrderPublic,
    RepairOrderStatus,
    RepairOrderSummary,
    SignOff,
)
from services.reception.settings import ReceptionSettings
from services.reception.shared import repository as counters
from services.reception.shared.service import (
    WORKSHOP,
    Who,
    fen,
    history,
    listed_store,
    not_in_future,
    record_change,
    store_for_new_business,
    store_of,
)
from services.reception.stores import service as store_settings
from services.reception.vehicle_notices import service as vehicle_notices

AGGREGATE = "repair_order"
LINES_OPEN = ("open", "awaiting_approval", "approved", "in_progress")
SUPPLEMENT_STATES = ("approved", "in_progress")
CANCELLABLE = ("open", "awaiting_approval", "approved")
# The promise can be moved while the car is still being worked on; once it is ready the
# promise was kept or missed, and moving it then would only rewrite the record.
PROMISE_MOVABLE = ("approved", "in_progress")
SIGN_OFF_STATES = ("awaiting_approval", "approved", "in_progress")
MANAGERS = ("service_manager", "store_manager")
FINISHED = ("settled", "delivered", "cancelled")
log = get_logger(__name__)


# ---- check-in -------------------------------------------------------------------------

async def check_in(session: AsyncSession, clock: Clock, principal: Principal, data: CheckIn) -> RepairOrder:
    store = await store_for_new_business(session, principal, data.store_id)
    appointment: Appointment | None = None
    if data.appointment_id:
        appointment = await appointments.get(session, data.appointment_id, for_update=True)
        if appointment is None or appointment.store_id != store.id:
            raise ValidationFailed("appointment_id", "no such appointment in this store")
        if appointment.status != "booked":
            raise InvalidTransition(appointment.status, "check in", appointment_id=appointment.id)
        customer = data.customer.model_dump(mode="json") if data.customer else dict(appointment.customer)
        vehicle = dict(appointment.vehicle)
        if data.vehicle is not None:
            if data.vehicle.vin != appointment.vin:
                raise ValidationFailed("vehicle.vin", f"the appointment is for {appointment.vin}")
            vehicle.update(data.vehicle.model_dump(mode="json", exclude_none=True))
    else:
        if data.customer is None:
            raise ValidationFailed("customer", "a walk-in needs the customer (or give appointment_id)")
        if data.vehicle is None:
            raise ValidationFailed("vehicle", "a walk-in needs the vehicle (or give appointment_id)")
        customer, vehicle = data.customer.model_dump(mode="json"), data.vehicle.model_dump(mode="json")
    return await open_order(
        session, clock, store, Who.of(principal), customer=customer, vehicle=vehicle, mileage_km=data.mileage_km,
        correction_reason=data.mileage_correction_reason, complaint=data.complaint,
        inspection=data.inspection.model_dump(mode="json"),
        insurance=data.insurance.model_dump(mode="json") if data.insurance else None,
        appointment=appointment,
    )


async def open_order(session: AsyncSession, clock: Clock, store: KnownStore, who: Who, *, customer: dict, vehicle: dict,
                     mileage_km: int, correction_reason: str | None, complaint: str, inspection: dict | None,
                     insurance: dict | None, appointment: Appointment | None = None,
                     roadside_id: str | None = None) -> RepairOrder:
    """Open an order (check-in, or a roadside tow) with a number unique in the store."""
    now = clock.now()
    local_today = now.astimezone(store_zone(store))
    sold_at = vehicle.get("sold_at")
    not_in_future("vehicle.sold_at", datetime.fromisoformat(sold_at).date() if sold_at else None, local_today.date())
    await _check_mileage(session, store.id, vehicle["vin"], mileage_km, correction_reason)
    day = local_today.strftime("%Y%m%d")
    seq = await counters.next_value(session, f"ro:{store.id}:{day}")
    order = RepairOrder(
        id=new_id(), store_id=store.id, number=f"{store.code}-{day}-{seq:04d}", status="open",
        appointment_id=appointment.id if appointment else None, roadside_id=roadside_id, customer=customer,
        vehicle=vehicle, vin=vehicle["vin"], mileage_km=mileage_km, mileage_correction_reason=correction_reason,
        complaint=complaint, inspection=inspection, insurance=insurance, advisor=who.as_dict(), opened_at=now,
        totals=compute_totals([], Decimal("0")),
    )
    session.add(order)
    fleet_order = await fleets.attach(session, order)
    record_change(session, aggregate=AGGREGATE, aggregate_id=order.id, store_id=store.id,
                  action="tow_in" if roadside_id else "check_in", from_status=None, to_status="open", by=who, at=now,
                  detail={k: v for k, v in (("appointment_id", order.appointment_id), ("roadside_id", roadside_id))
                          if v})
    if appointment is not None:
        await appointment_service.check_in(session, appointment, order.id, who, now)
    await emit(session, RepairOrderOpened(
        **_ids(order), fleet_id=fleet_order.fleet_id if fleet_order else None, appointment_id=order.appointment_id,
        customer=customer, vehicle=vehicle, mileage_km=mileage_km,
        complaint=complaint, advisor=order.advisor, opened_at=now, insurance=insurance, roadside_id=roadside_id,
        inspection=inspection, mileage_correction_reason=correction_reason,
    ), subject=order.id, store_id=store.id, time=now)
    return order


async def _check_mileage(session: AsyncSession, store_id: str, vin: str, mileage_km: int, reason: str | None) -> None:
    last = await repository.last_seen(session, store_id, vin)
    if last is not None and mileage_km < last.mileage_km and not reason:
        raise ValidationFailed(
            "mileage_km",
            f"{mileage_km} km is lower than the {last.mileage_km} km this store recorded on {last.number}; "
            "give mileage_correction_reason if the odometer was replaced or that reading was wrong",
            last_mileage_km=last.mileage_km,
        )


# ---- reading ----------------------------------------------------------------------------

async def get_visible(session: AsyncSession, principal: Principal, repair_order_id: str, *,
                      for_update: bool = False) -> RepairOrder:
    order = await repository.get(session, repair_order_id, for_update=for_update)
    if order is None:
        raise NotFound("repair order not found")
    ensure_visible(principal, order.store_id, "repair order")
    return order


async def list_orders(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                      store_id: str | None = None, status: RepairOrderStatus | None = None, vin: str | None = None,
                      number: str | None = None, appointment_id: str | None = None) -> RepairOrderList:
    rows, next_cursor = await repository.page(
        session, store_id=listed_store(principal, store_id), limit=limit, cursor=cursor, status=status,
        vin=vin.upper() if vin else None, number=number, appointment_id=appointment_id,
    )
    return RepairOrderList(items=[summary(r) for r in rows], next_cursor=next_cursor)


def summary(order: RepairOrder) -> RepairOrderSummary:
    return RepairOrderSummary(**{name: getattr(order, name) for name in RepairOrderSummary.model_fields})


async def public(session: AsyncSession, order: RepairOrder, settings: ReceptionSettings | None = None,
                 clock: Clock | None = None) -> RepairOrderPublic:
    """The whole order; with `clock`, also what the advisor must know of the car today
    (open campaigns, 三包), shown at check-in and when the order is read."""
    lines = await repository.lines(session, order.id)
    invoice = await repository.invoice_of(session, order.id)
    waits = (settings is not None and order.status in SIGN_OFF_STATES
             and any(line.approval_id is None for line in lines)
             and await _sign_off_need(session, settings, order) is not None)
    return RepairOrderPublic(
        **summary(order).model_dump(),
        sign_off_needed=waits,
        lines=[_line_public(line) for line in lines],
        awaiting_supplement_approval=(any(line.approval_id is None for line in lines)
                                      and order.status in SUPPLEMENT_STATES),
        approvals=[a.model_dump() for a in await repository.approvals(session, order.id)],
        invoice=invoice.model_dump() if invoice else None,
        history=await history(session, AGGREGATE, order.id),
        fleet=await fleets.order_view(session, order),
        insurance_assessment=await insurance.view(session, order, lines),
        vehicle_notices=await vehicle_notices.notices(session, clock, order.vin) if clock is not None else None,
        credit_allowance=await credit.allowance_view(session, order),
        receivables=[_receivable_public(item) for item in await ledger.of_order(session, order.id)],
    )


def _receivable_public(item: Receivable) -> OrderReceivable:
    return OrderReceivable(receivable_id=item.id, payer_kind=item.payer_kind, payer_id=item.payer_id,
                           payer_name=item.payer_name, amount_fen=item.amount_fen, paid_fen=item.paid_fen,
                           open_fen=item.amount_fen - item.paid_fen, due_on=item.due_on)


def _line_public(line: RepairOrderLine) -> dict:
    return {**line.model_dump(), "approved": line.approval_id is not None}


# ---- lines ----------------------------------------------------------------------------

def price_line(data: LineCreate, settings: ReceptionSettings, store: KnownStore,
               insurance: dict | None, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """Catalogue defaults (the brand's versions in force on the order's opening day; none
    given: version 1) and the pay-type rules for one line."""
    catalogue = catalogue or first_catalogue()
    flat_rate: Decimal | None = None
    if data.accessory_code and data.kind != "accessory":
        raise ValidationFailed("accessory_code", f"a {data.kind} line has no accessory; add it as its own line")
    if data.kind == "labor":
        if not data.op_code:
            raise ValidationFailed("op_code", "a labour line needs an operation code")
        if data.part_no:
            raise ValidationFailed("part_no", "a labour line has no part; add the part as its own line")
        operation = catalogue.operations.get(data.op_code)
        flat_rate = catalogue.flat_rate_hours(data.op_code)
        if operation is None or flat_rate is None:
            raise ValidationFailed("op_code", f"unknown labour operation {data.op_code}")
        quantity = data.quantity if data.quantity is not None else flat_rate
        unit_price = data.unit_price_fen if data.unit_price_fen is not None else settings.labour_rate_for(store.code)
        description = data.description or operation["description"]
        covered, what = bool(operation["warranty_eligible"]), f"operation {data.op_code}"
        maintenance = operation["category"] == "maintenance"
    elif data.kind == "part":
        if not data.part_no:
            raise ValidationFailed("part_no", "a part line needs a part number")
        part = catalogue.parts.get(data.part_no)
        if part is None:
            raise ValidationFailed("part_no", f"unknown part {data.part_no}")
        if data.op_code and data.op_code not in catalogue.operations:
            raise ValidationFailed("op_code", f"unknown labour operation {data.op_code}")
        quantity = data.quantity if data.quantity is not None else Decimal(1)
        if quantity != quantity.to_integral_value():
            raise ValidationFailed("quantity", "parts are counted in whole units")
        unit_price = data.unit_price_fen if data.unit_price_fen is not None else int(part["list_price_fen"])
        description = data.description or part["name"]
        covered, what = bool(part["warranty_eligible"]), f"part {data.part_no}"
        maintenance = part["category"] == "maintenance"
    elif data.kind == "accessory":
        if data.op_code or data.part_no:
            raise ValidationFailed("op_code" if data.op_code else "part_no", "an accessory line has no catalogue "
                                   "part or operation; fitting labour is its own line")
        if not data.accessory_code:
            raise ValidationFailed("accessory_code", "an accessory line needs an accessory code")
        item = accessory_catalogue.require(data.accessory_code, "accessory_code")
        # An accessory is a sale to the customer: no brand, insurer or store pays for one.
        if data.pay_type != "customer":
            raise ValidationFailed("pay_type", "精品由客户付费 accessories are paid by the customer")
        quantity = data.quantity if data.quantity is not None else Decimal(1)
        if quantity != quantity.to_integral_value():
            raise ValidationFailed("quantity", "accessories are counted in whole units")
        unit_price = data.unit_price_fen if data.unit_price_fen is not None else int(item["price_fen"])
        description = data.description or f"{item['name_zh']} {item['name_en']}"
        covered, what, maintenance = False, f"accessory {data.accessory_code}", False
    else:
        if data.op_code or data.part_no:
            raise ValidationFailed("op_code" if data.op_code else "part_no",
                                   f"a {data.kind} line has no catalogue item")
        if not data.description:
            raise ValidationFailed("description", f"a {data.kind} line needs a description")
        if data.unit_price_fen is None:
            raise ValidationFailed("unit_price_fen", f"a {data.kind} line needs a price")
        quantity = data.quantity if data.quantity is not None else Decimal(1)
        unit_price, description = data.unit_price_fen, data.description
        covered, what, maintenance = False, f"a {data.kind} line", False
    if data.pay_type == "warranty" and not covered:
        raise ValidationFailed("pay_type", f"{what} is not covered by warranty")
    # Whether this is the car's first maintenance is the brand's check, when the store claims it.
    if data.pay_type == "first_maintenance" and not maintenance:
        raise ValidationFailed("pay_type", f"首保只含保养项目。 First maintenance pays maintenance operations and "
                                           f"parts only; {what} is not one")
    if data.pay_type == "campaign":
        raise ValidationFailed("pay_type", "活动项目请整体添加。 A campaign's work is added as a whole with POST "
                                           "/v1/repair-orders/{id}/campaign-lines {campaign_code}")
    if data.pay_type == "insurance" and not insurance:
        raise ValidationFailed("pay_type", "this order has no insurer and claim number; set its insurance first")
    if data.kind == "labor" and quantity > MAX_HOURS:
        raise ValidationFailed("quantity", f"a labour line is at most {MAX_HOURS} hours")
    amount = fen(quantity * unit_price)
    if amount > MAX_LINE_FEN:
        raise ValidationFailed("quantity" if data.unit_price_fen is None else "unit_price_fen",
                               f"a line comes to at most {MAX_LINE_FEN} fen; this one is {amount}")
    return dict(
        kind=data.kind, op_code=data.op_code, part_no=data.part_no, accessory_code=data.accessory_code,
        description=description,
        quantity=quantity, flat_rate_hours=flat_rate, unit_price_fen=unit_price,
        amount_fen=amount, pay_type=data.pay_type,
    )


async def add_line(session: AsyncSession, clock: Clock, settings: ReceptionSettings, principal: Principal,
                   order: RepairOrder, data: LineCreate) -> RepairOrderLine:
    if order.status not in LINES_OPEN:
        raise InvalidTransition(order.status, "add a line")
    store = await store_of(session, order.store_id)
    catalogue = await policy_copies.catalogue_on(session, policy_copies.opening_day(order.opened_at))
    priced = price_line(data, settings, store, order.insurance, catalogue)
    (line,) = await _append(session, clock, settings, principal, order,
                            await fleets.contract_priced(session, order, [priced]))
    return line


async def _append(session: AsyncSession, clock: Clock, settings: ReceptionSettings, principal: Principal,
                  order: RepairOrder, priced: list[dict[str, Any]]) -> list[RepairOrderLine]:
    """Priced lines onto the order, the totals once; after approval they are one round of supplements."""
    now, who = clock.now(), Who.of(principal)
    added = []
    for values in priced:
        order.line_count += 1
        line = RepairOrderLine(
            id=new_id(), repair_order_id=order.id, store_id=order.store_id, position=order.line_count, **values,
            supplement=order.status in SUPPLEMENT_STATES, added_by=who.as_dict(), added_at=now,
        )
        session.add(line)
        added.append(line)
    await session.flush()
    await _retotal(session, settings, order)
    if order.status in SUPPLEMENT_STATES:
        await _propose_extra_work(session, order, who, now)
    return added


async def add_campaign_lines(session: AsyncSession, clock: Clock, settings: ReceptionSettings, principal: Principal,
                             order: RepairOrder, data: CampaignLinesCreate) -> list[RepairOrderLine]:
    """A campaign's work in one action: its labour operation at the brand's flat hours and
    its parts at list price, every line `campaign` pay naming the campaign. The car must be
    in the campaign, open today (China time) and not yet done for it; once per order."""
    if order.status not in LINES_OPEN:
        raise InvalidTransition(order.status, "add a line")
    code = data.campaign_code
    campaign = await vehicle_notices.open_campaign(session, clock, order.vin, code)
    if campaign is None:
        raise Conflict(f"车辆 {order.vin} 没有进行中的活动 {code}。 The car has no open campaign {code} (not listed, "
                       "not open today, or already done).", campaign_code=code, vin=order.vin)
    if any(line.campaign_code == code for line in await repository.lines(session, order.id)):
        raise Conflict(f"活动 {code} 已在工单上。 Campaign {code} is on this order already.", campaign_code=code)
    if campaign.flat_hours is None or campaign.parts is None:
        raise Conflict(f"活动 {code} 的工时与配件尚未收到。 Campaign {code}'s operation and parts have not reached "
                       "reception yet; try again shortly.", campaign_code=code)
    store = await store_of(session, order.store_id)
    prices = await policy_copies.catalogue_on(session, policy_copies.opening_day(order.opened_at))
    operation, catalogue = prices.operations.get(campaign.op_code), prices.parts
    unknown = [p["part_no"] for p in campaign.parts if p["part_no"] not in catalogue]
    if operation is None or unknown:
        raise Conflict(f"活动 {code} 含目录外项目。 Campaign {code} names what reception's catalogue lacks: "
                       f"{', '.join([campaign.op_code] if operation is None else unknown)}.", campaign_code=code)
    rate = settings.labour_rate_for(store.code)
    priced = [dict(
        kind="labor", op_code=campaign.op_code, part_no=None, accessory_code=None,
        description=f"{code} {campaign.title_zh} {campaign.title_en}", quantity=campaign.flat_hours,
        flat_rate_hours=campaign.flat_hours, unit_price_fen=rate, amount_fen=fen(campaign.flat_hours * rate),
        pay_type="campaign", campaign_code=code,
    )]
    for item in campaign.parts:
        part = catalogue[item["part_no"]]
        quantity = Decimal(str(item["quantity"]))
        priced.append(dict(
            kind="part", op_code=campaign.op_code, part_no=item["part_no"], accessory_code=None,
            description=f"{part['name']} ({code})", quantity=quantity, flat_rate_hours=None,
            unit_price_fen=int(part["list_price_fen"]), amount_fen=fen(quantity * int(part["list_price_fen"])),
            pay_type="campaign", campaign_code=code,
        ))
    return await _append(session, clock, settings, principal, order, priced)


async def _propose_extra_work(session: AsyncSession, order: RepairOrder, who: Who, now: datetime) -> None:
    """Tell whoever listens (CRM tells the customer) that the round's supplement lines, as
    they now stand, wait for the customer's yes."""
    waiting = [line for line in await repository.lines(session, order.id) if line.approval_id is None]
    await emit(session, RepairOrderExtraWorkProposed(
        **await _event_ids(session, order), customer=order.customer, vehicle=order.vehicle, advisor=order.advisor,
        proposed_by=who.as_dict(),
        proposed_at=now, estimate_version=len(await repository.approvals(session, order.id)) + 1,
        lines=[line_event(line) for line in waiting], amount_fen=sum(line.amount_fen for line in waiting),
        customer_fen=sum(line.amount_fen for line in waiting if line.pay_type == "customer"),
        customer_due_fen=order.totals["customer_due_fen"],
    ), subject=order.id, store_id=order.store_id, time=now)


async def remove_line(session: AsyncSession, settings: ReceptionSettings, order: RepairOrder, line_id: str) -> None:
    if order.status not in LINES_OPEN and order.status != "ready":
        raise InvalidTransition(order.status, "remove a line")
    line = next((candidate for candidate in await repository.lines(session, order.id) if candidate.id == line_id),
                None)
    if line is None:
        raise NotFound("line not found on this repair order")
    if line.approval_id is not None:
        raise Conflict("the customer approved this line; it can no longer be removed", current_state=order.status,
                       line_id=line.id)
    await repository.delete_line(session, line)
    await session.flush()
    await _retotal(session, settings, order)


def compute_totals(lines: Iterable[RepairOrderLine], vat_rate: Decimal) -> dict[str, Any]:
    by_pay_type = {pay_type: 0 for pay_type in PAY_TYPES}
    for line in lines:
        by_pay_type[line.pay_type] += line.amount_fen
    tax = fen(Decimal(by_pay_type["customer"]) * vat_rate)
    return {
        **{f"{pay_type}_fen": amount for pay_type, amount in by_pay_type.items()},
        "subtotal_fen": sum(by_pay_type.values()),
        "tax_fen": tax,
        "customer_due_fen": by_pay_type["customer"] + tax,
        "vat_rate": str(vat_rate),
    }


async def _retotal(session: AsyncSession, settings: ReceptionSettings, order: RepairOrder) -> None:
    lines = await repository.lines(session, order.id)
    order.totals = await insurance.totals(session, order, compute_totals(lines, settings.vat_rate), lines)
    order.version += 1
    session.add(order)


# ---- estimate and approval ------------------------------------------------------------------

async def estimate(session: AsyncSession, clock: Clock, principal: Principal, order: RepairOrder,
                   data: Estimate | None) -> RepairOrder:
    if order.status != "open":
        raise InvalidTransition(order.status, "estimate")
    if not await repository.lines(session, order.id):
        raise Conflict("add lines before estimating", current_state=order.status)
    now = clock.now()
    if data is not None and data.promised_at is not None and data.promised_at <= now:
        raise ValidationFailed("promised_at", "is in the past")
    _move(session, order, "awaiting_approval", "estimate", Who.of(principal), now, {"totals": order.totals})
    order.estimated_at = now
    if data is not None and data.promised_at is not None:
        order.promised_at = data.promised_at
    return order


async def _sign_off_need(session: AsyncSession, settings: ReceptionSettings,
                         order: RepairOrder) -> policy.SignOffNeed | None:
    rule = await store_settings.high_value_rule(session, settings, order.store_id)
    return policy.sign_off_needed(policy.order_value_fen(order.totals), rule.threshold_fen, order.signed_off_fen,
                                  settings.sign_off_margin_percent)


def _cny(amount_fen: int) -> str:
    return f"{Decimal(amount_fen) / 100:,.2f}"


def _waits_for_sign_off(order: RepairOrder, need: policy.SignOffNeed) -> Conflict:
    if need.grown:
        why = (f"高额工单：签字后估价增至 {_cny(need.value_fen)} 元，超出已签金额 "
               f"{_cny(need.signed_off_fen or 0)} 元加容差，须服务经理重新签字。 "
               f"High-value order: the estimate grew to {need.value_fen} fen, past the "
               f"{need.signed_off_fen} fen the service manager signed plus the margin; it needs signing again "
               "(POST .../sign-off) before the customer's approval lets work start.")
    else:
        why = (f"高额工单：估价 {_cny(need.value_fen)} 元达到门店门槛 {_cny(need.threshold_fen)} 元，"
               "须服务经理签字后方可开工。 High-value order: the estimate of "
               f"{need.value_fen} fen reaches the store's threshold of {need.threshold_fen} fen; the service "
               "manager signs it off (POST .../sign-off) before the customer's approval lets work start.")
    return Conflict(why, current_state=order.status, rule=policy.HIGH_VALUE_RULE, value_fen=need.value_fen,
                    threshold_fen=need.threshold_fen, signed_off_fen=need.signed_off_fen)


async def sign_off(session: AsyncSession, clock: Clock, settings: ReceptionSettings, principal: Principal,
                   order: RepairOrder, data: SignOff | None) -> RepairOrder:
    """The service manager's yes to a high-value estimate, as it stands: a later growth past
    the margin needs signing again. A machine's key with a manager's role signs as itself,
    as it does everywhere on the platform; the who-field says which it was."""
    if principal.role not in MANAGERS:
        raise Forbidden(f"只有服务经理或店长可以签字。 Only the service manager or the store manager signs off "
                        f"a high-value order; role {principal.role} may not.")
    if order.status not in SIGN_OFF_STATES:
        raise InvalidTransition(order.status, "sign off")
    now = clock.now()
    who = Who.of(principal)
    value = policy.order_value_fen(order.totals)
    rule = await store_settings.high_value_rule(session, settings, order.store_id)
    detail: dict[str, Any] = {"signed_off_fen": value, "threshold_fen": rule.threshold_fen}
    if data is not None and data.note:
        detail["note"] = data.note
    _move(session, order, order.status, "sign_off", who, now, detail)
    order.signed_off_by, order.signed_off_at, order.signed_off_fen = who.as_dict(), now, value
    return order


def _promise_in_range(field: str, promised_at: datetime, now: datetime, settings: ReceptionSettings) -> None:
    if promised_at <= now:
        raise ValidationFailed(field, "承诺交车时间须在将来。 The promised time must be in the future.")
    latest = now + timedelta(days=settings.promise_max_days_ahead)
    if promised_at > latest:
        days = settings.promise_max_days_ahead
        raise ValidationFailed(field, f"承诺交车时间最多 {days} 天后。 The promised time is at most {days} days "
                                      f"ahead ({latest.isoformat()}).")


async def _promise_at_approval(session: AsyncSession, settings: ReceptionSettings, order: RepairOrder,
                               lines: list[RepairOrderLine], given: datetime | None, now: datetime) -> datetime:
    """The body's promise; else the estimate's while it is still ahead; else the store's
    closing hour of the day the flat hours are done (policy.default_promise)."""
    if given is not None:
        _promise_in_range("promised_at", given, now, settings)
        return given
    latest = now + timedelta(days=settings.promise_max_days_ahead)
    if order.promised_at is not None and now < order.promised_at <= latest:
        return order.promised_at
    store = await store_of(session, order.store_id)
    hours = sum((line.quantity for line in lines if line.kind == "labor"), Decimal(0))
    return policy.default_promise(now, store_zone(store), hours, opens_hour=settings.store_day_opens_hour,
                                  closes_hour=settings.store_day_closes_hour, latest=latest)


async def approve(session: AsyncSession, clock: Clock, settings: ReceptionSettings, principal: Principal,
                  order: RepairOrder, data: Approve) -> Approval:
    lines = await repository.lines(session, order.id)
    pending = [line for line in lines if line.approval_id is None]
    supplement = order.status in SUPPLEMENT_STATES
    if not (order.status == "awaiting_approval" or (supplement and pending)):
        raise InvalidTransition(order.status, "approve")
    if not pending:
        raise Conflict("there are no lines to approve", current_state=order.status)
    if supplement and data.promised_at is not None:
        raise ValidationFailed("promised_at", "承诺时间在首次批准时给出，之后请用改期。 The promise is given at the "
                                              "first approval; move it with POST .../promise and a reason.")
    need = await _sign_off_need(session, settings, order)
    if need is not None:
        raise _waits_for_sign_off(order, need)
    await fleets.before_work(session, order)
    await insurance.before_work(session, pending, order)
    now = clock.now()
    who = Who.of(principal)
    approval = Approval(
        id=new_id(), repair_order_id=order.id, store_id=order.store_id, approved_by=data.approved_by,
        channel=data.channel, approved_at=now, recorded_by=who.as_dict(), supplement=supplement,
        line_ids=[line.id for line in pending], amount_fen=sum(line.amount_fen for line in pending),
        customer_due_fen=order.totals["customer_due_fen"],
    )
    session.add(approval)
    for line in pending:
        line.approval_id = approval.id
        session.add(line)
    detail = {"approval_id": approval.id, "approved_by": data.approved_by, "channel": data.channel}
    if supplement:
        # Not a change of state, but the customer's yes belongs in the order's record.
        _move(session, order, order.status, "approve_supplement", who, now, detail)
    else:
        promised_at = await _promise_at_approval(session, settings, order, lines, data.promised_at, now)
        detail["promised_at"] = promised_at.isoformat()
        _move(session, order, "approved", "approve", who, now, detail)
        order.approved_at = now
        order.promised_at = order.first_promised_at = promised_at
    await emit(session, RepairOrderApproved(
        **await _event_ids(session, order), **_parties(order), approved_by=data.approved_by, channel=data.channel,
        approved_at=now,
        supplement=supplement, lines=[line_event(line) for line in pending], approval_id=approval.id,
        opened_at=order.opened_at, insurance=order.insurance, totals=order.totals, promised_at=order.promised_at,
        signed_off_by=order.signed_off_by, signed_off_at=order.signed_off_at, signed_off_fen=order.signed_off_fen,
    ), subject=order.id, store_id=order.store_id, time=now)
    return approval


async def move_promise(session: AsyncSession, clock: Clock, settings: ReceptionSettings, principal: Principal,
                       order: RepairOrder, data: MovePromise) -> RepairOrder:
    """A new promise with the reason the customer is told; the move is kept in history and
    announced (reception.repair_order.promise_moved) so CRM can tell the customer."""
    if order.status not in PROMISE_MOVABLE:
        raise InvalidTransition(order.status, "move the promised time")
    now = clock.now()
    _promise_in_range("promised_at", data.promised_at, now, settings)
    if data.promised_at == order.promised_at:
        raise ValidationFailed("promised_at", "与现承诺相同。 That is the promise already in force.")
    who = Who.of(principal)
    previous = order.promised_at
    _move(session, order, order.status, "move_promise", who, now, {
        "previous_promised_at": previous.isoformat() if previous else None,
        "promised_at": data.promised_at.isoformat(), "reason": data.reason,
    })
    order.promised_at = data.promised_at
    order.first_promised_at = order.first_promised_at or previous
    order.promise_moves += 1
    await emit(session, RepairOrderPromiseMoved(
        **await _event_ids(session, order), customer=order.customer, vehicle=order.vehicle, advisor=order.advisor,
        previous_promised_at=previous, promised_at=data.promised_at, first_promised_at=order.first_promised_at,
        reason=data.reason, moved_by=who.as_dict(), moved_at=now, moves=order.promise_moves,
    ), subject=order.id, store_id=order.store_id, time=now)
    return order


# ---- work progress (workshop's events) ----------------------------------------------------------

async def _for_event(session: AsyncSession, repair_order_id: str, store_id: str) -> RepairOrder:
    order = await repository.get(session, repair_order_id, for_update=True)
    if order is None:
        raise PoisonEvent(f"repair order {repair_order_id} is not known to reception")
    if order.store_id != store_id:
        raise PoisonEvent(f"repair order {repair_order_id} belongs to another store")
    return order


async def work_started(session: AsyncSession, repair_order_id: str, store_id: str, at: datetime, event_id: str) -> None:
    order = await _for_event(session, repair_order_id, store_id)
    if order.status != "approved":
        # Already moved on (a repeated fact), or cancelled before the workshop heard of it.
        log.info("work start ignored", repair_order_id=order.id, status=order.status)
        return
    _move(session, order, "in_progress", "work_started", WORKSHOP, at, {"event_id": event_id})
    order.work_started_at = at


async def ready(session: AsyncSession, repair_order_id: str, store_id: str, at: datetime, event_id: str) -> None:
    order = await _for_event(session, repair_order_id, store_id)
    if order.status not in ("approved", "in_progress"):
        log.info("ready ignored", repair_order_id=order.id, status=order.status)
        return
    _move(session, order, "ready", "ready", WORKSHOP, at, {"event_id": event_id})
    order.ready_at = at


# ---- settlement, handover, cancellation -------------------------------------------------------

def split_by_payer(order: RepairOrder) -> list[dict[str, Any]]:
    t = order.totals
    # The insurance excess is the customer's, untaxed; without an assessment there is none.
    excess = t.get("excess_fen", 0)
    payers = [{"payer": "customer", "name": order.customer["name"],
               "pay_types": ["customer", "insurance"] if excess else ["customer"],
               "amount_fen": t["customer_fen"] + excess, "tax_fen": t["tax_fen"], "total_fen": t["customer_due_fen"],
               "excess_fen": excess}]
    brand = [p for p in BRAND_PAY_TYPES if t.get(f"{p}_fen")]
    if brand:
        brand_fen = sum(t[f"{p}_fen"] for p in brand)
        payers.append({"payer": "brand", "name": "brand warranty" if brand == ["warranty"] else "brand",
                       "pay_types": brand, "amount_fen": brand_fen, "tax_fen": 0, "total_fen": brand_fen})
    if t["insurance_fen"]:
        insurance = order.insurance
        assert insurance is not None  # an insurance line is refused on an order without insurance
        insurer_due = t.get("insurer_due_fen", t["insurance_fen"])
        payers.append({"payer": "insurer", "name": insurance["insurer"], "claim_no": insurance["claim_no"],
                       "pay_types": ["insurance"], "amount_fen": insurer_due, "tax_fen": 0,
                       "total_fen": insurer_due, "excess_fen": excess,
                       "write_off_fen": t.get("insurance_write_off_fen", 0)})
    store_paid = t["internal_fen"] + t["goodwill_fen"]
    if store_paid:
        payers.append({"payer": "store", "name": "store",
                       "pay_types": [p for p in ("internal", "goodwill") if t[f"{p}_fen"]],
                       "amount_fen": store_paid, "tax_fen": 0, "total_fen": store_paid})
    return payers


async def settle(session: AsyncSession, clock: Clock, principal: Principal, order: RepairOrder,
                 payments: list[OrderPayment]) -> Invoice:
    if order.status != "ready":
        raise InvalidTransition(order.status, "settle")
    lines = await repository.lines(session, order.id)
    if any(line.approval_id is None for line in lines):
        raise Conflict("supplement lines wait for the customer's approval; approve or remove them first",
                       current_state=order.status)
    due = order.totals["customer_due_fen"]
    paid = sum(p.amount_fen for p in payments)
    if paid != due:
        raise ValidationFailed("payments", f"payments add up to {paid} fen but the customer owes {due} fen",
                               customer_due_fen=due, paid_fen=paid)
    store = await store_of(session, order.store_id)
    now = clock.now()
    who = Who.of(principal)
    day = now.astimezone(store_zone(store)).strftime("%Y%m%d")
    seq = await counters.next_value(session, f"invoice:{store.id}:{day}")
    invoice = Invoice(
        id=new_id(), number=f"INV-{store.code}-{day}-{seq:04d}", store_id=order.store_id, repair_order_id=order.id,
        issued_at=now, issued_by=who.as_dict(), totals=order.totals, payers=split_by_payer(order),
        payments=[p.model_dump(mode="json") for p in payments],
    )
    session.add(invoice)
    await fleets.settled(session, order, lines, sum(p.amount_fen for p in payments if p.method == "on_account"),
                         invoice.number, now)
    await credit.settled(session, order, sum(p.amount_fen for p in payments if p.method == "on_credit"),
                         invoice.number, now)
    # The insurer's share is owed from the store's settlement day, whatever the customer paid.
    await ledger.insurer_share(session, store_id=order.store_id, repair_order_id=order.id,
                               insurance=order.insurance, insurer_due_fen=_insurer_due(order.totals),
                               issued_on=now.astimezone(store_zone(store)).date(), now=now)
    owed = [_receivable_public(item) for item in await ledger.of_order(session, order.id)]
    _move(session, order, "settled", "settle", who, now, {"invoice_no": invoice.number})
    order.settled_at = now
    await emit(session, RepairOrderSettled(
        **await _event_ids(session, order), **_parties(order), opened_at=order.opened_at, settled_at=now,
        invoice_no=invoice.number, receivables=[item.model_dump(mode="json") for item in owed],
        lines=[line_event(line) for line in lines], totals=order.totals, payments=invoice.payments,
        invoice_id=invoice.id,
        payers=invoice.payers, insurance=order.insurance, appointment_id=order.appointment_id, settled_by=principal.id,
        accessories_fen=accessories_fen(lines),
    ), subject=order.id, store_id=order.store_id, time=now)
    return invoice


async def deliver(session: AsyncSession, clock: Clock, principal: Principal, order: RepairOrder,
                  data: Deliver) -> RepairOrder:
    if order.status != "settled":
        raise InvalidTransition(order.status, "deliver")
    if not data.explained:
        raise ValidationFailed("explained", "explain the work done, the invoice and the returned parts before handover")
    now = clock.now()
    who = Who.of(principal)
    delivered_by = data.delivered_by or principal.name or principal.id
    order.delivery = {"delivered_by": delivered_by, "explained": True, "notes": data.notes,
                      "recorded_by": who.as_dict()}
    _move(session, order, "delivered", "deliver", who, now, {"delivered_by": delivered_by})
    order.delivered_at = now
    invoice = await repository.invoice_of(session, order.id)
    timing = summary(order)
    lines = await repository.lines(session, order.id)
    await emit(session, RepairOrderDelivered(
        **await _event_ids(session, order), **_parties(order), delivered_by=delivered_by, opened_at=order.opened_at,
        payers=invoice.payers if invoice else None,
        settled_at=order.settled_at, delivered_at=now,
        lines=[line_event(line) for line in lines],
        totals=order.totals, invoice_no=invoice.number if invoice else None, explained=True,
        appointment_id=order.appointment_id, roadside_id=order.roadside_id, insurance=order.insurance,
        promised_at=order.promised_at, first_promised_at=order.first_promised_at, promise_moves=order.promise_moves,
        ready_at=order.ready_at, ready_on_time=timing.ready_on_time, delivered_on_time=timing.delivered_on_time,
        signed_off_by=order.signed_off_by, accessories_fen=accessories_fen(lines),
    ), subject=order.id, store_id=order.store_id, time=now)
    return order


async def cancel(session: AsyncSession, clock: Clock, principal: Principal, order: RepairOrder,
                 reason: str | None) -> RepairOrder:
    if order.status not in CANCELLABLE:
        raise InvalidTransition(order.status, "cancel")
    now = clock.now()
    previous = order.status
    _move(session, order, "cancelled", "cancel", Who.of(principal), now, {"reason": reason} if reason else None)
    order.cancelled_at, order.cancel_reason = now, reason
    await emit(session, RepairOrderCancelled(
        **await _event_ids(session, order), previous_status=previous, cancelled_at=now, reason=reason,
        cancelled_by=principal.id,
        customer=order.customer, vehicle=order.vehicle,
    ), subject=order.id, store_id=order.store_id, time=now)
    return order


# ---- corrections before work is done ------------------------------------------------------

async def set_insurance(session: AsyncSession, order: RepairOrder, insurance: Insurance) -> RepairOrder:
    """The claim number often comes after the surveyor's visit, so it can be set later."""
    if order.status in FINISHED or order.status == "ready":
        raise InvalidTransition(order.status, "change the insurance")
    order.insurance = insurance.model_dump(mode="json")
    order.version += 1
    session.add(order)
    return order


async def set_inspection(session: AsyncSession, order: RepairOrder, inspection: Inspection) -> RepairOrder:
    if order.status not in ("open", "awaiting_approval"):
        raise InvalidTransition(order.status, "record the inspection")
    order.inspection = inspection.model_dump(mode="json")
    order.version += 1
    session.add(order)
    return order


# ---- helpers ----------------------------------------------------------------------------------

def _move(session: AsyncSession, order: RepairOrder, to: str, action: str, who: Who, at: datetime,
          detail: dict | None = None) -> None:
    record_change(session, aggregate=AGGREGATE, aggregate_id=order.id, store_id=order.store_id, action=action,
                  from_status=order.status, to_status=to, by=who, at=at, detail=detail)
    order.status = to
    order.version += 1
    session.add(order)


def _ids(order: RepairOrder) -> dict:
    return dict(repair_order_id=order.id, number=order.number, store_id=order.store_id)


async def _event_ids(session: AsyncSession, order: RepairOrder) -> dict:
    """An order's event names its fleet (or null), so a fleet's figures need no join elsewhere."""
    fleet_order = await fleet_orders.order(session, order.id)
    return {**_ids(order), "fleet_id": fleet_order.fleet_id if fleet_order else None}


def _insurer_due(totals: dict[str, Any]) -> int:
    """The insurer's share as the invoice splits it: the assessment's, else the insurance lines'."""
    return int(totals.get("insurer_due_fen", totals.get("insurance_fen", 0)))


def _parties(order: RepairOrder) -> dict:
    return dict(customer=order.customer, vehicle=order.vehicle, mileage_km=order.mileage_km, advisor=order.advisor)


def accessories_fen(lines: Iterable[RepairOrderLine]) -> int:
    """What the order sold in accessories, before tax: the advisor's derivative sales."""
    return sum(line.amount_fen for line in lines if line.kind == "accessory")


def line_event(line: RepairOrderLine) -> dict:
    return dict(
        line_id=line.id, kind=line.kind, op_code=line.op_code, part_no=line.part_no,
        accessory_code=line.accessory_code, description=line.description,
        quantity=str(line.quantity), unit_price_fen=line.unit_price_fen, amount_fen=line.amount_fen,
        pay_type=line.pay_type, flat_rate_hours=str(line.flat_rate_hours) if line.flat_rate_hours is not None else None,
        supplement=line.supplement, approval_id=line.approval_id, campaign_code=line.campaign_code,
    )
