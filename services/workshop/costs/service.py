"""What a repair order cost the store, line by line, for its gross margin.

- Parts: each issue is costed at the part's moving average cost in the store at the
  moment of issue (fixed on the reservation and the ledger movement); units returned
  come off at the same cost. Parts issued over the counter to the order count too.
- Labour: each closed work interval costs its seconds times the rate its technician had
  when it opened (their current rate for intervals from before rates were kept), summed
  per line in fen-seconds and rounded half up to the fen once per line. Rework counts:
  it is time the store paid for.
- Sublet: the line's sublet order (sublets/), at the vendor's invoice once matched or
  accepted and at the agreed price before; a line sent out on none, what the store
  records it pays the vendor for it.

A figure that cannot be known (a technician without a rate, a sublet not yet billed)
counts as nothing and is named in `missing`. When reception delivers the order, its
cost goes out once as `workshop.order.costed`."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, NotFound, StaleVersion
from services.common.events.catalogue.reception import RepairOrderLine
from services.common.events.catalogue.workshop import CostByPayType, CostedLine, OrderCosted
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.outbox import emit
from services.workshop.base import seconds_to_hours
from services.workshop.costs import repository
from services.workshop.costs.models import SubletLine
from services.workshop.costs.schemas import CostLine, OrderCost, PayTypeCost, SubletCost, SubletLinePublic
from services.workshop.jobs import repository as jobs
from services.workshop.orders import repository as orders
from services.workshop.orders import service as order_service
from services.workshop.orders.models import WorkshopOrder
from services.workshop.parts import catalogue
from services.workshop.parts import repository as parts
from services.workshop.sublets import repository as sublet_orders
from services.workshop.technicians import repository as technicians


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest whole number, halves up (both not negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


async def record_sublet_line(session: AsyncSession, now: datetime, order: WorkshopOrder,
                             line: RepairOrderLine) -> SubletLine | None:
    """Keep an approved sublet line, to be costed when its bill comes in; once per line."""
    if await repository.sublet_by_line(session, order.id, line.line_id) is not None:
        return None
    row = SubletLine(id=new_id(), store_id=order.store_id, repair_order_id=order.id, line_id=line.line_id,
                     description=line.description, pay_type=line.pay_type, created_at=now)
    session.add(row)
    return row


def sublet_public(row: SubletLine) -> SubletLinePublic:
    return SubletLinePublic.model_validate(row, from_attributes=True)


async def sublets(session: AsyncSession, principal: Principal, order_id: str) -> list[SubletLinePublic]:
    order = await order_service.get_visible(session, principal, order_id)
    return [sublet_public(r) for r in await repository.sublets_of_order(session, order.id)]


async def record_sublet_cost(session: AsyncSession, clock: Clock, principal: Principal, order_id: str,
                             line_id: str, data: SubletCost) -> SubletLine:
    order = await order_service.get_visible(session, principal, order_id)
    row = await repository.sublet_for_update(session, order.id, line_id)
    if row is None:
        raise NotFound("no sublet line of this order has that id")
    sent_out = await sublet_orders.live_of_line(session, order.id, row.line_id)
    if sent_out is not None:
        # Its cost is the sublet order's (the invoice, else the agreed price), not a figure keyed in beside it.
        raise Conflict(f"the line went out on sublet order {sent_out.number}: its cost comes from there",
                       sublet_order_id=sent_out.id)
    if data.version is not None and data.version != row.version:
        raise StaleVersion(row.version)
    row.cost_fen, row.vendor = data.cost_fen, data.vendor
    row.recorded_at = clock.now()
    row.recorded_by, row.recorded_by_name = principal.id, principal.name or principal.id
    row.recorded_by_credential = principal.credential or None
    row.version += 1
    session.add(row)
    return row


async def _labor(session: AsyncSession, order: WorkshopOrder, missing: list[str]) -> tuple[list[CostLine], int]:
    order_jobs = await jobs.of_order(session, order.id)
    intervals = await repository.closed_intervals(session, [j.id for j in order_jobs])
    rates = {t.id: t for t in await technicians.by_ids(session, {i.technician_id for i in intervals})}
    by_job = defaultdict(list)
    for interval in intervals:
        by_job[interval.job_id].append(interval)
    lines, all_seconds, unrated = [], 0, set()
    for job in order_jobs:
        worked = by_job[job.id]
        if job.status == "cancelled" and not worked:
            continue
        fen_seconds = seconds = 0
        for interval in worked:
            technician = rates.get(interval.technician_id)
            rate = interval.hourly_cost_fen
            if rate is None and technician is not None:
                rate = technician.hourly_cost_fen
            if rate is None:
                unrated.add(technician.name if technician else interval.technician_id)
            else:
                fen_seconds += (interval.seconds or 0) * rate
            seconds += interval.seconds or 0
        all_seconds += seconds
        lines.append(CostLine(line_id=job.line_id, kind="labor", pay_type=job.pay_type, description=job.description,
                              clocked_hours=seconds_to_hours(seconds), cost_fen=half_up(fen_seconds, 3600)))
    missing += [f"技师 {name} 未设工时成本 technician {name} has no cost rate" for name in sorted(unrated)]
    return lines, all_seconds


async def _parts(session: AsyncSession, order: WorkshopOrder, missing: list[str]) -> list[CostLine]:
    reservations = {r.id: r for r in await parts.reservations_of_order(session, order.id)}
    groups: dict[tuple[str | None, str], list] = defaultdict(list)
    for movement in await repository.parts_movements(session, order.id):
        groups[(movement.reservation_id, movement.part_no)].append(movement)
    lines = []
    for (reservation_id, part_no), movements in groups.items():
        reservation = reservations.get(reservation_id) if reservation_id else None
        if any(m.unit_cost_fen is None for m in movements):
            missing.append(f"配件 {part_no} 出库无成本 part {part_no} was issued without a cost")
        quantity = -sum(m.on_hand_delta for m in movements)
        cost = -sum(m.on_hand_delta * (m.unit_cost_fen or 0) for m in movements)
        unit = reservation.unit_cost_fen if reservation else movements[0].unit_cost_fen
        lines.append(CostLine(
            line_id=reservation.line_id if reservation else None, kind="part",
            pay_type=reservation.pay_type if reservation else None, description=catalogue.name_of(part_no) or part_no,
            part_no=part_no, quantity=quantity, unit_cost_fen=unit, cost_fen=cost))
    return lines


async def _sublet(session: AsyncSession, order: WorkshopOrder, missing: list[str]) -> list[CostLine]:
    lines = []
    sent_out = await sublet_orders.live_by_line(session, order.id)
    for row in await repository.sublets_of_order(session, order.id):
        sublet_order = sent_out.get(row.line_id)
        if sublet_order is not None:
            source = "invoice" if sublet_order.status == "invoiced" else "agreed_price"
            lines.append(CostLine(line_id=row.line_id, kind="sublet", pay_type=row.pay_type,
                                  description=row.description, sublet_order_id=sublet_order.id, cost_source=source,
                                  cost_fen=sublet_order.cost_fen))
            continue
        if row.cost_fen is None:
            missing.append(f"外协 {row.description} 未录成本 sublet line {row.line_id} has no cost recorded")
        lines.append(CostLine(line_id=row.line_id, kind="sublet", pay_type=row.pay_type, description=row.description,
                              cost_source="recorded" if row.cost_fen is not None else None, cost_fen=row.cost_fen or 0))
    return lines


async def compute(session: AsyncSession, order: WorkshopOrder) -> OrderCost:
    missing: list[str] = []
    labor, seconds = await _labor(session, order, missing)
    lines = labor + await _parts(session, order, missing) + await _sublet(session, order, missing)
    by_kind: dict[str, int] = defaultdict(int)
    by_payer: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in lines:
        by_kind[line.kind] += line.cost_fen
        by_payer[line.pay_type or "counter"][line.kind] += line.cost_fen
    return OrderCost(
        repair_order_id=order.id, store_id=order.store_id, number=order.number, status=order.status, lines=lines,
        parts_cost_fen=by_kind["part"], labor_cost_fen=by_kind["labor"], sublet_cost_fen=by_kind["sublet"],
        total_cost_fen=sum(by_kind.values()), clocked_hours=seconds_to_hours(seconds),
        by_pay_type=[PayTypeCost(pay_type=payer, parts_cost_fen=kinds["part"], labor_cost_fen=kinds["labor"],
                                 sublet_cost_fen=kinds["sublet"], total_cost_fen=sum(kinds.values()))
                     for payer, kinds in sorted(by_payer.items())],
        missing=missing, complete=not missing, costed_at=order.costed_at,
    )


async def order_cost(session: AsyncSession, principal: Principal, order_id: str) -> OrderCost:
    return await compute(session, await order_service.get_visible(session, principal, order_id))


async def announce(session: AsyncSession, now: datetime, order_id: str) -> None:
    """`workshop.order.costed` once, when the order has been delivered."""
    order = await orders.get_for_update(session, order_id)
    if order is None or order.status != "delivered" or order.costed_at is not None:
        return
    cost = await compute(session, order)
    order.costed_at = now
    session.add(order)
    await emit(session, OrderCosted(
        repair_order_id=order.id, store_id=order.store_id, number=order.number, costed_at=now,
        delivered_at=order.delivered_at, parts_cost_fen=cost.parts_cost_fen, labor_cost_fen=cost.labor_cost_fen,
        sublet_cost_fen=cost.sublet_cost_fen, total_cost_fen=cost.total_cost_fen,
        clocked_hours=str(cost.clocked_hours),
        by_pay_type=[CostByPayType(pay_type=p.pay_type, parts_cost_fen=p.parts_cost_fen,
                                   labor_cost_fen=p.labor_cost_fen, sublet_cost_fen=p.sublet_cost_fen)
                     for p in cost.by_pay_type],
        lines=[CostedLine(line_id=line.line_id, kind=line.kind, pay_type=line.pay_type, cost_fen=line.cost_fen,
                          clocked_hours=str(line.clocked_hours) if line.clocked_hours is not None else None,
                          quantity=line.quantity) for line in cost.lines],
        missing=cost.missing or None,
    ), subject=order.id, store_id=order.store_id, time=now)
