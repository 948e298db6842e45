"""The Three Guarantees watch (三包).

Fed by reception's closed repair orders (settled, then delivered with the workshop's ready
time): each order is kept with its warranty labour; after each one the car's standing is
worked out again (policy.py) and an alert is raised, once per VIN and threshold, when a
threshold is one step away or reached, and once per repair that owes a loaner. Reads: a car's
standing (any store that repaired it, and HQ) and HQ's list of cars at risk.

The sale date comes from the orders' vehicle record (reception's `sold_at`), never from the
first order's date; with none the validity is `unknown` and every quality repair counts. When
the warranty registration lands in network it is the better source (docs/network.md)."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import NotFound
from services.common.events.catalogue.network import ThreeGuaranteesAlertRaised
from services.common.events.catalogue.reception import RepairOrderDelivered, RepairOrderSettled
from services.common.events.envelope import CloudEvent
from services.common.identity import Principal
from services.common.outbox import emit
from services.network.three_guarantees import policy, repository
from services.network.three_guarantees.models import ThreeGuaranteesAlert, WatchedRepair
from services.network.three_guarantees.policy import NAMES, Repair, Status, Validity
from services.network.three_guarantees.schemas import (
    AtRiskCar,
    AtRiskList,
    PolicyPublic,
    ThreeGuaranteesPublic,
    ThresholdPublic,
    WatchedRepairPublic,
)

# The regulation is China's: its days and validity are read on China's calendar.
CHINA = ZoneInfo("Asia/Shanghai")
SALE_DATE_SOURCE = "repair_order_vehicle"  # reception's vehicle record, carried on the closed order


class Standing:
    """A car's repairs read against the revision of its sale date."""

    def __init__(self, vin: str, rows: list[WatchedRepair], today: date) -> None:
        self.vin = vin
        self.rows = rows
        dated = [r for r in rows if r.sold_at is not None]
        # The latest order's vehicle record: a correction at reception reaches the watch.
        self.sale_date = max(dated, key=lambda r: r.opened_at).sold_at if dated else None
        self.policy = policy.policy_for(self.sale_date, today)
        self.latest_mileage = max((r.mileage_km for r in rows), default=None)
        self.validity = policy.validity(self.sale_date, self.policy, today, self.latest_mileage or 0)
        self.repairs = [self._repair(r) for r in rows]
        self.thresholds = policy.thresholds(self.repairs, self.policy)

    def _repair(self, row: WatchedRepair) -> Repair:
        finished = row.ready_at or row.delivered_at or row.settled_at
        problems, safety, major = policy.classify(row.warranty_op_codes)
        repair = Repair(row.repair_order_id, row.store_id, row.number, row.opened_at, finished, row.mileage_km,
                        policy.repair_days(row.opened_at, finished), problems, safety, major)
        return Repair(**{**repair.__dict__, "counted": policy.counts(repair, self.sale_date, self.policy)})

    @property
    def loaner_owed(self) -> bool:
        return any(r.loaner_owed(self.policy) for r in self.repairs)

    def keys(self, status: Status) -> list[str]:
        return [t.key for t in self.thresholds if t.status == status]


def _today(clock: Clock) -> date:
    return clock.now().astimezone(CHINA).date()


async def record(session: AsyncSession, event: RepairOrderSettled | RepairOrderDelivered, envelope: CloudEvent,
                 clock: Clock) -> None:
    """Keep the order's times and warranty labour, then raise what the car's standing now calls for."""
    op_codes = [line.op_code for line in event.lines
                if line.kind == "labor" and line.op_code and line.pay_type == "warranty"]
    row = await repository.get_for_update(session, event.repair_order_id)
    if row is None:
        row = WatchedRepair(repair_order_id=event.repair_order_id, vin=event.vehicle.vin, store_id=event.store_id,
                            number=event.number, sold_at=event.vehicle.sold_at, mileage_km=event.mileage_km,
                            opened_at=event.opened_at, settled_at=event.settled_at, warranty_op_codes=op_codes)
    else:
        row.sold_at = event.vehicle.sold_at or row.sold_at
        row.warranty_op_codes, row.mileage_km = op_codes, event.mileage_km
    if isinstance(event, RepairOrderDelivered):
        row.delivered_at = event.delivered_at
        row.ready_at = event.ready_at or row.ready_at
    session.add(row)
    await session.flush()
    if not op_codes:
        return  # no warranty labour: nothing about the car's standing changed
    await _raise_alerts(session, Standing(row.vin, await repository.repairs_of(session, row.vin), _today(clock)),
                        row, clock.now())


def _message(kind: str, status: str, value: int, limit: int, problem: str | None) -> tuple[str, str]:
    if kind == "loaner":
        return (f"单次三包修理 {value} 天，超过 {limit} 天：应提供备用车或交通费用补偿",
                f"a quality repair of {value} days, over {limit}: a loaner or transport allowance is owed")
    zh, en = NAMES[policy.Kind(kind)]
    what_zh, what_en = (f"{zh}（{problem}）", f"{en} ({problem})") if problem else (zh, en)
    near_zh, near_en = ("已达到", "reached") if status == Status.reached else ("距离阈值一步", "one step from")
    return (f"{what_zh} {value}，{near_zh} {limit}", f"{what_en} {value}: {near_en} the threshold {limit}")


