"""A store's day in one page, and its sign-off.

The page is read from network's KPI projections for one local day of the store: repair
orders opened (in) and delivered (out); revenue of the orders settled that day by payer;
the gross margin of the orders delivered and costed that day, and each of them; complaints
opened and closed that day and those open and overdue at its end; callbacks due, on time,
reached and closed, and the day's CSI; the month's targets up to that day.

Sign-off: by the store's service manager or store manager, of that store only (another
store is 404, HQ and every other role 403), once per day (a second is 409 naming who
signed), for a day that has begun in the store's time zone (a later one is 422 naming
`date`). The day's figures as signed are kept, and the page says whether late events have
changed them since. HQ's list: every store, whether and by whom the day is signed; a
store's caller sees its own store."""
from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.common.identity import Principal
from services.common.who import Who
from services.network.daily_reports import repository
from services.network.daily_reports.models import DailyReportSignOff
from services.network.daily_reports.schemas import (
    CallbacksOfDay,
    ComplaintsOfDay,
    DailyReport,
    DaySignOffs,
    OrderMargin,
    OrdersOfDay,
    SignOff,
    SignOffIn,
    StoreSignOff,
    TargetsToDate,
)
from services.network.kpis import service as kpis
from services.network.kpis.projection import Metric
from services.network.stores.models import Store
from services.network.targets import policy
from services.network.targets import service as targets

SIGNERS = frozenset({"service_manager", "store_manager"})
# What the day's complaints count: opened and closed that day (the snapshot counters of the
# KPIs are summed from the start; here they are the day's own).
COMPLAINT_METRICS = (Metric.COMPLAINTS_OPENED, Metric.COMPLAINTS_CLOSED)
ORDER_MARGIN_METRICS = (Metric.GM_REVENUE_FEN, Metric.GM_COST_FEN, Metric.GM_INCOMPLETE, Metric.GM_ORDERS)
# The parts of the page a sign-off vouches for; targets to date move with the targets themselves.
SIGNED_PARTS = {"orders", "revenue_fen", "gross_margin", "margin_orders", "complaints", "callbacks"}


async def _store(session: AsyncSession, principal: Principal, store_id: str, *, for_update: bool = False) -> Store:
    if not principal.can_see_store(store_id):
        raise NotFound("store not found")
    store = await repository.store(session, store_id, for_update=for_update)
    if store is None:
        raise NotFound("store not found")
    return store


async def _margin_orders(session: AsyncSession, store_id: str, day: date) -> list[OrderMargin]:
    per_order: dict[str, dict[str, Any]] = {}
    for fact in await repository.facts_of_day(session, store_id, day, ORDER_MARGIN_METRICS):
        order = per_order.setdefault(fact.entity_key.removeprefix("ro:"), {"advisor_id": fact.person_id})
        order[fact.metric] = fact.value
    numbers = await repository.order_numbers(session, per_order)
    out = []
    for order_id, v in per_order.items():
        revenue, cost = v.get(Metric.GM_REVENUE_FEN, 0), v.get(Metric.GM_COST_FEN, 0)
        out.append(OrderMargin(repair_order_id=order_id, number=numbers.get(order_id), advisor_id=v["advisor_id"],
                               revenue_fen=revenue, cost_fen=cost, margin_fen=revenue - cost,
                               complete=not v.get(Metric.GM_INCOMPLETE)))
    return sorted(out, key=lambda o: (o.number or "", o.repair_order_id))


def _signed(row: DailyReportSignOff, changed_since: bool | None = None) -> SignOff:
    return SignOff(signed_by=Who.stored(row.signed_by, row.signed_by_name, row.signed_by_credential),
                   role=row.signed_by_role, signed_at=row.signed_at, note=row.note, changed_since=changed_since)


def _signed_parts(report: DailyReport) -> dict[str, Any]:
    return report.model_dump(mode="json", include=SIGNED_PARTS)


