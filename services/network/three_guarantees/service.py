"""The Three Guarantees watch (三包).

Fed by reception's closed repair orders (settled, then delivered with the workshop's ready
time) and by network's own warranty registrations: each order is kept with its warranty labour
and parts; after each order, registration or correction of the invoice date the car's standing
is worked out again (policy.py), an alert is raised, once per VIN and threshold, when a
threshold is one step away or reached, and once per repair that owes a loaner, and reception is
told the car's figures (network.three_guarantees.updated) when they differ from those it was
last told. Reads: a car's standing (the stores that repaired or sold it, and HQ) and the list of
cars at risk.

The validity period runs from the registration's invoice date (the regulation counts from the
invoice of sale); a car network holds no registration of falls back to the vehicle record on its
orders (reception's `sold_at`, the latest order's), never to the first order's date; with
neither the validity is `unknown` and every quality repair counts.

The rules are the Three Guarantees policy's and labour operations' versions (policies/) in
force on the day the car's latest repair was opened, China's calendar (a car with none: today):
its repairs are read (quality problems, safety fault, engine or transmission replacement) and its
thresholds counted by that version, whose regulation revision is the one in force on the car's
sale date. All of a car's repairs are read by one version, so a replacement part HQ lists from a
day on counts the car's earlier repairs too once it is next repaired, as the watch's note wants."""
from __future__ import annotations

from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import NotFound
from services.common.events.catalogue.network import ThreeGuaranteesAlertRaised, ThreeGuaranteesUpdated
from services.common.events.catalogue.reception import RepairOrderDelivered, RepairOrderSettled
from services.common.events.envelope import CloudEvent
from services.common.identity import Principal
from services.common.outbox import emit
from services.network.calendar import HQ_ZONE
from services.network.policies import service as policies
from services.network.policies.bodies import PolicyName
from services.network.three_guarantees import policy, repository
from services.network.three_guarantees.models import ThreeGuaranteesAlert, WatchedRepair
from services.network.three_guarantees.policy import NAMES, Repair, SaleDateSource, Status, Validity
from services.network.three_guarantees.schemas import (
    AtRiskCar,
    AtRiskList,
    PolicyPublic,
    ThreeGuaranteesPublic,
    ThresholdPublic,
    WatchedRepairPublic,
)
from services.network.vehicles.models import VehicleRegistration

# The regulation is China's: its days and validity are read on China's calendar.
CHINA = HQ_ZONE


class Rules:
    """The Three Guarantees policy's and labour operations' versions, read once for every car
    a request works out."""

    def __init__(self, sanbao: policies.History, operations: policies.History) -> None:
        self.sanbao = sanbao
        self._operations = operations
        self._by_code: dict[int, dict[str, dict]] = {}

    def operations_on(self, day: date) -> dict[str, dict]:
        found = self._operations.on(day)
        if found.version not in self._by_code:
            self._by_code[found.version] = {op["op_code"]: op for op in found.body["operations"]}
        return self._by_code[found.version]


async def rules(session: AsyncSession) -> Rules:
    return Rules(await policies.history(session, PolicyName.THREE_GUARANTEES),
                 await policies.history(session, PolicyName.LABOUR_OPERATIONS))


