"""Targets and their attainment.

HQ (hq_admin) sets a store's year. The store (its store_manager or service_manager, or
hq_admin) splits the year into months and the months down to its people: advisors,
technicians, parts clerks, information clerks (crm_agent) and warranty clerks assigned to
the store in the staff directory. A change of the year drops the split of each measure
whose figure changed, and a change of a month the people's shares of it, so a split never
stands against a figure it no longer adds up to; the answer names what was dropped.

Who may (the matrix's `targets` area, then these rules): a store's caller only their own
store (another store is 404); the year is hq_admin's alone (403 for a store). Attainment:
HQ every store, region and the network; a store's caller their own store, the managers
with its people, everyone else with themselves. A person's attainment: HQ and the
managers of a store the person works in; anyone their own.

Rules and units: policy.py."""
from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.common.identity import Principal
from services.network.calendar import HQ_ZONE
from services.network.people.models import Person
from services.network.people.schemas import PersonStatus, StaffRole
from services.network.regions import repository as region_repository
from services.network.stores.models import Store
from services.network.targets import policy, repository
from services.network.targets.models import PersonMonthTarget, StoreMonthTarget, StoreTarget
from services.network.targets.policy import RULES, Measure
from services.network.targets.schemas import (
    AnnualTargets,
    AttainmentReport,
    GroupAttainment,
    MeasureAttainment,
    MonthTargetIn,
    MonthTargets,
    MonthTargetsIn,
    PeopleMonthTargetsIn,
    PeopleTargets,
    PeopleTargetsIn,
    PersonAttainment,
    PersonAttainmentReport,
    PersonMonthTargetIn,
    StoreAttainment,
    TargetValues,
)
from services.network.targets.schemas import (
    PersonMonthTarget as PersonMonthTargetOut,
)

MANAGERS = frozenset({StaffRole.STORE_MANAGER, StaffRole.SERVICE_MANAGER})
TARGET_ROLES = frozenset({StaffRole.SERVICE_ADVISOR, StaffRole.TECHNICIAN, StaffRole.PARTS_CLERK, StaffRole.CRM_AGENT,
                          StaffRole.WARRANTY_CLERK})


def _values(rows) -> TargetValues:
    return TargetValues(**{row.measure: row.value for row in rows})


def _latest(rows) -> tuple[str | None, datetime | None]:
    last = max(rows, key=lambda r: r.set_at, default=None)
    return (last.set_by, last.set_at) if last else (None, None)


async def _store(session: AsyncSession, principal: Principal, store_id: str, *, for_update: bool = False) -> Store:
    if not principal.can_see_store(store_id):
        raise NotFound("store not found")
    store = await repository.store(session, store_id, for_update=for_update)
    if store is None:
        raise NotFound("store not found")
    return store


# ---- the year, its months, its people ------------------------------------------------

async def get_annual(session: AsyncSession, principal: Principal, store_id: str, year: int) -> AnnualTargets:
    await _store(session, principal, store_id)
    rows = await repository.annual(session, store_id, year)
    set_by, set_at = _latest(rows)
    return AnnualTargets(store_id=store_id, year=year, targets=_values(rows), set_by=set_by, set_at=set_at)


async def set_annual(session: AsyncSession, clock: Clock, principal: Principal, store_id: str, year: int,
                     data: TargetValues) -> AnnualTargets:
    if principal.role != "hq_admin":
        raise Forbidden("总部设定年度目标 the year's targets are set by HQ (hq_admin)")
    await _store(session, principal, store_id, for_update=True)
    now, wanted = clock.now(), data.given()
    before = {Measure(r.measure): r.value for r in await repository.annual(session, store_id, year)}
    changed = sorted(m for m in set(before) | set(wanted) if before.get(m) != wanted.get(m))
    split = {Measure(r.measure) for r in await repository.months(session, [store_id], year)}
    # A rate's months are set as they are and still stand when its year moves.
    dropped = [m for m in changed if m in split and (RULES[m].additive or m not in wanted)]
    if dropped:
        await repository.drop_months(session, store_id, year, list(dropped))
    await repository.replace(session, StoreTarget, [
        StoreTarget(store_id=store_id, year=year, measure=m, value=v, set_by=principal.id, set_at=now)
        for m, v in wanted.items()], store_id=store_id, year=year)
    return AnnualTargets(store_id=store_id, year=year, targets=data, set_by=principal.id, set_at=now,
                         splits_dropped=dropped)


