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
from services.network.kpis.projection import (
    MARGIN_METRICS,
    REVENUE_METRICS,
    SNAPSHOT_METRICS,
    WINDOW_METRICS,
    Metric,
)
from services.network.kpis.schemas import (
    Figures,
    GrossMargin,
    KpiReport,
    MarginByPayer,
    MarginCost,
    NetworkFigures,
    Revenue,
    StoreFigures,
)
from services.network.regions import repository as regions
from services.network.stores.models import Store

RATE = Decimal("0.0001")
MEAN = Decimal("0.01")


def _ratio(numerator: Decimal | int, denominator: Decimal | int, places: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(places, ROUND_HALF_UP)


def figures(c: dict[str, int]) -> Figures:
    """The KPIs from one set of summed counters (missing counters are zero)."""

    def n(metric: Metric) -> int:
        return c.get(metric, 0)

    revenue = {pay_type: n(metric) for pay_type, metric in REVENUE_METRICS.items()}
    delivered = n(Metric.RO_DELIVERED)
    labour_rate = _ratio(Decimal(n(Metric.CP_LABOUR_FEN)) * 1_000_000, n(Metric.CP_LABOUR_UH), Decimal(1))
    comeback_rate = _ratio(n(Metric.COMEBACKS), delivered, RATE)
    return Figures(
        repair_orders_opened=n(Metric.RO_OPENED),
        repair_orders_delivered=delivered,
        revenue_fen=Revenue(**revenue, total=sum(revenue.values())),
        appointment_show_rate=_ratio(n(Metric.APPT_CHECKED_IN), n(Metric.APPT_SCHEDULED), RATE),
        first_time_fix_rate=None if comeback_rate is None else 1 - comeback_rate,
        comebacks=n(Metric.COMEBACKS),
        callback_sla_rate=_ratio(n(Metric.CB_ON_TIME), n(Metric.CB_DUE), RATE),
        csi_average=_ratio(n(Metric.CSI_SUM), n(Metric.CSI_COUNT), MEAN),
        complaints_open=n(Metric.COMPLAINTS_OPENED) - n(Metric.COMPLAINTS_CLOSED),
        complaints_overdue=n(Metric.COMPLAINTS_OVERDUE_FROM) - n(Metric.COMPLAINTS_OVERDUE_UNTIL),
        claims_submitted=n(Metric.CLAIMS_SUBMITTED),
        claims_approved_fen=n(Metric.CLAIMS_APPROVED_FEN),
        claim_cycle_hours=_ratio(n(Metric.CLAIM_CYCLE_US), Decimal(n(Metric.CLAIMS_DECIDED)) * 3_600_000_000, MEAN),
        parts_fill_rate=_ratio(n(Metric.PARTS_FILLED), n(Metric.PARTS_RESERVED), RATE),
        roadside_response_minutes=_ratio(n(Metric.RSA_RESPONSE_US), Decimal(n(Metric.RSA_ARRIVALS)) * 60_000_000,
                                         MEAN),
        technician_efficiency=_ratio(n(Metric.TECH_FLAT_UH), n(Metric.TECH_CLOCKED_UH), RATE),
        effective_labour_rate_fen=None if labour_rate is None else int(labour_rate),
        callback_reach_rate=_ratio(n(Metric.CB_REACHED), n(Metric.CB_CLOSED), RATE),
        accessories_revenue_fen=n(Metric.ACCESSORIES_FEN),
    )


def gross_margin(c: dict[str, int]) -> GrossMargin:
    revenue, cost = c.get(Metric.GM_REVENUE_FEN, 0), c.get(Metric.GM_COST_FEN, 0)
    return GrossMargin(
        orders=c.get(Metric.GM_ORDERS, 0), orders_incomplete=c.get(Metric.GM_INCOMPLETE, 0), revenue_fen=revenue,
        cost_fen=MarginCost(parts=c.get(Metric.GM_PARTS_COST_FEN, 0), labour=c.get(Metric.GM_LABOUR_COST_FEN, 0),
                            sublet=c.get(Metric.GM_SUBLET_COST_FEN, 0), total=cost),
        margin_fen=revenue - cost, margin_rate=_ratio(revenue - cost, revenue, RATE),
        by_payer_fen=MarginByPayer(**{group: c.get(metric, 0) for group, metric in MARGIN_METRICS.items()}))


def kpi_names() -> list[str]:
    return [k["name"] for k in reference.load("kpi_definitions")["kpis"]]


async def counters(session: AsyncSession, since: date, until: date, store_ids: list[str], *,
                   every_store: bool = False) -> dict[str, dict[str, int]]:
    """store id -> summed counters of the stores in `store_ids`; `every_store` says they are
    all the stores there are, so the query names none (an IN list of 2,000 ids costs more
    than it filters)."""
    scope = None if every_store else store_ids
    window = await repository.sums(session, WINDOW_METRICS, since=since, until=until, store_ids=scope)
    snapshot = await repository.sums(session, SNAPSHOT_METRICS, until=until, store_ids=scope)
    out: dict[str, dict[str, int]] = {sid: {} for sid in store_ids}
    for part in (window, snapshot):
        for store_id, values in part.items():
            if store_id in out:  # figures of a store network does not know (yet) count nowhere
                out[store_id].update(values)
    return out


def sees_every_store(principal: Principal, store_id: str | None) -> bool:
    """Whether visible_stores answers every store network knows: HQ naming no store."""
    return not (principal.store_id or store_id or principal.role == "region_manager")


async def visible_stores(session: AsyncSession, principal: Principal, store_id: str | None) -> list[Store]:
    """The stores a caller's figures cover: a store's caller its own (naming another is 404);
    HQ every store, or the one it names; a region manager the stores in its regions now."""
    if principal.store_id:
        if store_id and store_id != principal.store_id:
            raise NotFound("store not found")
        store_id = principal.store_id
    stores = await repository.stores(session, store_id)
    if principal.role == "region_manager":
        managed = await regions.managed_region_ids(session, principal.id)
        stores = [s for s in stores if s.region_id in managed]
    if store_id and not stores:
        raise NotFound("store not found")
    return stores


async def store_day(session: AsyncSession, store_id: str, day: date) -> StoreFigures | None:
    """One store's figures for one local day; None for a store network does not know."""
    stores = await repository.stores(session, store_id)
    if not stores:
        return None
    return (await report(session, day, day, stores)).stores[0]


async def report(session: AsyncSession, since: date, until: date, stores: list[Store], *,
                 every_store: bool = False) -> KpiReport:
    per_store = await counters(session, since, until, [s.id for s in stores], every_store=every_store)
    network: dict[str, int] = {}
    for values in per_store.values():
        for metric, value in values.items():
            network[metric] = network.get(metric, 0) + value
    return KpiReport(
        from_=since, to=until,
        stores=[StoreFigures(store_id=s.id, store_code=s.code, store_name=s.name,
                             gross_margin=gross_margin(per_store[s.id]),
                             **dict(figures(per_store[s.id]))) for s in stores],
        network=NetworkFigures(gross_margin=gross_margin(network), **dict(figures(network))),
    )