class Standing:
    """A car's repairs read against the revision of its sale date."""

    def __init__(self, vin: str, rows: list[WatchedRepair], today: date, registration: VehicleRegistration | None,
                 rules: Rules) -> None:
        self.rules = rules
        self.read_on = max(r.opened_at for r in rows).astimezone(CHINA).date() if rows else today
        self.version = rules.sanbao.on(self.read_on)
        self.vin = vin
        self.rows = rows
        self.registration = registration
        dated = [r for r in rows if r.sold_at is not None]
        self.sale_date: date | None
        self.sale_date_source: SaleDateSource | None
        if registration is not None:
            self.sale_date, self.sale_date_source = registration.invoice_date, SaleDateSource.warranty_registration
        elif dated:
            # The latest order's vehicle record: a correction at reception reaches the watch.
            self.sale_date = max(dated, key=lambda r: r.opened_at).sold_at
            self.sale_date_source = SaleDateSource.repair_order_vehicle
        else:
            self.sale_date, self.sale_date_source = None, None
        self.policy = policy.policy_for(self.sale_date, today, self.version.body["regulation"])
        self.latest_mileage = max((r.mileage_km for r in rows), default=None)
        self.validity = policy.validity(self.sale_date, self.policy, today, self.latest_mileage or 0)
        self.repairs = [self._repair(r) for r in rows]
        self.thresholds = policy.thresholds(self.repairs, self.policy, self.version.body["watch"])

    def _repair(self, row: WatchedRepair) -> Repair:
        finished = row.ready_at or row.delivered_at or row.settled_at
        problems, safety, major = policy.classify(row.warranty_op_codes, row.warranty_part_nos,
                                                  self.version.body["watch"], self.rules.operations_on(self.read_on))
        repair = Repair(row.repair_order_id, row.store_id, row.number, row.opened_at, finished, row.mileage_km,
                        policy.repair_days(row.opened_at, finished), problems, safety, major)
        return Repair(**{**repair.__dict__, "counted": policy.counts(repair, self.sale_date, self.policy)})

    @property
    def loaner_owed(self) -> bool:
        return any(r.loaner_owed(self.policy) for r in self.repairs)

    def keys(self, status: Status) -> list[str]:
        return [t.key for t in self.thresholds if t.status == status]

    def figures(self, now: datetime) -> ThreeGuaranteesUpdated:
        """What reception shows at booking and check-in."""
        counted = [r for r in self.repairs if r.counted]
        return ThreeGuaranteesUpdated(
            vin=self.vin, validity=self.validity.value, valid_until=policy.valid_until(self.sale_date, self.policy),
            cumulative_repair_days=sum(r.days for r in counted),
            same_problem_repairs={t.problem: t.value for t in self.thresholds if t.problem},
            serious_safety_fault_repairs=sum(1 for r in counted if r.serious_safety),
            engine_or_transmission_replacements=sum(1 for r in counted if r.engine_or_transmission_replacement),
            alerts=[t.key for t in self.thresholds if t.status != Status.clear], updated_at=now)


def _today(clock: Clock) -> date:
    return clock.now().astimezone(CHINA).date()


async def record(session: AsyncSession, event: RepairOrderSettled | RepairOrderDelivered, envelope: CloudEvent,
                 clock: Clock) -> None:
    """Keep the order's times and warranty labour and parts, then work the car out again."""
    warranty = [line for line in event.lines if line.pay_type == "warranty"]
    op_codes = [line.op_code for line in warranty if line.kind == "labor" and line.op_code]
    part_nos = [line.part_no for line in warranty if line.kind == "part" and line.part_no]
    row = await repository.get_for_update(session, event.repair_order_id)
    if row is None:
        row = WatchedRepair(repair_order_id=event.repair_order_id, vin=event.vehicle.vin, store_id=event.store_id,
                            number=event.number, sold_at=event.vehicle.sold_at, mileage_km=event.mileage_km,
                            opened_at=event.opened_at, settled_at=event.settled_at, warranty_op_codes=op_codes,
                            warranty_part_nos=part_nos)
    else:
        row.sold_at = event.vehicle.sold_at or row.sold_at
        row.warranty_op_codes, row.warranty_part_nos, row.mileage_km = op_codes, part_nos, event.mileage_km
    if isinstance(event, RepairOrderDelivered):
        row.delivered_at = event.delivered_at
        row.ready_at = event.ready_at or row.ready_at
    session.add(row)
    await session.flush()
    # Every order, warranty work or not: its vehicle record or mileage may move the validity.
    await refresh(session, clock, row.vin, store_id=row.store_id, repair=row)


