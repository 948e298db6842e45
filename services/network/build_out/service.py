"""The build-out plan: where the brand means to open outlets, and how far its applicants got.

A plan is a region's target cities for a year, each with the outlets planned there (HQ
sets it, PUT again to change it: a new version). The funnel follows every application
submitted in a year (China's calendar) through the steps an outlet takes, each entered by a
fact the platform records already:

    applied (application submitted) -> approved (HQ approved; the outlet's store is made)
    -> contracted (checklist: warranty_agreement_signed) -> building (checklist: the first
    of staff_trained, it_integration_tested, parts_account_opened) -> audited (checklist:
    facility_audit_passed) -> active (the store activated)

A step counts as entered only once the one before it was, and no earlier than it was (an
item ticked off ahead of its turn waits for the steps before it), so the counts only fall
from step to step and no time in a step is negative. The days of a step run from entering
it to entering the next, over the outlets that went on (median and 90th percentile).

Which region an outlet counts for: the region its store was first placed in, where it was
built out (a later move does not take its build-out with it: figures stay where they were
made, as region KPIs do); before its store exists, the region whose plan for the year names
the application's city; else none (HQ's row of unplanned applications). Who: HQ every
region; a region manager its regions' plans and funnel, and its regions' outlets now."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import NotFound
from services.common.identity import Principal
from services.common.ids import new_id
from services.common.stores import within_stores
from services.common.versioning import check_version
from services.network.applications.models import OutletApplication
from services.network.build_out import repository
from services.network.build_out.models import BuildOutPlan
from services.network.build_out.schemas import (
    STEP_NAMES,
    ChecklistProgress,
    CityProgress,
    Funnel,
    FunnelStep,
    OutletProgress,
    OutletProgressList,
    PlanList,
    PlanPublic,
    PlanPut,
    RegionFunnel,
    StepFigures,
)
from services.network.calendar import HQ_ZONE
from services.network.onboarding import service as onboarding
from services.network.regions import repository as regions_repository
from services.network.regions import service as regions
from services.network.regions.models import Region
from services.network.stores.models import Store

STEPS = list(FunnelStep)
CONTRACT_ITEM = "warranty_agreement_signed"
BUILDING_ITEMS = ("staff_trained", "it_integration_tested", "parts_account_opened")
AUDIT_ITEM = onboarding.FACILITY_AUDIT_ITEM
DAY = Decimal("0.1")


def _city_key(city: str) -> str:
    return city.strip().removesuffix("市").casefold()


@dataclass
class Journey:
    """One application's way through the steps: when it entered each step it reached."""

    region_id: str | None
    city: str
    rejected: bool
    entered: list[datetime] = field(default_factory=list)


def _entered(application: OutletApplication, store: Store | None, done: dict[str, datetime]) -> list[datetime]:
    building = [done[code] for code in BUILDING_ITEMS if code in done]
    facts: list[datetime | None] = [
        application.submitted_at,
        application.reviewed_at if application.status == "approved" and store is not None else None,
        done.get(CONTRACT_ITEM),
        min(building) if building else None,
        done.get(AUDIT_ITEM),
        store.activated_at if store is not None else None,
    ]
    out: list[datetime] = []
    for fact in facts:
        if fact is None:
            break
        out.append(max(fact, out[-1]) if out else fact)
    return out


async def journeys(session: AsyncSession, year: int) -> list[Journey]:
    since = datetime(year, 1, 1, tzinfo=HQ_ZONE)
    until = datetime(year + 1, 1, 1, tzinfo=HQ_ZONE)
    applications = await repository.applications(session, since, until)
    store_ids = [a.store_id for a in applications if a.store_id]
    stores = await repository.stores(session, store_ids)
    done = await repository.done_items(session, store_ids)
    built_in = await repository.first_regions(session, store_ids)
    planned_in: dict[str, str] = {}
    for plan in sorted(await repository.plans(session, year, None), key=lambda p: p.region_id):
        for planned in plan.cities:
            planned_in.setdefault(_city_key(planned["city"]), plan.region_id)
    out = []
    for application in applications:
        store = stores.get(application.store_id) if application.store_id else None
        city = _city_key(str((application.address or {}).get("city") or ""))
        region_id = (built_in.get(store.id) or store.region_id) if store else None
        out.append(Journey(region_id=region_id or planned_in.get(city), city=city,
                           rejected=application.status == "rejected",
                           entered=_entered(application, store, done.get(store.id, {}) if store else {})))
    return out


def _days(spans: list[float]) -> tuple[Decimal | None, Decimal | None]:
    if not spans:
        return None, None
    ordered = sorted(spans)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]  # nearest rank
    return (Decimal(str(statistics.median(ordered))).quantize(DAY), Decimal(str(p90)).quantize(DAY))


def _steps(mine: list[Journey]) -> list[StepFigures]:
    out = []
    for i, step in enumerate(STEPS):
        reached = [j for j in mine if len(j.entered) > i]
        went_on = [j for j in reached if len(j.entered) > i + 1]
        median, p90 = _days([(j.entered[i + 1] - j.entered[i]).total_seconds() / 86400 for j in went_on])
        out.append(StepFigures(step=step, name=STEP_NAMES[step], reached=len(reached),
                               here_now=sum(1 for j in reached if len(j.entered) == i + 1 and not j.rejected),
                               days_median=median, days_p90=p90, went_on=len(went_on)))
    return out


