"""Counter sales: accessories sold at the service desk without a repair order.

open → paid, and open → cancelled. The lines are fixed when the sale is rung up (a buyer
who changes their mind has it cancelled and rung up again); payment must equal the total
exactly and sends `reception.counter_sale.completed`, which credits the advisor who rang
it up (`sold_by`) as an order's accessory lines credit its advisor. A paid sale is not
refunded here: reception has no refund for repair orders either, so there is no pattern
to follow yet (docs/reception.md)."""
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import InvalidTransition, NotFound, ValidationFailed
from services.common.events.catalogue.reception import CounterSaleCompleted
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.inputs import MAX_LINE_FEN
from services.common.outbox import emit
from services.common.stores import acting_store_id, ensure_visible, store_zone
from services.reception.accessories import service as accessory_catalogue
from services.reception.counter_sales import policy, repository
from services.reception.counter_sales.models import CounterSale, CounterSaleLine, CounterSaleSettings
from services.reception.counter_sales.schemas import (
    CounterSaleCreate,
    CounterSaleList,
    CounterSalePay,
    CounterSalePublic,
    CounterSaleSettingsPublic,
    CounterSaleSettingsUpdate,
    CounterSaleStatus,
    CounterSaleSummary,
)
from services.reception.settings import ReceptionSettings
from services.reception.shared import repository as shared
from services.reception.shared.service import (
    Who,
    check_version,
    history,
    listed_store,
    record_change,
    store_for_new_business,
)

AGGREGATE = "counter_sale"


# ---- ringing up -----------------------------------------------------------------------------

async def ring_up(session: AsyncSession, clock: Clock, settings: ReceptionSettings, principal: Principal,
                  data: CounterSaleCreate) -> CounterSale:
    store = await store_for_new_business(session, principal, data.store_id)
    allowed = (await _settings_in_force(session, store.id)).max_discount_percent
    catalogue_items, priced = [], []
    for index, asked in enumerate(data.lines):
        item = accessory_catalogue.require(asked.accessory_code, f"lines.{index}.accessory_code")
        if asked.discount_percent > allowed:
            raise ValidationFailed(
                f"lines.{index}.discount_percent",
                f"门店柜台折扣最多 {allowed}%。 This store allows at most {allowed} % off the catalogue price.",
                max_discount_percent=str(allowed))
        line = policy.price_line(int(item["price_fen"]), asked.quantity, asked.discount_percent)
        if line.amount_fen > MAX_LINE_FEN:
            raise ValidationFailed(f"lines.{index}.quantity",
                                   f"a line comes to at most {MAX_LINE_FEN} fen; this one is {line.amount_fen}")
        catalogue_items.append(item)
        priced.append(line)
    money = policy.totals(priced, settings.vat_rate)
    now = clock.now()
    day = now.astimezone(store_zone(store)).date()
    seq = await shared.next_value(session, f"cs:{store.id}:{day:%Y%m%d}")
    who = Who.of(principal)
    sale = CounterSale(
        id=new_id(), store_id=store.id, number=f"CS-{store.code}-{day:%Y%m%d}-{seq:04d}", status="open",
        sale_day=day, customer=data.customer.model_dump(mode="json") if data.customer else None, vin=data.vin,
        note=data.note, sold_by=who.as_dict(), opened_at=now, list_fen=money.list_fen,
        discount_fen=money.discount_fen, amount_fen=money.amount_fen, tax_fen=money.tax_fen,
        total_fen=money.total_fen, vat_rate=money.vat_rate,
    )
    session.add(sale)
    # The lines name their sale: the sale's row goes first.
    await session.flush()
    for position, (item, line) in enumerate(zip(catalogue_items, priced, strict=True), start=1):
        session.add(CounterSaleLine(
            id=new_id(), counter_sale_id=sale.id, store_id=store.id, position=position, accessory_code=item["code"],
            description=f"{item['name_zh']} {item['name_en']}", quantity=line.quantity,
            unit_price_fen=line.unit_price_fen, discount_percent=line.discount_percent,
            discount_fen=line.discount_fen, amount_fen=line.amount_fen,
        ))
    record_change(session, aggregate=AGGREGATE, aggregate_id=sale.id, store_id=store.id, action="ring_up",
                  from_status=None, to_status="open", by=who, at=now, detail={"total_fen": sale.total_fen})
    return sale


# ---- paying and cancelling ------------------------------------------------------------------

async def pay(session: AsyncSession, clock: Clock, principal: Principal, sale: CounterSale,
              data: CounterSalePay) -> CounterSale:
    if sale.status != "open":
        raise InvalidTransition(sale.status, "pay")
    paid = sum(p.amount_fen for p in data.payments)
    if paid != sale.total_fen:
        raise ValidationFailed("payments", f"payments add up to {paid} fen but the sale comes to {sale.total_fen} fen",
                               total_fen=sale.total_fen, paid_fen=paid)
    now = clock.now()
    who = Who.of(principal)
    sale.payments = [p.model_dump(mode="json") for p in data.payments]
    sale.paid_at, sale.paid_by = now, who.as_dict()
    _move(session, sale, "paid", "pay", who, now, {"methods": sorted({p.method for p in data.payments})})
    lines = await repository.lines(session, sale.id)
    await emit(session, CounterSaleCompleted(
        counter_sale_id=sale.id, number=sale.number, store_id=sale.store_id, customer=sale.customer, vin=sale.vin,
        lines=[line_event(line) for line in lines], amount_fen=sale.amount_fen, tax_fen=sale.tax_fen,
        total_fen=sale.total_fen, sold_by=sale.sold_by, completed_at=now,
        # Beside the catalogue's fields, as the envelope's parts allow: who took the money, and how.
        paid_by=sale.paid_by, payments=sale.payments, discount_fen=sale.discount_fen, vat_rate=str(sale.vat_rate),
    ), subject=sale.id, store_id=sale.store_id, time=now)
    return sale