async def refresh(session: AsyncSession, clock: Clock, vin: str, *, store_id: str,
                  repair: WatchedRepair | None = None) -> None:
    """Work a car's standing out again after its order (`repair`), registration or correction:
    raise the alerts it calls for, and tell reception its figures when they differ from those it
    was last told, in this transaction. `store_id` is the store whose change it was."""
    published = await repository.lock_figures(session, vin)
    # Read after the lock: a recomputation that held it has committed its repair or invoice date.
    rows = await repository.repairs_of(session, vin)
    standing = Standing(vin, rows, _today(clock), await repository.registration_of(session, vin),
                        await rules(session))
    now = clock.now()
    # A registration's change is alerted as of the car's latest repair, the one whose store acts.
    alerting = repair or (rows[-1] if rows else None)
    if alerting is not None:
        await _raise_alerts(session, standing, alerting, now)
    event = standing.figures(now)
    figures = event.model_dump(mode="json", exclude={"updated_at"})
    if published.figures == figures:
        return  # a redelivered order, a repair that counts for nothing: reception knows these
    published.figures, published.published_at = figures, now
    session.add(published)
    await emit(session, event, subject=vin, store_id=store_id, time=now)


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
    vin = vin.strip().upper()
    rows = await repository.repairs_of(session, vin)
    registration = await repository.registration_of(session, vin)
    # The seller answers for a replacement or refund under the regulation: it reads the cars it sold.
    stores = {r.store_id for r in rows} | ({registration.store_id} if registration else set())
    if not any(principal.can_see_store(s) for s in stores):
        raise NotFound("no repairs or registration of this VIN on record")
    return _public(Standing(vin, rows, _today(clock), registration, await rules(session)), principal, clock.now())


def _public(standing: Standing, principal: Principal, now: datetime) -> ThreeGuaranteesPublic:
    p = standing.policy
    figures = standing.figures(now)
    return ThreeGuaranteesPublic(
        vin=standing.vin, sale_date=standing.sale_date, sale_date_source=standing.sale_date_source,
        selling_store_id=standing.registration.store_id if standing.registration else None,
        validity=standing.validity, valid_until=figures.valid_until, latest_mileage_km=standing.latest_mileage,
        policy=PolicyPublic(effective_from=date.fromisoformat(p["effective_from"]), source=p.get("source", ""),
                            validity_months=p["validity_period"]["months"], validity_km=p["validity_period"]["km"],
                            loaner_if_single_repair_days_over=p["loaner_if_single_repair_days_over"],
                            version=standing.version.version),
        cumulative_repair_days=figures.cumulative_repair_days, same_problem_repairs=figures.same_problem_repairs,
        serious_safety_fault_repairs=figures.serious_safety_fault_repairs,
        engine_or_transmission_replacements=figures.engine_or_transmission_replacements,
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
    owed. A store sees the cars it repaired or sold; HQ every car, or one store's with `store_id`."""
    scope = principal.store_id if not principal.is_hq else store_id
    if store_id and not principal.can_see_store(store_id):
        raise NotFound("no such store")
    today, items = _today(clock), []
    vins = await repository.vins_with_quality_repairs(session, scope)
    cars = await repository.repairs_of_each(session, vins)
    registrations = await repository.registrations_of(session, vins)
    read_by = await rules(session)
    for vin, rows in cars.items():
        standing = Standing(vin, rows, today, registrations.get(vin), read_by)
        one_step, reached = standing.keys(Status.one_step), standing.keys(Status.reached)
        if standing.validity == Validity.expired or not (one_step or reached or standing.loaner_owed):
            continue
        seen_at = sorted({r.store_id for r in standing.rows if principal.can_see_store(r.store_id)})
        if not seen_at and principal.stores is not None:
            continue  # a region manager's list: cars its regions' stores repaired
        items.append(AtRiskCar(
            vin=vin, store_ids=seen_at,
            validity=standing.validity, sale_date=standing.sale_date, sale_date_source=standing.sale_date_source,
            selling_store_id=standing.registration.store_id if standing.registration else None,
            one_step_away=one_step, reached=reached,
            loaner_owed=standing.loaner_owed, last_repair_at=max(r.opened_at for r in standing.rows)))
    return AtRiskList(items=items)