async def _report(session: AsyncSession, store: Store, day: date) -> DailyReport:
    c = (await kpis.counters(session, day, day, [store.id])).get(store.id, {})
    k = kpis.figures(c)
    complaints = await repository.day_sums(session, COMPLAINT_METRICS, store.id, day)
    to_date = await targets.store_to_date(session, store, day)
    margin = kpis.gross_margin(c)
    left_out = [f"{row.measure}: {row.not_measured}" for row in to_date if row.not_measured]
    if margin.orders_incomplete:
        left_out.append(f"毛利中有 {margin.orders_incomplete} 张工单成本不全 {margin.orders_incomplete} of the "
                        "orders in the margin were costed with something missing (a cost rate, a sublet bill)")
    report = DailyReport(
        store_id=store.id, store_code=store.code, store_name=store.name, date=day, timezone=store.timezone,
        orders=OrdersOfDay(opened=k.repair_orders_opened, delivered=k.repair_orders_delivered),
        revenue_fen=k.revenue_fen, gross_margin=margin,
        margin_orders=await _margin_orders(session, store.id, day),
        complaints=ComplaintsOfDay(opened=complaints.get(Metric.COMPLAINTS_OPENED, 0),
                                   closed=complaints.get(Metric.COMPLAINTS_CLOSED, 0),
                                   open_at_end=k.complaints_open, overdue_at_end=k.complaints_overdue),
        callbacks=CallbacksOfDay(due=c.get(Metric.CB_DUE, 0), on_time=c.get(Metric.CB_ON_TIME, 0),
                                 sla_rate=k.callback_sla_rate, reached=c.get(Metric.CB_REACHED, 0),
                                 closed=c.get(Metric.CB_CLOSED, 0), surveys=c.get(Metric.CSI_COUNT, 0),
                                 csi_average=k.csi_average),
        targets_to_date=TargetsToDate(period=f"{day.year:04d}-{day.month:02d}", days_elapsed=day.day,
                                      days_in_month=policy.month_days(day.year, day.month), measures=to_date),
        left_out=left_out, sign_off=None)
    row = await repository.sign_off(session, store.id, day)
    if row is not None:
        report.sign_off = _signed(row, changed_since=row.figures != _signed_parts(report))
    return report


async def daily_report(session: AsyncSession, principal: Principal, store_id: str, day: date) -> DailyReport:
    return await _report(session, await _store(session, principal, store_id), day)


async def sign(session: AsyncSession, clock: Clock, principal: Principal, store_id: str, day: date,
               data: SignOffIn) -> DailyReport:
    if not principal.store_id:
        raise Forbidden("日报由本店服务经理签核 the day is signed off by the store's own service manager")
    store = await _store(session, principal, store_id, for_update=True)
    if principal.role not in SIGNERS:
        raise Forbidden("日报由服务经理或店总签核 the day is signed off by the service manager or the store manager")
    now = clock.now()
    if day > now.astimezone(ZoneInfo(store.timezone)).date():
        raise ValidationFailed("date", "该日尚未开始 the day has not begun in the store's time zone")
    existing = await repository.sign_off(session, store.id, day)
    if existing is not None:
        who = existing.signed_by_name or existing.signed_by
        raise Conflict(f"{day} 已由 {who} 签核 {day} is already signed off by {who}")
    report = await _report(session, store, day)
    session.add(DailyReportSignOff(
        store_id=store.id, day=day, signed_by=principal.id, signed_by_name=principal.name or None,
        signed_by_credential=principal.credential or None, signed_by_role=principal.role, signed_at=now,
        note=data.note, figures=_signed_parts(report)))
    await session.flush()
    return await _report(session, store, day)


async def signed_stores(session: AsyncSession, principal: Principal, day: date) -> DaySignOffs:
    stores = [s for s in await repository.stores(session, principal.store_id) if principal.can_see_store(s.id)]
    rows = await repository.sign_offs(session, day, [s.id for s in stores])
    out = [StoreSignOff(store_id=s.id, store_code=s.code, store_name=s.name, region=s.region, status=s.status,
                        signed=s.id in rows, sign_off=_signed(rows[s.id]) if s.id in rows else None) for s in stores]
    return DaySignOffs(date=day, stores_signed=len(rows), stores=out)