async def _readable_regions(session: AsyncSession, principal: Principal, region_id: str | None) -> list[Region]:
    """The regions a caller reads figures of: one it names (another's is 404), else all of its own."""
    if region_id is not None:
        return [await regions.get_visible(session, principal, region_id)]
    person = regions.scoped_person(principal)
    managed = sorted(await regions_repository.managed_region_ids(session, person)) if person else None
    return await repository.regions(session, managed)


async def funnel(session: AsyncSession, principal: Principal, year: int, region_id: str | None) -> Funnel:
    shown = await _readable_regions(session, principal, region_id)
    everyone = await journeys(session, year)
    plans = {p.region_id: p for p in await repository.plans(session, year, [r.id for r in shown])}
    rows = []
    for region in shown:
        mine = [j for j in everyone if j.region_id == region.id]
        plan = plans.get(region.id)
        rows.append(RegionFunnel(region_id=region.id, region_code=region.code,
                                 planned_outlets=plan.planned_outlets if plan else 0,
                                 rejected=sum(1 for j in mine if j.rejected), steps=_steps(mine)))
    if region_id is None and regions.scoped_person(principal) is None:
        nowhere = [j for j in everyone if j.region_id is None]
        rows.append(RegionFunnel(region_id=None, region_code=None, planned_outlets=0,
                                 rejected=sum(1 for j in nowhere if j.rejected), steps=_steps(nowhere)))
    return Funnel(year=year, regions=rows)


# ---- plans ------------------------------------------------------------------------------

def _plan_public(plan: BuildOutPlan, region: Region, everyone: list[Journey]) -> PlanPublic:
    mine = [j for j in everyone if j.region_id == region.id]
    approved, active = STEPS.index(FunnelStep.APPROVED), STEPS.index(FunnelStep.ACTIVE)

    def counts(js: list[Journey]) -> tuple[int, int, int]:
        return (len(js), sum(1 for j in js if len(j.entered) > approved),
                sum(1 for j in js if len(j.entered) > active))

    cities = []
    for c in plan.cities:
        applied, approved_n, active_n = counts([j for j in mine if j.city == _city_key(c["city"])])
        cities.append(CityProgress(province=c["province"], city=c["city"], planned_outlets=c["planned_outlets"],
                                   applied=applied, approved=approved_n, active=active_n))
    applied, approved_n, active_n = counts(mine)
    return PlanPublic(id=plan.id, region_id=region.id, region_code=region.code, year=plan.year,
                      planned_outlets=plan.planned_outlets, applied=applied, approved=approved_n, active=active_n,
                      cities=cities, note=plan.note, updated_at=plan.updated_at, updated_by=plan.updated_by,
                      updated_by_name=plan.updated_by_name, version=plan.version)


async def put_plan(session: AsyncSession, clock: Clock, principal: Principal, region_id: str, year: int,
                   data: PlanPut, expected_version: int | None) -> PlanPublic:
    region = await regions.get_visible(session, principal, region_id, for_update=True)
    plan = await repository.plan(session, region.id, year, for_update=True)
    cities: list[dict[str, Any]] = [c.model_dump() for c in sorted(data.cities, key=lambda c: (c.province, c.city))]
    now = clock.now()
    if plan is None:
        plan = BuildOutPlan(id=new_id(), region_id=region.id, year=year, cities=cities, version=1,
                            planned_outlets=sum(c["planned_outlets"] for c in cities), note=data.note,
                            updated_at=now, updated_by=principal.id, updated_by_name=principal.name or None)
    else:
        check_version(plan.version, expected_version)
        plan.cities, plan.planned_outlets, plan.note = cities, sum(c["planned_outlets"] for c in cities), data.note
        plan.updated_at, plan.updated_by, plan.updated_by_name = now, principal.id, principal.name or None
        plan.version += 1
    session.add(plan)
    await session.flush()
    return _plan_public(plan, region, await journeys(session, year))


async def get_plan(session: AsyncSession, principal: Principal, region_id: str, year: int) -> PlanPublic:
    region = await regions.get_visible(session, principal, region_id)
    plan = await repository.plan(session, region.id, year)
    if plan is None:
        raise NotFound(f"region {region.code} has no build-out plan for {year}")
    return _plan_public(plan, region, await journeys(session, year))


async def list_plans(session: AsyncSession, principal: Principal, year: int) -> PlanList:
    shown = {r.id: r for r in await _readable_regions(session, principal, None)}
    everyone = await journeys(session, year)
    plans = sorted(await repository.plans(session, year, list(shown)), key=lambda p: shown[p.region_id].code)
    return PlanList(year=year, items=[_plan_public(p, shown[p.region_id], everyone) for p in plans])


# ---- outlets being built ----------------------------------------------------------------

async def outlets(session: AsyncSession, principal: Principal, *, region_id: str | None, limit: int,
                  cursor: str | None) -> OutletProgressList:
    """Partner outlets in onboarding now with their checklist's progress; a region manager's:
    those now in its regions."""
    if region_id is not None:
        await regions.get_visible(session, principal, region_id)
    rows, next_cursor = await repository.onboarding_outlets(session, region_id=region_id,
                                                            within=within_stores(principal), limit=limit,
                                                            cursor=cursor)
    items = []
    for store in rows:
        checklist = await onboarding.checklist(session, store)
        items.append(OutletProgress(
            store_id=store.id, store_code=store.code, store_name=store.name, city=store.city,
            region_id=store.region_id, status=store.status, onboarding_since=store.created_at,
            checklist=ChecklistProgress(done=sum(1 for i in checklist.items if i.done), total=len(checklist.items),
                                        missing=[i.code for i in checklist.items if not i.done])))
    return OutletProgressList(items=items, next_cursor=next_cursor)