async def get_months(session: AsyncSession, principal: Principal, store_id: str, year: int) -> MonthTargets:
    await _store(session, principal, store_id)
    annual = await repository.annual(session, store_id, year)
    rows = await repository.months(session, [store_id], year)
    by_month: dict[int, dict[str, int]] = defaultdict(dict)
    for row in rows:
        by_month[row.month][row.measure] = row.value
    set_by, set_at = _latest(rows)
    return MonthTargets(store_id=store_id, year=year, annual=_values(annual),
                        months=[MonthTargetIn(month=m, **by_month[m]) for m in sorted(by_month)],
                        set_by=set_by, set_at=set_at)


async def set_months(session: AsyncSession, clock: Clock, principal: Principal, store_id: str, year: int,
                     data: MonthTargetsIn) -> MonthTargets:
    await _store(session, principal, store_id, for_update=True)
    annual = {Measure(r.measure): r.value for r in await repository.annual(session, store_id, year)}
    if not annual:
        raise Conflict(f"总部尚未设定 {year} 年目标 HQ has not set the targets of {year} for this store")
    months = {entry.month: entry.given() for entry in data.months}
    problem = policy.month_split_problem(annual, months) if len(months) == len(data.months) else (
        policy.SplitProblem("months", "每月一行 one entry for each month 1 to 12, each once"))
    if problem:
        raise ValidationFailed(problem.field, problem.message)
    before = {(r.month, Measure(r.measure)): r.value for r in await repository.months(session, [store_id], year)}
    after = {(month, m): v for month, values in months.items() for m, v in values.items()}
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    shared = {(r.month, Measure(r.measure)) for r in await repository.shares(session, year=year, store_ids=[store_id])}
    dropped = [k for k in changed if k in shared and (RULES[k[1]].additive or (k not in after and k[1] not in annual))]
    if dropped:
        await repository.drop_shares(session, store_id, year, [(m, month) for month, m in dropped])
    now = clock.now()
    await repository.replace(session, StoreMonthTarget, [
        StoreMonthTarget(store_id=store_id, year=year, month=month, measure=m, value=v, set_by=principal.id,
                         set_at=now) for (month, m), v in sorted(after.items())], store_id=store_id, year=year)
    answer = await get_months(session, principal, store_id, year)
    answer.shares_dropped = [f"{month}:{m}" for month, m in dropped]
    return answer


def _may_carry_targets(person: Person | None, role: str | None, year: int, month: int) -> str | None:
    """Why the person may not hold a share of this month in the store (None: they may)."""
    if person is None or role is None:
        return "不在本店员工名录中 not one of this store's people in the staff directory"
    if role not in TARGET_ROLES:
        return (f"岗位 {role} 不分解个人目标 a {role} holds no personal targets (advisors, technicians, parts clerks, "
                "information clerks and warranty clerks do)")
    if person.status == PersonStatus.LEFT and person.left_on and (year, month) > (person.left_on.year,
                                                                                  person.left_on.month):
        return f"已于 {person.left_on} 离职 left on {person.left_on}"
    return None


async def _store_months(session: AsyncSession, store_id: str, year: int) -> dict[int, dict[Measure, int]]:
    """The store's figure per month that people's shares are checked against: its split, and
    for a rate it gave no month figure for, the year's."""
    annual = {Measure(r.measure): r.value for r in await repository.annual(session, store_id, year)}
    out: dict[int, dict[Measure, int]] = {m: {k: v for k, v in annual.items() if not RULES[k].additive}
                                          for m in range(1, 13)}
    for row in await repository.months(session, [store_id], year):
        out[row.month][Measure(row.measure)] = row.value
    return out


