"""Regions (大区) and areas (片区): region → area → store.

A store is in one area at a time. Placing it, and every move after, closes its stay in the
old area the day before the new one starts and opens a stay in the new one
(store_area_memberships), so a region's figures for a past day are those of the stores it
held that day: a store moved away leaves its history where it was made.

Who: hq_admin creates regions and areas, places and moves stores and names each region's
managers; hq_admin and hq_analyst read every region. A region manager (a person with the
HQ role region_manager, assigned here to regions) reads its regions only (another is 404)
and, in network's store lists, KPIs and per-store routes, sees the stores in its regions
now and no other (stores.service, kpis.service). A region manager assigned nowhere sees
no store: the role alone is no longer the whole network."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.identity import Principal
from services.common.ids import new_id
from services.network.kpis import repository as kpi_repository
from services.network.kpis.projection import SNAPSHOT_METRICS, WINDOW_METRICS
from services.network.kpis.schemas import NetworkFigures, StoreFigures
from services.network.kpis.service import figures, gross_margin
from services.network.people.schemas import HqRole, PersonStatus
from services.network.regions import repository
from services.network.regions.models import Area, Region, RegionManager, StoreMembership
from services.network.regions.schemas import (
    AreaCreate,
    AreaPublic,
    ManagerPublic,
    ManagersReplace,
    MembershipPublic,
    RegionCreate,
    RegionKpis,
    RegionList,
    RegionPublic,
    RegionUpdate,
    StoreMove,
    StorePlacement,
)
from services.network.stores.models import Store

REGION_MANAGER = HqRole.REGION_MANAGER.value


def scoped_person(principal: Principal) -> str | None:
    """The person whose regions bound what the caller sees: a region manager's own id; None
    for everyone else (HQ sees every store, a store's caller its own by the usual rules)."""
    return principal.id if principal.role == REGION_MANAGER else None


async def narrowed(session: AsyncSession, principal: Principal) -> Principal:
    """The caller with the stores it sees and acts on: a region manager's are the stores in
    its regions now (a store moved away goes with its claims, audits and reports to its new
    region's manager); everyone else is as the gateway vouched."""
    if principal.role != REGION_MANAGER:
        return principal
    return replace(principal, stores=frozenset(await repository.stores_managed_by(session, principal.id)))


async def may_see_store(session: AsyncSession, principal: Principal, store: Store) -> bool:
    person = scoped_person(principal)
    return person is None or await repository.manages(session, person, store.region_id)


# ---- regions and areas ----------------------------------------------------------------

async def get_visible(session: AsyncSession, principal: Principal, region_id: str, *,
                      for_update: bool = False) -> Region:
    region = await repository.get(session, region_id, for_update=for_update)
    person = scoped_person(principal)
    if region is None or (person is not None and not await repository.manages(session, person, region.id)):
        raise NotFound("region not found")
    return region


async def public_many(session: AsyncSession, regions: list[Region]) -> list[RegionPublic]:
    ids = [r.id for r in regions]
    areas, counts, managers = (await repository.areas_of(session, ids), await repository.store_counts(session, ids),
                               await repository.managers_of(session, ids))
    out = []
    for region in regions:
        mine = [AreaPublic(id=a.id, region_id=a.region_id, code=a.code, name=a.name, store_count=counts.get(a.id, 0),
                           created_at=a.created_at) for a in areas if a.region_id == region.id]
        out.append(RegionPublic(
            id=region.id, code=region.code, name=region.name, store_count=sum(a.store_count for a in mine),
            claim_review_limit_fen=region.claim_review_limit_fen, areas=mine, created_at=region.created_at,
            version=region.version,
            managers=[ManagerPublic(person_id=m.person_id, name=name, assigned_at=m.assigned_at)
                      for m, name in managers if m.region_id == region.id]))
    return out


async def public(session: AsyncSession, region: Region) -> RegionPublic:
    return (await public_many(session, [region]))[0]


async def create_region(session: AsyncSession, clock: Clock, principal: Principal, data: RegionCreate
                        ) -> RegionPublic:
    if await repository.by_code(session, data.code):
        raise Conflict(f"region code {data.code} is taken", field="code")
    now = clock.now()
    region = Region(id=new_id(), code=data.code, name=data.name, created_at=now, created_by=principal.id,
                    claim_review_limit_fen=data.claim_review_limit_fen)
    session.add(region)
    await session.flush()
    session.add_all([Area(id=new_id(), region_id=region.id, code=a.code, name=a.name, created_at=now)
                     for a in data.areas])
    await session.flush()
    return await public(session, region)


async def add_area(session: AsyncSession, clock: Clock, region: Region, data: AreaCreate) -> AreaPublic:
    if any(a.code == data.code for a in await repository.areas_of(session, [region.id])):
        raise Conflict(f"region {region.code} has an area {data.code} already", field="code")
    area = Area(id=new_id(), region_id=region.id, code=data.code, name=data.name, created_at=clock.now())
    session.add(area)
    region.version += 1
    session.add(region)
    await session.flush()
    return AreaPublic(id=area.id, region_id=region.id, code=area.code, name=area.name, store_count=0,
                      created_at=area.created_at)


async def update(session: AsyncSession, region: Region, data: RegionUpdate) -> RegionPublic:
    if data.name is not None:
        region.name = data.name
    if data.claim_review_limit_fen is not None:
        region.claim_review_limit_fen = data.claim_review_limit_fen
    region.version += 1
    session.add(region)
    await session.flush()
    return await public(session, region)


async def claim_review_limit(session: AsyncSession, store: Store | None) -> int:
    """The largest claim a manager of the store's region decides now (0 for a store in no region)."""
    region = await repository.get(session, store.region_id) if store and store.region_id else None
    return region.claim_review_limit_fen if region else 0


async def list_regions(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None) -> RegionList:
    rows, next_cursor = await repository.page(session, limit=limit, cursor=cursor,
                                              managed_by=scoped_person(principal))
    return RegionList(items=await public_many(session, list(rows)), next_cursor=next_cursor)


async def replace_managers(session: AsyncSession, clock: Clock, principal: Principal, region: Region,
                           data: ManagersReplace) -> RegionPublic:
    found = await repository.people(session, data.person_ids)
    for i, person_id in enumerate(data.person_ids):
        person = found.get(person_id)
        if person is None or person.status != PersonStatus.ACTIVE or person.hq_role != REGION_MANAGER:
            raise ValidationFailed(f"person_ids.{i}", "must be an active person whose hq_role is region_manager")
    now = clock.now()
    await repository.replace_managers(session, region.id, [
        RegionManager(person_id=p, region_id=region.id, assigned_at=now, assigned_by=principal.id)
        for p in data.person_ids])
    region.version += 1
    session.add(region)
    await session.flush()
    return await public(session, region)


# ---- where a store is ----------------------------------------------------------------

def _store_today(clock: Clock, store: Store) -> date:
    return clock.now().astimezone(ZoneInfo(store.timezone)).date()


async def placement(session: AsyncSession, store: Store) -> StorePlacement:
    return StorePlacement(store_id=store.id, region_id=store.region_id, area_id=store.area_id, history=[
        MembershipPublic(region_id=m.region_id, region_code=region_code, area_id=m.area_id, area_code=area_code,
                         from_day=m.from_day, until_day=m.until_day, reason=m.reason, moved_by=m.moved_by,
                         moved_at=m.moved_at)
        for m, region_code, area_code in await repository.history(session, store.id)])


async def place(session: AsyncSession, clock: Clock, principal: Principal, store: Store, data: StoreMove
                ) -> StorePlacement:
    """Put the store (locked by the caller) in an area from a day: its first placement, or a
    move that closes its stay where it was."""
    area = await repository.area(session, data.area_id)
    if area is None:
        raise ValidationFailed("area_id", "no such area")
    region = await repository.get(session, area.region_id)
    assert region is not None  # an area's region is a foreign key
    today = _store_today(clock, store)
    current = await repository.open_membership(session, store.id)
    if current is None:
        day = data.effective_from or store.created_at.astimezone(ZoneInfo(store.timezone)).date()
    else:
        day = data.effective_from or today
        if current.area_id == area.id:
            raise Conflict(f"the store is in area {area.code} already", field="area_id")
        if day < current.from_day:
            raise ValidationFailed("effective_from", f"must not be before {current.from_day}, the day the store "
                                                     "entered its current area")
    if day > today:
        raise ValidationFailed("effective_from", f"a move takes effect today ({today}) or on a day past")
    now = clock.now()
    if current is not None and current.from_day == day:
        # Moved again the day it arrived: the stay it cuts short held the store for no day.
        current.area_id, current.region_id, current.reason = area.id, region.id, data.reason
        current.moved_by, current.moved_at = principal.id, now
        session.add(current)
    else:
        if current is not None:
            current.until_day = day
            session.add(current)
            await session.flush()  # the open stay is closed before the next opens (one open stay per store)
        session.add(StoreMembership(id=new_id(), store_id=store.id, area_id=area.id, region_id=region.id,
                                    from_day=day, reason=data.reason, moved_by=principal.id, moved_at=now))
    store.area_id, store.region_id, store.region = area.id, region.id, region.code
    store.version += 1
    session.add(store)
    try:
        await session.flush()
    except IntegrityError as exc:  # another move of the same store won the race
        raise Conflict("the store was moved at the same time; read it again") from exc
    return await placement(session, store)


# ---- a region's figures ----------------------------------------------------------------

async def kpis(session: AsyncSession, region: Region, since: date, until: date) -> RegionKpis:
    window = await repository.sums_while_in(session, region.id, WINDOW_METRICS, since=since, until=until)
    at_end = await repository.stores_on(session, region.id, until)
    snapshot = await kpi_repository.sums(session, SNAPSHOT_METRICS, until=until, store_ids=at_end)
    stores = await repository.stores_during(session, region.id, since, until)
    counters: dict[str, dict[str, int]] = {s.id: {} for s in stores}
    for part in (window, snapshot):
        for store_id, values in part.items():
            counters.setdefault(store_id, {}).update(values)
    total: dict[str, int] = {}
    for values in counters.values():
        for metric, value in values.items():
            total[metric] = total.get(metric, 0) + value
    return RegionKpis(
        from_=since, to=until, region_id=region.id, region_code=region.code,
        stores=[StoreFigures(store_id=s.id, store_code=s.code, store_name=s.name,
                             gross_margin=gross_margin(counters[s.id]),
                             **dict(figures(counters[s.id]))) for s in stores],
        region=NetworkFigures(gross_margin=gross_margin(total), **dict(figures(total))))