async def cancel(session: AsyncSession, clock: Clock, principal: Principal, sale: CounterSale,
                 reason: str | None) -> CounterSale:
    """Before payment only; nothing was announced, so nothing is announced now."""
    if sale.status != "open":
        raise InvalidTransition(sale.status, "cancel")
    now = clock.now()
    who = Who.of(principal)
    sale.cancelled_at, sale.cancelled_by, sale.cancel_reason = now, who.as_dict(), reason
    _move(session, sale, "cancelled", "cancel", who, now, {"reason": reason} if reason else None)
    return sale


def _move(session: AsyncSession, sale: CounterSale, to: str, action: str, who: Who, at: datetime,
          detail: dict | None = None) -> None:
    record_change(session, aggregate=AGGREGATE, aggregate_id=sale.id, store_id=sale.store_id, action=action,
                  from_status=sale.status, to_status=to, by=who, at=at, detail=detail)
    sale.status = to
    sale.version += 1
    session.add(sale)


def line_event(line: CounterSaleLine) -> dict[str, Any]:
    """An order's accessory line as the events carry it, with the discount beside it."""
    return dict(
        line_id=line.id, kind="accessory", accessory_code=line.accessory_code, description=line.description,
        quantity=str(line.quantity), unit_price_fen=line.unit_price_fen, amount_fen=line.amount_fen,
        pay_type="customer", discount_percent=format(line.discount_percent, "f"), discount_fen=line.discount_fen,
    )


# ---- reading --------------------------------------------------------------------------------

async def get_visible(session: AsyncSession, principal: Principal, counter_sale_id: str, *,
                      for_update: bool = False) -> CounterSale:
    sale = await repository.get(session, counter_sale_id, for_update=for_update)
    if sale is None:
        raise NotFound("counter sale not found")
    ensure_visible(principal, sale.store_id, "counter sale")
    return sale


async def list_sales(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None,
                     store_id: str | None = None, since=None, until=None, status: CounterSaleStatus | None = None,
                     number: str | None = None, vin: str | None = None) -> CounterSaleList:
    if since and until and since > until:
        raise ValidationFailed("from", "must not be after `to`")
    rows, next_cursor = await repository.page(
        session, store_id=listed_store(principal, store_id), limit=limit, cursor=cursor, since=since, until=until,
        status=status, number=number, vin=vin.upper() if vin else None,
    )
    return CounterSaleList(items=[summary(r) for r in rows], next_cursor=next_cursor)


def summary(sale: CounterSale) -> CounterSaleSummary:
    return CounterSaleSummary(**{name: getattr(sale, name) for name in CounterSaleSummary.model_fields})


async def public(session: AsyncSession, sale: CounterSale) -> CounterSalePublic:
    return CounterSalePublic(
        **summary(sale).model_dump(),
        lines=[line.model_dump() for line in await repository.lines(session, sale.id)],
        history=await history(session, AGGREGATE, sale.id),
    )


# ---- the store's discount limit -------------------------------------------------------------

async def _settings_in_force(session: AsyncSession, store_id: str) -> CounterSaleSettingsPublic:
    own = await repository.settings_of(session, store_id)
    if own is None:
        return CounterSaleSettingsPublic(store_id=store_id, max_discount_percent=policy.DEFAULT_MAX_DISCOUNT_PERCENT,
                                         source="default")
    return _settings_public(own)


def _settings_public(own: CounterSaleSettings) -> CounterSaleSettingsPublic:
    return CounterSaleSettingsPublic(store_id=own.store_id, max_discount_percent=own.max_discount_percent,
                                     source="store", updated_at=own.updated_at, updated_by=own.updated_by,
                                     version=own.version)


async def _known(session: AsyncSession, principal: Principal, store_id: str) -> None:
    ensure_visible(principal, store_id, "store")
    if await shared.known_store(session, store_id) is None:
        raise NotFound("store not found")


async def read_settings(session: AsyncSession, principal: Principal, store_id: str) -> CounterSaleSettingsPublic:
    await _known(session, principal, store_id)
    return await _settings_in_force(session, store_id)


async def update_settings(session: AsyncSession, clock: Clock, principal: Principal, store_id: str,
                          data: CounterSaleSettingsUpdate, expected: int | None) -> CounterSaleSettingsPublic:
    """Applies to sales rung up from now on; a sale already rung up keeps its prices."""
    await _known(session, principal, acting_store_id(principal, store_id))
    own = await repository.settings_of(session, store_id, for_update=True)
    check_version(own.version if own else 0, expected)
    now, who = clock.now(), Who.of(principal).as_dict()
    if own is None:
        own = CounterSaleSettings(store_id=store_id, max_discount_percent=Decimal(0), updated_at=now, updated_by=who,
                                  version=0)
    own.max_discount_percent = data.max_discount_percent
    own.updated_at, own.updated_by = now, who
    own.version += 1
    session.add(own)
    return _settings_public(own)