async def get_people(session: AsyncSession, principal: Principal, store_id: str, year: int) -> PeopleTargets:
    await _store(session, principal, store_id)
    rows = await repository.shares(session, year=year, store_ids=[store_id])
    roles = (await repository.assignments(session, [store_id]))[store_id]
    people = await repository.people(session, (r.person_id for r in rows))
    grouped: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    for row in rows:
        grouped[(row.month, row.person_id)][row.measure] = row.value
    set_by, set_at = _latest(rows)
    return PeopleTargets(store_id=store_id, year=year, set_by=set_by, set_at=set_at, people=[
        PersonMonthTargetOut(person_id=pid, month=month, name=people[pid].name, role=roles.get(pid, ""), **values)
        for (month, pid), values in sorted(grouped.items())])


async def set_people(session: AsyncSession, clock: Clock, principal: Principal, store_id: str, year: int,
                     data: PeopleTargetsIn) -> PeopleTargets:
    await _store(session, principal, store_id, for_update=True)
    roles = (await repository.assignments(session, [store_id]))[store_id]
    people = await repository.people(session, (e.person_id for e in data.people))
    shares: dict[tuple[int, str], dict[Measure, int]] = {}
    for index, entry in enumerate(data.people):
        why = _may_carry_targets(people.get(entry.person_id), roles.get(entry.person_id), year, entry.month)
        if why:
            raise ValidationFailed(f"people[{index}].person_id", why)
        if (entry.month, entry.person_id) in shares:
            raise ValidationFailed(f"people[{index}].month", "同一人同月只能一行 one entry per person and month")
        shares[(entry.month, entry.person_id)] = entry.given()
    problem = policy.people_split_problem(await _store_months(session, store_id, year), shares)
    if problem:
        raise ValidationFailed(problem.field, problem.message)
    now = clock.now()
    await repository.replace(session, PersonMonthTarget, [
        PersonMonthTarget(store_id=store_id, year=year, month=month, person_id=pid, measure=m, value=v,
                          set_by=principal.id, set_at=now)
        for (month, pid), values in sorted(shares.items()) for m, v in values.items()], store_id=store_id, year=year)
    await session.flush()
    return await get_people(session, principal, store_id, year)


async def set_people_month(session: AsyncSession, clock: Clock, principal: Principal, store_id: str, year: int,
                           month: int, data: PeopleMonthTargetsIn) -> PeopleTargets:
    """One month's shares: the year's other months keep theirs, and the whole year is checked
    as `set_people` checks it. This body's entries come first, so `people[i]` in a 422 is the
    body's i-th entry."""
    fields = set(PersonMonthTargetIn.model_fields)
    kept = [PersonMonthTargetIn.model_validate(entry.model_dump(include=fields))
            for entry in (await get_people(session, principal, store_id, year)).people if entry.month != month]
    given = [PersonMonthTargetIn(**entry.model_dump(), month=month) for entry in data.people]
    return await set_people(session, clock, principal, store_id, year, PeopleTargetsIn(people=given + kept))


# ---- attainment ----------------------------------------------------------------------

def _row(measure: Measure, target: int | None, source, value: int | None, elapsed: int, days: int,
         not_measured: str | None = None) -> MeasureAttainment:
    rule = RULES[measure]
    ahead = policy.projected(measure, value, elapsed, days)
    return MeasureAttainment(measure=measure, unit=rule.unit, target=target, target_source=source, actual=value,
                             attained=policy.attained(value, target), projected=ahead,
                             projected_attained=policy.attained(ahead, target),
                             not_measured=not_measured or policy.unmeasured(measure, value))


def _person_rows(targets: dict[Measure, int], counters: dict[str, int], elapsed: int, days: int
                 ) -> list[MeasureAttainment]:
    rows = []
    for measure in Measure:
        measured = measure in policy.PERSON_MEASURES
        value = policy.actual(measure, counters) if measured else None
        rows.append(_row(measure, targets.get(measure), policy.TargetSource.MONTH if measure in targets else None,
                         value, elapsed, days, None if measured else policy.PERSON_NOT_MEASURED))
    return rows


def parse_period(period: str | None, clock: Clock) -> tuple[int, int]:
    if period is None:
        today = clock.now().astimezone(HQ_ZONE).date()
        return today.year, today.month
    try:
        year, month = (int(part) for part in period.split("-"))
    except ValueError:
        raise ValidationFailed("period", "须为 YYYY-MM must be YYYY-MM") from None
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise ValidationFailed("period", "须为 2000-01 至 2100-12 之间的月份 must be a month from 2000-01 to 2100-12")
    return year, month


