"""KPI figures for a window of local days, computed from the per-store daily counters.

Window KPIs sum their counters over the window's days; complaints_open and
complaints_overdue are states at the end of the window, so their counters are summed over
every day up to it. The network's figures are computed from the stores' summed counters,
never by averaging the stores' ratios."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common import reference
from services.common.errors import NotFound
from services.common.identity import Principal
from services.network.kpis import repository
from services.network.kpis.projection import PAY_TYPES, SNAPSHOT_METRICS, WINDOW_METRICS
from services.network.kpis.schemas import Figures, KpiReport, Revenue, StoreFigures
from services.network.stores.models import Store

RATE = Decimal("0.0001")
MEAN = Decimal("0.01")


def _ratio(numerator: Decimal | int, denominator: Decimal | int, places: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(places, ROUND_HALF_UP)


def figures(c: dict[str, int]) -> dict:
    """The KPIs from one set of summed counters (missing counters are zero)."""
    n = lambda name: c.get(name, 0)  # noqa: E731
    revenue = {p: n(f"revenue_{p}_fen") for p in PAY_TYPES}
    delivered = n("ro_delivered")
    labour_rate = _ratio(Decimal(n("cp_labour_fen")) * 1_000_000, n("cp_labour_uh"), Decimal(1))
    return dict(
        repair_orders_opened=n("ro_opened"),
        repair_orders_delivered=delivered,
        revenue_fen=Revenue(**revenue, total=sum(revenue.values())),
        appointment_show_rate=_ratio(n("appt_checked_in"), n("appt_scheduled"), RATE),
        first_time_fix_rate=None if not delivered else 1 - _ratio(n("comebacks"), delivered, RATE),
        comebacks=n("comebacks"),
        callback_sla_rate=_ratio(n("cb_on_time"), n("cb_due"), RATE),
        csi_average=_ratio(n("csi_sum"), n("csi_count"), MEAN),
        complaints_open=n("complaints_opened") - n("complaints_closed"),
        complaints_overdue=n("complaints_overdue_from") - n("complaints_overdue_until"),
        claims_submitted=n("claims_submitted"),
        claims_approved_fen=n("claims_approved_fen"),
        claim_cycle_hours=_ratio(n("claim_cycle_us"), Decimal(n("claims_decided")) * 3_600_000_000, MEAN),
        parts_fill_rate=_ratio(n("parts_filled"), n("parts_reserved"), RATE),
        roadside_response_minutes=_ratio(n("rsa_response_us"), Decimal(n("rsa_arrivals")) * 60_000_000, MEAN),
        technician_efficiency=_ratio(n("tech_flat_uh"), n("tech_clocked_uh"), RATE),
        effective_labour_rate_fen=None if labour_rate is None else int(labour_rate),
        callback_reach_rate=_ratio(n("cb_reached"), n("cb_closed"), RATE),
    )


def kpi_names() -> list[str]:
    return [k["name"] for k in reference.load("kpi_definitions")["kpis"]]


async def counters(session: AsyncSession, since: date, until: date, store_ids: list[str]) -> dict[str, dict[str, int]]:
    window = await repository.sums(session, WINDOW_METRICS, since=since, until=until, store_ids=store_ids)
    snapshot = await repository.sums(session, SNAPSHOT_METRICS, until=until, store_ids=store_ids)
    out: dict[str, dict[str, int]] = {sid: {} for sid in store_ids}
    for part in (window, snapshot):
        for store_id, values in part.items():
            out.setdefault(store_id, {}).update(values)
    return out


async def visible_stores(session: AsyncSession, principal: Principal, store_id: str | None) -> list[Store]:
    """The stores a caller's figures cover: a store's caller its own (naming another is 404);
    HQ every store, or the one it names."""
    if principal.store_id:
        if store_id and store_id != principal.store_id:
            raise NotFound("store not found")
        store_id = principal.store_id
    stores = await repository.stores(session, store_id)
    if store_id and not stores:
        raise NotFound("store not found")
    return stores


async def store_day(session: AsyncSession, store_id: str, day: date) -> StoreFigures | None:
    """One store's figures for one local day; None for a store network does not know."""
    stores = await repository.stores(session, store_id)
    if not stores:
        return None
    return (await report(session, day, day, stores)).stores[0]


async def report(session: AsyncSession, since: date, until: date, stores: list[Store]) -> KpiReport:
    per_store = await counters(session, since, until, [s.id for s in stores])
    network: dict[str, int] = {}
    for values in per_store.values():
        for metric, value in values.items():
            network[metric] = network.get(metric, 0) + value
    return KpiReport(
        from_=since, to=until,
        stores=[StoreFigures(store_id=s.id, store_code=s.code, **figures(per_store[s.id])) for s in stores],
        network=Figures(**figures(network)),
    )
