"""The month's appraisal of each store's people.

Who may: the matrix's `network` area (HQ roles, a store's store_manager and
service_manager; outlet_api is refused here: a machine's key reads no one's appraisal). A
store's managers see their own store (another store is 404); HQ every store, or the one it
names; region_manager every store, as it does for targets until regions scope it.

Whom: every person the staff directory assigns to the store (except one who left before
the month and has nothing in it), and every id credited with figures in the store that
the directory does not know (a workshop technician record working under no person, a
machine's key), so no figure is dropped. The month is the store's local calendar month, as
the KPI facts' days are. Rules and sections: policy.py."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Forbidden, NotFound, ValidationFailed
from services.common.identity import Principal
from services.network.appraisals import policy, repository
from services.network.appraisals.schemas import AppraisalReport, PartsFigures, PersonAppraisal, StoreAppraisal
from services.network.calendar import HQ_ZONE
from services.network.people.models import Person
from services.network.people.schemas import PersonStatus
from services.network.targets import policy as targets
from services.network.targets.policy import Measure
from services.network.targets.schemas import MeasureAttainment

READERS = frozenset({"store_manager", "service_manager"})


def parse_month(month: str | None, clock: Clock) -> tuple[int, int]:
    if month is None:
        today = clock.now().astimezone(HQ_ZONE).date()
        return today.year, today.month
    try:
        year, number = (int(part) for part in month.split("-"))
    except ValueError:
        raise ValidationFailed("month", "须为 YYYY-MM must be YYYY-MM") from None
    if not (2000 <= year <= 2100 and 1 <= number <= 12):
        raise ValidationFailed("month", "须为 2000-01 至 2100-12 之间的月份 must be a month from 2000-01 to 2100-12")
    return year, number


def _scope(principal: Principal, store_id: str | None) -> str | None:
    if principal.is_hq:
        return store_id
    if principal.role not in READERS:
        raise Forbidden("考核仅总部与店内经理可见 appraisals are for HQ and the store's managers")
    if store_id and store_id != principal.store_id:
        raise NotFound("store not found")
    return principal.store_id


def _targets(shares: dict[Measure, int], c: policy.Counters, elapsed: int, days: int) -> list[MeasureAttainment]:
    rows = []
    for measure in Measure:
        if measure not in shares:
            continue
        rule, target = targets.RULES[measure], shares[measure]
        value = policy.target_actual(measure, c)
        ahead = targets.projected(measure, value, elapsed, days)
        rows.append(MeasureAttainment(
            measure=measure, unit=rule.unit, target=target, target_source=targets.TargetSource.MONTH, actual=value,
            attained=targets.attained(value, target), projected=ahead,
            projected_attained=targets.attained(ahead, target), not_measured=targets.unmeasured(measure, value)))
    return rows


def _listed(person: Person | None, month_start: date, counters: policy.Counters) -> bool:
    if person is None or person.status != PersonStatus.LEFT or person.left_on is None:
        return True
    return person.left_on >= month_start or any(counters.values())


async def appraisal(session: AsyncSession, clock: Clock, principal: Principal, year: int, month: int,
                    store_id: str | None) -> AppraisalReport:
    only = _scope(principal, store_id)
    # A region manager: the stores of its regions (naming another is 404).
    stores = [s for s in await repository.stores(session, only) if principal.can_see_store(s.id)]
    if only and not stores:
        raise NotFound("store not found")
    # Every store's ids even for HQ: the facts are read through their (store_id, day) index.
    ids = [s.id for s in stores]
    days = targets.month_days(year, month)
    since, until = date(year, month, 1), date(year, month, days)
    counters = await repository.person_counters(session, policy.PERSON_METRICS, since, until, ids)
    desks = await repository.store_counters(session, policy.PARTS_DESK, since, until, ids)
    base_days = await repository.base_days(session, since, until, ids)
    roles = await repository.assignments(session, ids)
    shares: dict[tuple[str, str], dict[Measure, int]] = defaultdict(dict)
    for row in await repository.shares(session, year, month, ids):
        shares[(row.store_id, row.person_id)][Measure(row.measure)] = row.value
    credited: dict[str, set[str]] = defaultdict(set)
    for sid, pid in (*counters, *shares):
        credited[sid].add(pid)
    people = await repository.people(session, {p for s in roles.values() for p in s} | {
        p for s in credited.values() for p in s})
    now = clock.now()
    out = []
    for store in stores:
        elapsed = targets.elapsed_days(year, month, now.astimezone(ZoneInfo(store.timezone)).date())
        desk = policy.parts_desk(desks.get(store.id, {}))
        rows = [_person(pid, people.get(pid), roles[store.id].get(pid), counters.get((store.id, pid), {}),
                        base_days.get((store.id, pid)), shares.get((store.id, pid), {}), desk, elapsed, days)
                for pid in set(roles[store.id]) | credited[store.id]
                if _listed(people.get(pid), since, counters.get((store.id, pid), {}))]
        rows.sort(key=lambda r: (not r.in_directory, r.name or "", r.person_id))
        out.append(StoreAppraisal(store_id=store.id, store_code=store.code, store_name=store.name, region=store.region,
                                  timezone=store.timezone, days_in_month=days, days_elapsed=elapsed, parts_desk=desk,
                                  people=rows))
    return AppraisalReport(month=f"{year:04d}-{month:02d}", as_of=now, stores=out)


def _person(person_id: str, person: Person | None, role: str | None, c: policy.Counters, base_day: date | None,
            shares: dict[Measure, int], desk: PartsFigures, elapsed: int, days: int) -> PersonAppraisal:
    shown = policy.sections(role, c)
    return PersonAppraisal(
        person_id=person_id, name=person.name if person else None, employee_no=person.employee_no if person else None,
        status=person.status if person else None, in_directory=person is not None, roles=[role] if role else [],
        advisor=policy.advisor(c, base_day) if "advisor" in shown else None,
        technician=policy.technician(c) if "technician" in shown else None,
        information_clerk=policy.information_clerk(c) if "information_clerk" in shown else None,
        warranty_clerk=policy.warranty_clerk(c) if "warranty_clerk" in shown else None,
        parts=desk if "parts" in shown else None,
        targets=_targets(shares, c, elapsed, days))