def _window(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, policy.month_days(year, month))


async def attainment(session: AsyncSession, clock: Clock, principal: Principal, year: int, month: int,
                     store_id: str | None) -> AttainmentReport:
    if principal.store_id:
        if store_id and store_id != principal.store_id:
            raise NotFound("store not found")
        store_id = principal.store_id
    # A region manager: the stores of its regions (naming another is 404).
    stores = [s for s in await repository.stores(session, store_id) if principal.can_see_store(s.id)]
    if store_id and not stores:
        raise NotFound("store not found")
    ids = [s.id for s in stores]
    since, until = _window(year, month)
    days, now = policy.month_days(year, month), clock.now()
    counters = await repository.counters(session, policy.COUNTER_METRICS, since, until, ids)
    annual: dict[str, dict[Measure, int]] = defaultdict(dict)
    for row in await repository.annual_of(session, ids, year):
        annual[row.store_id][Measure(row.measure)] = row.value
    split: dict[str, dict[Measure, int]] = defaultdict(dict)
    for m_row in await repository.months(session, ids, year, month):
        split[m_row.store_id][Measure(m_row.measure)] = m_row.value
    with_people = store_id is not None
    out: list[StoreAttainment] = []
    figures: dict[str, tuple[int, dict[Measure, tuple[int | None, int | None, int | None]]]] = {}
    for store in stores:
        elapsed = policy.elapsed_days(year, month, now.astimezone(ZoneInfo(store.timezone)).date())
        c = counters.get(store.id, {})
        rows, per_measure = [], {}
        for measure in Measure:
            target, source = policy.month_target(measure, year, month, annual[store.id], split[store.id])
            value = policy.actual(measure, c)
            figure = _row(measure, target, source, value, elapsed, days)
            rows.append(figure)
            per_measure[measure] = (target, value, figure.projected)
        figures[store.id] = (elapsed, per_measure)
        people = (await _store_people(session, principal, store, year, month, elapsed, days)) if with_people else None
        out.append(StoreAttainment(store_id=store.id, store_code=store.code, store_name=store.name, region=store.region,
                                   timezone=store.timezone, days_in_month=days, days_elapsed=elapsed, measures=rows,
                                   people=people))
    regions: dict[str, list[Store]] = defaultdict(list)
    for store in stores:
        regions[store.region].append(store)
    return AttainmentReport(
        period=f"{year:04d}-{month:02d}", as_of=now, stores=out,
        regions=[_group(region, members, counters, figures, days) for region, members in sorted(regions.items())],
        network=_group(None, stores, counters, figures, days))


def _group(region: str | None, stores: list[Store], counters: dict[str, dict[str, int]],
           figures: dict[str, tuple[int, dict[Measure, tuple[int | None, int | None, int | None]]]], days: int
           ) -> GroupAttainment:
    """A region's or the network's figures over the stores in it that have a target for the
    measure (all of them when none has): counts and money summed, a rate from the summed
    counters with a target weighted by each store's volume (surveys, callbacks due, orders
    delivered), a plain mean of the targets while there is no volume."""
    rows = []
    for measure in Measure:
        rule = RULES[measure]
        targeted = [s for s in stores if figures[s.id][1][measure][0] is not None]
        members = targeted or stores
        summed: dict[str, int] = defaultdict(int)
        for s in members:
            for metric, amount in counters.get(s.id, {}).items():
                summed[metric] += amount
        value = policy.actual(measure, summed)
        target: int | None = None
        if targeted and rule.additive:
            target = sum(figures[s.id][1][measure][0] or 0 for s in targeted)
        elif targeted:
            weights = [(figures[s.id][1][measure][0] or 0, policy.weight(measure, counters.get(s.id, {})))
                       for s in targeted]
            total = sum(w for _, w in weights)
            target = (policy.divide(sum(t * w for t, w in weights), total) if total
                      else policy.divide(sum(t for t, _ in weights), len(weights)))
        projected = None
        if rule.additive:
            ahead = [figures[s.id][1][measure][2] for s in members]
            projected = None if value is None or any(a is None for a in ahead) else sum(a or 0 for a in ahead)
        elif any(figures[s.id][0] for s in members):
            projected = value
        rows.append(MeasureAttainment(
            measure=measure, unit=rule.unit, target=target, actual=value, attained=policy.attained(value, target),
            projected=projected, projected_attained=policy.attained(projected, target),
            target_source=None, not_measured=policy.unmeasured(measure, value)))
    return GroupAttainment(region=region, store_ids=[s.id for s in stores], measures=rows)


