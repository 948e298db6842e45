"""The HQ dashboard's aggregates, read from the per-store daily counters (kpi_daily) and the
stores' stays in areas (regions/): a region's figures are those of the stores it held on
each day, as GET /v1/regions/{id}/kpis counts them, here for every region and area at once
so the dashboard's first screen is one read at any size of network."""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.errors import ValidationFailed
from services.common.identity import Principal
from services.network.kpis import service as kpis
from services.network.kpis.projection import REVENUE_METRICS, SNAPSHOT_METRICS, WINDOW_METRICS, Metric
from services.network.kpis.schemas import NetworkFigures
from services.network.overview import repository
from services.network.overview.schemas import (
    AreaOverview,
    Attainment,
    Bucket,
    Funnel,
    Overview,
    RegionAttainment,
    RegionOverview,
    StoreCounts,
    StoreLeader,
    TheRest,
    Trend,
    TrendPoint,
)
from services.network.regions import service as regions
from services.network.regions.models import Region
from services.network.targets import policy as targets_policy
from services.network.targets import repository as targets_repository
from services.network.targets import service as targets
from services.network.targets.policy import Measure

Counters = dict[str, int]
REVENUE = tuple(REVENUE_METRICS.values())
TREND_METRICS = (Metric.RO_OPENED, Metric.RO_DELIVERED, *REVENUE, Metric.ACCESSORIES_FEN, Metric.CLAIMS_SUBMITTED,
                 Metric.CLAIMS_APPROVED_FEN, Metric.COMEBACKS, Metric.CSI_SUM, Metric.CSI_COUNT)
# The most buckets one trend holds: a quarter of days, a year of weeks, three years of months.
MAX_BUCKETS = {Bucket.DAY: 92, Bucket.WEEK: 53, Bucket.MONTH: 36}
DEFAULT_BUCKETS = {Bucket.DAY: 30, Bucket.WEEK: 12, Bucket.MONTH: 12}


def _add(into: Counters, values: Counters) -> None:
    for metric, value in values.items():
        into[metric] = into.get(metric, 0) + value


def _figures(c: Counters) -> NetworkFigures:
    return NetworkFigures(gross_margin=kpis.gross_margin(c), **dict(kpis.figures(c)))


def _count(counts: StoreCounts, status: str, n: int) -> None:
    if status in ("onboarding", "active", "suspended"):
        setattr(counts, status, getattr(counts, status) + n)
    counts.total += n


def _scope(principal: Principal) -> str | None:
    """The person whose regions bound what the caller sees (a region manager), else None."""
    return regions.scoped_person(principal)


async def overview(session: AsyncSession, principal: Principal, since: date, until: date, top: int, now: datetime
                   ) -> Overview:
    person = _scope(principal)
    managed = await repository.managed_region_ids(session, person) if person is not None else None
    region_rows = await repository.regions(session, managed)
    area_rows = await repository.areas(session, [r.id for r in region_rows])
    window = await repository.area_sums(session, WINDOW_METRICS, since=since, until=until)
    at_end = await repository.area_sums(session, SNAPSHOT_METRICS, since=None, until=until)

    area_counts: dict[str, StoreCounts] = {a.id: StoreCounts() for a in area_rows}
    region_counts: dict[str, StoreCounts] = {r.id: StoreCounts() for r in region_rows}
    everyone, funnel_outlets = StoreCounts(), StoreCounts()
    region_of = {a.id: a.region_id for a in area_rows}
    for area_id, kind, status, n in await repository.store_counts(session):
        region_id = region_of.get(area_id) if area_id else None
        if managed is not None and region_id is None:
            continue  # not in the manager's regions
        _count(everyone, status, n)
        if kind == "partner_outlet":
            _count(funnel_outlets, status, n)
        if region_id in region_counts:
            _count(region_counts[region_id], status, n)
        if area_id in area_counts:
            _count(area_counts[area_id], status, n)

    out_regions: list[RegionOverview] = []
    in_regions: Counters = {}
    for region in region_rows:
        region_total: Counters = {}
        areas = []
        for area in (a for a in area_rows if a.region_id == region.id):
            counters = {**window.get(area.id, {}), **at_end.get(area.id, {})}
            _add(region_total, counters)
            areas.append(AreaOverview(area_id=area.id, area_code=area.code, area_name=area.name,
                                      region_id=region.id, stores=area_counts[area.id], figures=_figures(counters)))
        _add(in_regions, region_total)
        out_regions.append(RegionOverview(region_id=region.id, region_code=region.code, region_name=region.name,
                                          claim_review_limit_fen=region.claim_review_limit_fen,
                                          stores=region_counts[region.id], figures=_figures(region_total),
                                          areas=areas))

    unplaced = None
    if managed is None:
        network = {**await repository.network_sums(session, WINDOW_METRICS, since=since, until=until),
                   **await repository.network_sums(session, SNAPSHOT_METRICS, since=None, until=until)}
        rest = {metric: value - in_regions.get(metric, 0) for metric, value in network.items()}
        if any(rest.values()):
            unplaced = _figures(rest)
    else:
        network = in_regions

    ranked, others, others_revenue = await repository.leaders(session, REVENUE, since=since, until=until, limit=top,
                                                              region_ids=managed)
    delivered = await repository.store_sums(session, (Metric.RO_DELIVERED,), since=since, until=until,
                                            store_ids=[s.id for s, _ in ranked])
    applications = await repository.application_counts(session) if managed is None else {}
    return Overview(
        from_=since, to=until, network=_figures(network), stores=everyone, regions=out_regions, unplaced=unplaced,
        leaders=[StoreLeader(store_id=s.id, store_code=s.code, store_name=s.name, region_id=s.region_id,
                             revenue_fen=revenue,
                             repair_orders_delivered=delivered.get(s.id, {}).get(Metric.RO_DELIVERED, 0))
                 for s, revenue in ranked],
        rest=TheRest(stores=others, revenue_fen=others_revenue),
        funnel=Funnel(applications_submitted=applications.get("submitted", 0),
                      applications_approved=applications.get("approved", 0),
                      applications_rejected=applications.get("rejected", 0),
                      outlets_onboarding=funnel_outlets.onboarding, outlets_active=funnel_outlets.active,
                      outlets_suspended=funnel_outlets.suspended),
        attainment=await attainment(session, region_rows, managed, until, now))