async def _raise_alerts(session: AsyncSession, standing: Standing, row: WatchedRepair, now: datetime) -> None:
    if standing.validity == Validity.expired:
        return
    found: list[tuple[str, str, str, str, int, int, str | None]] = [
        (t.key, t.kind.value, t.remedy, t.status.value, t.value, t.limit, t.problem)
        for t in standing.thresholds if t.status != Status.clear]
    limit = standing.policy["loaner_if_single_repair_days_over"]
    found += [(f"loaner:{r.repair_order_id}", "loaner", "loaner_or_transport_allowance", "owed", r.days, limit, None)
              for r in standing.repairs if r.loaner_owed(standing.policy)]
    for key, kind, remedy, status, value, threshold, problem in found:
        alert = ThreeGuaranteesAlert(vin=standing.vin, key=key, store_id=row.store_id, status=status, raised_at=now)
        if not await repository.add_alert(session, alert):
            continue
        zh, en = _message(kind, status, value, threshold, problem)
        await emit(session, ThreeGuaranteesAlertRaised(
            vin=standing.vin, store_id=row.store_id, threshold=key, kind=kind, remedy=remedy, status=status,
            value=value, limit=threshold, problem=problem, validity=standing.validity.value,
            sale_date=standing.sale_date, policy_effective_from=date.fromisoformat(standing.policy["effective_from"]),
            loaner_owed=standing.loaner_owed, repair_order_id=row.repair_order_id, message_zh=zh, message_en=en,
            raised_at=now), subject=standing.vin, store_id=row.store_id, time=now)


async def standing_of(session: AsyncSession, principal: Principal, clock: Clock, vin: str) -> ThreeGuaranteesPublic:
    """HQ reads any car; a store reads a car it has repaired (its counts include every store's
    repairs, as the regulation does), else 404 like any object of another store."""
    rows = await repository.repairs_of(session, vin)
    if not rows or not (principal.is_hq or any(principal.can_see_store(r.store_id) for r in rows)):
        raise NotFound("no repairs of this VIN on record")
    return _public(Standing(vin, rows, _today(clock)), principal)


def _public(standing: Standing, principal: Principal) -> ThreeGuaranteesPublic:
    p = standing.policy
    counted = [r for r in standing.repairs if r.counted]
    return ThreeGuaranteesPublic(
        vin=standing.vin, sale_date=standing.sale_date,
        sale_date_source=SALE_DATE_SOURCE if standing.sale_date else None, validity=standing.validity,
        valid_until=policy.valid_until(standing.sale_date, p), latest_mileage_km=standing.latest_mileage,
        policy=PolicyPublic(effective_from=date.fromisoformat(p["effective_from"]), source=p["source"],
                            validity_months=p["validity_period"]["months"], validity_km=p["validity_period"]["km"],
                            loaner_if_single_repair_days_over=p["loaner_if_single_repair_days_over"]),
        cumulative_repair_days=sum(r.days for r in counted),
        same_problem_repairs={t.problem: t.value for t in standing.thresholds if t.problem},
        serious_safety_fault_repairs=sum(1 for r in counted if r.serious_safety),
        engine_or_transmission_replacements=sum(1 for r in counted if r.engine_or_transmission_replacement),
        loaner_owed=standing.loaner_owed,
        thresholds=[ThresholdPublic(key=t.key, kind=t.kind, problem=t.problem, remedy=t.remedy,
                                    name_zh=NAMES[t.kind][0], name_en=NAMES[t.kind][1], value=t.value,
                                    limit=t.limit, rule=t.rule, status=t.status) for t in standing.thresholds],
        one_step_away=standing.keys(Status.one_step), reached=standing.keys(Status.reached),
        repairs=[_repair_public(r, standing.policy, principal) for r in standing.repairs if r.quality],
    )


def _repair_public(r: Repair, p: dict, principal: Principal) -> WatchedRepairPublic:
    own = principal.can_see_store(r.store_id)
    return WatchedRepairPublic(
        repair_order_id=r.repair_order_id if own else None, number=r.number if own else None, store_id=r.store_id,
        opened_at=r.opened_at, finished_at=r.finished_at, days=r.days, problems=sorted(r.problems),
        serious_safety=r.serious_safety, engine_or_transmission_replacement=r.engine_or_transmission_replacement,
        counted=r.counted, loaner_owed=r.loaner_owed(p))


async def at_risk(session: AsyncSession, principal: Principal, clock: Clock, store_id: str | None) -> AtRiskList:
    """Cars in (or of unknown) validity with a threshold one step away or reached, or a loaner
    owed. A store sees the cars it repaired; HQ every car, or one store's with `store_id`."""
    scope = principal.store_id if not principal.is_hq else store_id
    if principal.store_id and store_id and store_id != principal.store_id:
        raise NotFound("no such store")
    today, items = _today(clock), []
    cars = await repository.repairs_of_each(session, await repository.vins_with_quality_repairs(session, scope))
    for vin, rows in cars.items():
        standing = Standing(vin, rows, today)
        one_step, reached = standing.keys(Status.one_step), standing.keys(Status.reached)
        if standing.validity == Validity.expired or not (one_step or reached or standing.loaner_owed):
            continue
        items.append(AtRiskCar(
            vin=vin, store_ids=sorted({r.store_id for r in standing.rows if principal.can_see_store(r.store_id)}),
            validity=standing.validity, sale_date=standing.sale_date, one_step_away=one_step, reached=reached,
            loaner_owed=standing.loaner_owed, last_repair_at=max(r.opened_at for r in standing.rows)))
    return AtRiskList(items=items)