# What the database needs of each measure to work out a store's month (policy.py's rules).
SPECS = [repository.MeasureSpec(m.value, RULES[m].additive, tuple(RULES[m].metrics), m is Measure.GROSS_MARGIN_FEN)
         for m in Measure]
NOTHING = (0, 0, 0)


def group_row(measure: Measure, sums: repository.GroupSums | None) -> MeasureAttainment:
    """A group's figure from the database's sums by `_group`'s rule: over the stores with a
    target for the measure (all of them when none has), counts and money summed, a rate's target
    weighted by each store's volume (a plain mean while there is none), a rate projected as it
    stands once some store's month has begun."""
    rule = RULES[measure]
    targeted = sums is not None and sums.targeted > 0
    counters = (sums.t_counters if targeted else sums.all_counters) if sums is not None else NOTHING
    value = policy.actual(measure, dict(zip(rule.metrics, counters, strict=False)))
    target: int | None = None
    if sums is not None and targeted:
        if rule.additive:
            target = sums.target_sum
        else:
            target = policy.divide(*((sums.weighted, sums.weight) if sums.weight
                                     else (sums.target_sum, sums.targeted)))
    projected: int | None = None
    if rule.additive:
        unprojected = sums is not None and (sums.t_unprojected if targeted else sums.all_unprojected)
        ahead = (sums.t_projected if targeted else sums.all_projected) if sums is not None else 0
        projected = None if value is None or unprojected else ahead
    elif sums is not None and (sums.t_elapsed if targeted else sums.all_elapsed):
        projected = value
    return MeasureAttainment(measure=measure, unit=rule.unit, target=target, target_source=None, actual=value,
                             attained=policy.attained(value, target), projected=projected,
                             projected_attained=policy.attained(projected, target),
                             not_measured=policy.unmeasured(measure, value))


async def month_of_stores(session: AsyncSession, clock: Clock, principal: Principal, year: int, month: int,
                          store_id: str | None) -> tuple[dict[str, list[MeasureAttainment]], list[MeasureAttainment]]:
    """Each visible store's month measures and the network's over them, as GET
    /v1/targets/attainment gives them (GET /v1/kpis carries them beside its figures). One store:
    that read itself. Many (HQ, a region manager): the database works out every store's targets
    and counters in one query and the network's sums in another, so 2,000 stores cost no per-store
    queries nor Python sums; each store's row still goes through policy.py and `_row`."""
    if principal.store_id or store_id or not principal.is_hq:
        report = await attainment(session, clock, principal, year, month, store_id)
        return {s.store_id: s.measures for s in report.stores}, report.network.measures
    managed = (await region_repository.managed_region_ids(session, principal.id)
               if principal.role == "region_manager" else None)
    days, now = policy.month_days(year, month), clock.now()
    elapsed = {zone: policy.elapsed_days(year, month, now.astimezone(ZoneInfo(zone)).date())
               for zone in await repository.store_zones(session, managed)}
    year_days = 366 if calendar.isleap(year) else 365
    stores: dict[str, list[MeasureAttainment]] = {}
    for store in await repository.store_months(session, SPECS, year=year, month=month, days=days,
                                               year_days=year_days, elapsed=elapsed, region_ids=managed):
        annual = {Measure(m): v for m, v in store.annual.items()}
        split = {Measure(m): v for m, v in store.split.items()}
        out = []
        for measure in Measure:
            target, source = policy.month_target(measure, year, month, annual, split)
            counters: dict[str, int] = dict(zip(RULES[measure].metrics, store.counters[measure.value], strict=False))
            out.append(_row(measure, target, source, policy.actual(measure, counters), store.elapsed, days))
        stores[store.store_id] = out
    sums = await repository.attainment_sums(session, SPECS, year=year, month=month, days=days, year_days=year_days,
                                            elapsed=elapsed, region_ids=managed)
    network = {r.measure: r for r in sums if r.network}
    return stores, [group_row(m, network.get(m.value)) for m in Measure]