async def attainment(session: AsyncSession, region_rows: list[Region], managed: set[str] | None, until: date,
                     now: datetime) -> Attainment:
    """The month `until` falls in, for the network and each region: the database works out each
    store's month target, counters and projection and sums them per group in one query, so the
    dashboard's panel holds the figures of GET /v1/targets/attainment's groups without that
    read's row per store (3.5 MB at 2,000 stores)."""
    year, month = until.year, until.month
    days = targets_policy.month_days(year, month)
    elapsed = {zone: targets_policy.elapsed_days(year, month, now.astimezone(ZoneInfo(zone)).date())
               for zone in await targets_repository.store_zones(session, managed)}
    rows = await targets_repository.attainment_sums(session, targets.SPECS, year=year, month=month, days=days,
                                            year_days=366 if calendar.isleap(year) else 365, elapsed=elapsed,
                                            region_ids=managed)
    network = {r.measure: r for r in rows if r.network}
    by_region = {(r.region_id, r.measure): r for r in rows if not r.network and r.region_id is not None}
    counts = await repository.region_store_counts(session, [r.id for r in region_rows])
    return Attainment(
        period=f"{year:04d}-{month:02d}", days_in_month=days,
        network=[targets.group_row(m, network.get(m.value)) for m in Measure],
        regions=[RegionAttainment(region_id=r.id, stores=counts.get(r.id, 0),
                                  measures=[targets.group_row(m, by_region.get((r.id, m.value))) for m in Measure])
                 for r in region_rows])


def bucket_start(bucket: Bucket, day: date) -> date:
    if bucket == Bucket.WEEK:
        return day - timedelta(days=day.weekday())
    if bucket == Bucket.MONTH:
        return day.replace(day=1)
    return day


def _next(bucket: Bucket, start: date) -> date:
    if bucket == Bucket.DAY:
        return start + timedelta(days=1)
    if bucket == Bucket.WEEK:
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def default_since(bucket: Bucket, until: date) -> date:
    start = bucket_start(bucket, until)
    for _ in range(DEFAULT_BUCKETS[bucket] - 1):
        start = bucket_start(bucket, start - timedelta(days=1))
    return start


def buckets(bucket: Bucket, since: date, until: date) -> list[tuple[date, date]]:
    """(first, last day) of each bucket from the one holding `since` to the one holding
    `until`, the last cut at `until`; 422 naming `from` beyond MAX_BUCKETS."""
    out: list[tuple[date, date]] = []
    start = bucket_start(bucket, since)
    while start <= until:
        if len(out) == MAX_BUCKETS[bucket]:
            raise ValidationFailed("from", f"a trend by {bucket.value} holds at most {MAX_BUCKETS[bucket]} buckets")
        following = _next(bucket, start)
        out.append((start, min(until, following - timedelta(days=1))))
        start = following
    return out


async def trend(session: AsyncSession, principal: Principal, bucket: Bucket, since: date, until: date, *,
                store_id: str | None, region_id: str | None) -> Trend:
    if store_id is not None and region_id is not None:
        raise ValidationFailed("region_id", "give store_id or region_id, not both")
    spans = buckets(bucket, since, until)
    first = spans[0][0]
    if store_id is not None or principal.store_id:
        store = (await kpis.visible_stores(session, principal, store_id))[0]
        store_id, scope = store.id, None
    elif region_id is not None:
        scope = {(await regions.get_visible(session, principal, region_id)).id}
    else:
        person = _scope(principal)
        scope = await repository.managed_region_ids(session, person) if person is not None else None
    sums = await repository.bucket_sums(session, bucket.value, TREND_METRICS, since=first, until=until,
                                        store_id=store_id, region_ids=scope)
    points = []
    for start, end in spans:
        f = kpis.figures(sums.get(start, {}))
        points.append(TrendPoint(start=start, end=end, repair_orders_opened=f.repair_orders_opened,
                                 repair_orders_delivered=f.repair_orders_delivered, revenue_fen=f.revenue_fen,
                                 accessories_revenue_fen=f.accessories_revenue_fen,
                                 claims_submitted=f.claims_submitted, claims_approved_fen=f.claims_approved_fen,
                                 comebacks=f.comebacks, first_time_fix_rate=f.first_time_fix_rate,
                                 csi_average=f.csi_average))
    return Trend(bucket=bucket, from_=first, to=until, store_id=store_id, region_id=region_id, points=points)