async def _store_people(session: AsyncSession, principal: Principal, store: Store, year: int, month: int,
                        elapsed: int, days: int) -> list[PersonAttainment]:
    since, until = _window(year, month)
    roles = (await repository.assignments(session, [store.id]))[store.id]
    sees_all = principal.is_hq or principal.role in MANAGERS
    only = None if sees_all else principal.id
    targets: dict[str, dict[Measure, int]] = defaultdict(dict)
    for row in await repository.shares(session, year=year, month=month, store_ids=[store.id], person_id=only):
        targets[row.person_id][Measure(row.measure)] = row.value
    actuals = {pid: c for (_, pid), c in (await repository.person_counters(
        session, policy.PERSON_METRICS, since, until, store_ids=[store.id], person_id=only)).items()}
    wanted = set(targets) | set(actuals) | {pid for pid, role in roles.items() if role in TARGET_ROLES}
    if only is not None:
        wanted &= {only}
    people = await repository.people(session, wanted)
    return [PersonAttainment(person_id=pid, name=people[pid].name, role=roles.get(pid), store_id=store.id,
                             measures=_person_rows(targets[pid], actuals.get(pid, {}), elapsed, days))
            for pid in sorted(wanted, key=lambda p: (people[p].name, p) if p in people else ("", p)) if pid in people]


async def person_attainment(session: AsyncSession, clock: Clock, principal: Principal, person_id: str, year: int,
                            month: int) -> PersonAttainmentReport:
    person = (await repository.people(session, [person_id])).get(person_id)
    roles = await repository.assignments_of(session, person_id) if person else {}
    if person is None or (principal.store_id and principal.store_id not in roles) or (
            principal.stores is not None and not principal.stores & roles.keys()):
        raise NotFound("person not found")
    if not principal.is_hq and principal.role not in MANAGERS and principal.id != person_id:
        raise Forbidden("个人达成仅本人与店内经理可见 a person's attainment is theirs and their store managers' to see")
    store_ids = [principal.store_id] if principal.store_id else sorted(s for s in roles if principal.can_see_store(s))
    stores = {s.id: s for s in [await repository.store(session, sid) for sid in store_ids] if s is not None}
    since, until = _window(year, month)
    days, now = policy.month_days(year, month), clock.now()
    targets: dict[str, dict[Measure, int]] = defaultdict(dict)
    for row in await repository.shares(session, year=year, month=month, person_id=person_id, store_ids=store_ids):
        targets[row.store_id][Measure(row.measure)] = row.value
    actuals = {sid: c for (sid, _), c in (await repository.person_counters(
        session, policy.PERSON_METRICS, since, until, store_ids=store_ids, person_id=person_id)).items()}
    out = []
    for sid, store in sorted(stores.items()):
        elapsed = policy.elapsed_days(year, month, now.astimezone(ZoneInfo(store.timezone)).date())
        out.append(PersonAttainment(person_id=person_id, name=person.name, role=roles.get(sid), store_id=sid,
                                    measures=_person_rows(targets[sid], actuals.get(sid, {}), elapsed, days)))
    return PersonAttainmentReport(person_id=person_id, name=person.name, period=f"{year:04d}-{month:02d}", as_of=now,
                                  stores=out)


async def store_to_date(session: AsyncSession, store: Store, day: date) -> list[MeasureAttainment]:
    """The store's month up to `day`, a local day (the daily report's "targets to date"): each
    measure's month target, the actual from the 1st to that day, and the month at that pace."""
    year, month = day.year, day.month
    counters = (await repository.counters(session, policy.COUNTER_METRICS, date(year, month, 1), day, [store.id])
                ).get(store.id, {})
    annual = {Measure(r.measure): r.value for r in await repository.annual(session, store.id, year)}
    split = {Measure(r.measure): r.value for r in await repository.months(session, [store.id], year, month)}
    rows = []
    for measure in Measure:
        target, source = policy.month_target(measure, year, month, annual, split)
        rows.append(_row(measure, target, source, policy.actual(measure, counters), day.day,
                         policy.month_days(year, month)))
    return rows
