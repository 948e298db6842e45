"""The appraisal's figures from a person's summed counters, apart from the database.

Each role has its section; a person gets the section of their role in the store and any
other section they have figures in (a service manager who files claims, an advisor who
sells over the counter). Counts and fen are the month's sums; rates are 4 places, means
and hours 2, all half up, `null` when there is nothing to divide by. What a person is
credited with is decided by the projection (services/network/kpis/projection.py)."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from services.network.appraisals.schemas import (
    AccessoryFigures,
    AdvisorFigures,
    CsiFigures,
    CustomerBaseFigures,
    InformationClerkFigures,
    MarginFigures,
    OnTimeFigures,
    PartsFigures,
    RevenueFen,
    TechnicianFigures,
    WarrantyClerkFigures,
)
from services.network.kpis.projection import MICRO, Metric
from services.network.people.schemas import StaffRole
from services.network.targets import policy as targets
from services.network.targets.policy import Measure

RATE = Decimal("0.0001")
HUNDREDTH = Decimal("0.01")
Counters = dict[str, int]

ADVISOR = (Metric.RO_DELIVERED, Metric.LABOUR_FEN, Metric.PARTS_FEN, Metric.ACCESSORIES_FEN, Metric.GM_ORDERS,
           Metric.GM_INCOMPLETE, Metric.GM_REVENUE_FEN, Metric.GM_COST_FEN, Metric.CSI_ORDER_SUM,
           Metric.CSI_ORDER_COUNT, Metric.PROMISED_DELIVERED, Metric.READY_ON_TIME, Metric.COUNTER_SALES,
           Metric.COUNTER_ACCESSORIES_FEN, Metric.BASE_VEHICLES, Metric.BASE_RETAINED)
TECHNICIAN = (Metric.TECH_JOBS, Metric.TECH_FLAT_UH, Metric.TECH_CLOCKED_UH, Metric.TECH_REWORKS, Metric.COMEBACKS)
INFORMATION_CLERK = (Metric.CB_CALLS, Metric.CB_CLOSED, Metric.CB_REACHED, Metric.CB_DUE, Metric.CB_ON_TIME,
                     Metric.COMPLAINTS_CLOSED)
WARRANTY_CLERK = (Metric.CLAIMS_SUBMITTED, Metric.CLAIMS_FIRST_DECIDED, Metric.CLAIMS_FIRST_APPROVED,
                  Metric.CLAIMS_REJECTED_FEN, Metric.RETURNS_SHIPPED, Metric.RETURNS_ON_TIME)
PERSON_METRICS = tuple(sorted({*ADVISOR, *TECHNICIAN, *INFORMATION_CLERK, *WARRANTY_CLERK}))
PARTS_DESK = (Metric.PARTS_RESERVED, Metric.PARTS_FILLED)
SECTIONS = {"advisor": ADVISOR, "technician": TECHNICIAN, "information_clerk": INFORMATION_CLERK,
            "warranty_clerk": WARRANTY_CLERK}
SECTION_OF_ROLE = {StaffRole.SERVICE_ADVISOR: "advisor", StaffRole.TECHNICIAN: "technician",
                   StaffRole.CRM_AGENT: "information_clerk", StaffRole.WARRANTY_CLERK: "warranty_clerk",
                   StaffRole.PARTS_CLERK: "parts"}
STOCK_TURNS_NOT_MEASURED = (
    "库存周转无法由事件得出：事件带有出库成本（workshop.order.costed 的 parts_cost_fen），但没有库存金额 "
    "stock turns need the stock's value, which no event carries (workshop's events give the cost of parts "
    "issued, not what is on the shelf)")


def rate(numerator: int, denominator: int) -> Decimal | None:
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE, ROUND_HALF_UP) if denominator else None


def mean(total: int, count: int) -> Decimal | None:
    return (Decimal(total) / Decimal(count)).quantize(HUNDREDTH, ROUND_HALF_UP) if count else None


def hours(micro_hours: int) -> Decimal:
    return (Decimal(micro_hours) / MICRO).quantize(HUNDREDTH, ROUND_HALF_UP)


def sections(role: str | None, c: Counters) -> set[str]:
    """The sections a person is shown: their role's, and any they have figures in."""
    out = {name for name, metrics in SECTIONS.items() if any(c.get(m) for m in metrics)}
    if role in SECTION_OF_ROLE:
        out.add(SECTION_OF_ROLE[StaffRole(role)])
    return out


def advisor(c: Counters, base_day: date | None) -> AdvisorFigures:
    g = c.get
    accessories = g(Metric.ACCESSORIES_FEN, 0) + g(Metric.COUNTER_ACCESSORIES_FEN, 0)
    revenue, cost, costed = g(Metric.GM_REVENUE_FEN, 0), g(Metric.GM_COST_FEN, 0), g(Metric.GM_ORDERS, 0)
    margin = revenue - cost if costed else None
    base = None
    if base_day is not None:
        vehicles, retained = g(Metric.BASE_VEHICLES, 0), g(Metric.BASE_RETAINED, 0)
        base = CustomerBaseFigures(vehicles=vehicles, retained=retained, retention_rate=rate(retained, vehicles),
                                   counted_on=base_day.isoformat())
    return AdvisorFigures(
        orders_delivered=g(Metric.RO_DELIVERED, 0),
        revenue_fen=RevenueFen(labour=g(Metric.LABOUR_FEN, 0), parts=g(Metric.PARTS_FEN, 0), accessories=accessories,
                               total=g(Metric.LABOUR_FEN, 0) + g(Metric.PARTS_FEN, 0) + accessories),
        gross_margin=MarginFigures(orders=costed, orders_incomplete=g(Metric.GM_INCOMPLETE, 0), revenue_fen=revenue,
                                   cost_fen=cost, margin_fen=margin,
                                   margin_rate=rate(margin, revenue) if margin is not None else None),
        csi=CsiFigures(surveys=g(Metric.CSI_ORDER_COUNT, 0),
                       average=mean(g(Metric.CSI_ORDER_SUM, 0), g(Metric.CSI_ORDER_COUNT, 0))),
        on_time=OnTimeFigures(promised=g(Metric.PROMISED_DELIVERED, 0), ready_on_time=g(Metric.READY_ON_TIME, 0),
                              rate=rate(g(Metric.READY_ON_TIME, 0), g(Metric.PROMISED_DELIVERED, 0))),
        accessories=AccessoryFigures(repair_orders_fen=g(Metric.ACCESSORIES_FEN, 0),
                                     counter_sales=g(Metric.COUNTER_SALES, 0),
                                     counter_fen=g(Metric.COUNTER_ACCESSORIES_FEN, 0), total_fen=accessories),
        customer_base=base)


def technician(c: Counters) -> TechnicianFigures:
    flat, clocked = hours(c.get(Metric.TECH_FLAT_UH, 0)), hours(c.get(Metric.TECH_CLOCKED_UH, 0))
    return TechnicianFigures(
        jobs_passed=c.get(Metric.TECH_JOBS, 0), flat_rate_hours=flat, clocked_hours=clocked,
        efficiency=(flat / clocked).quantize(HUNDREDTH, ROUND_HALF_UP) if clocked > 0 else None,
        reworks=c.get(Metric.TECH_REWORKS, 0), comebacks=c.get(Metric.COMEBACKS, 0))


def information_clerk(c: Counters) -> InformationClerkFigures:
    g = c.get
    return InformationClerkFigures(
        calls_made=g(Metric.CB_CALLS, 0), callbacks_closed=g(Metric.CB_CLOSED, 0), reached=g(Metric.CB_REACHED, 0),
        reach_rate=rate(g(Metric.CB_REACHED, 0), g(Metric.CB_CLOSED, 0)), callbacks_due=g(Metric.CB_DUE, 0),
        on_time=g(Metric.CB_ON_TIME, 0), sla_rate=rate(g(Metric.CB_ON_TIME, 0), g(Metric.CB_DUE, 0)),
        problem_customers_closed=g(Metric.COMPLAINTS_CLOSED, 0))


def warranty_clerk(c: Counters) -> WarrantyClerkFigures:
    g = c.get
    return WarrantyClerkFigures(
        claims_filed=g(Metric.CLAIMS_SUBMITTED, 0), first_pass_decided=g(Metric.CLAIMS_FIRST_DECIDED, 0),
        first_pass_approved=g(Metric.CLAIMS_FIRST_APPROVED, 0),
        first_pass_approval_rate=rate(g(Metric.CLAIMS_FIRST_APPROVED, 0), g(Metric.CLAIMS_FIRST_DECIDED, 0)),
        rejected_fen=g(Metric.CLAIMS_REJECTED_FEN, 0), part_returns_shipped=g(Metric.RETURNS_SHIPPED, 0),
        part_returns_on_time=g(Metric.RETURNS_ON_TIME, 0),
        part_returns_on_time_rate=rate(g(Metric.RETURNS_ON_TIME, 0), g(Metric.RETURNS_SHIPPED, 0)))


def parts_desk(store: Counters) -> PartsFigures:
    reserved, filled = store.get(Metric.PARTS_RESERVED, 0), store.get(Metric.PARTS_FILLED, 0)
    return PartsFigures(reservations=reserved, filled_from_stock=filled, fill_rate=rate(filled, reserved),
                        not_measured={"stock_turns": STOCK_TURNS_NOT_MEASURED})


def target_counters(measure: Measure, c: Counters) -> Counters:
    """The person's counters as the targets' rule for the measure reads them. The store's
    CSI, callback SLA and first-time fix count every survey, callback and delivery; a
    person's are their own: the surveys of their orders, the callbacks they closed, the
    jobs they did (first-time fix = 1 − comebacks / jobs passed)."""
    if measure is Measure.CSI:
        return {Metric.CSI_SUM: c.get(Metric.CSI_ORDER_SUM, 0), Metric.CSI_COUNT: c.get(Metric.CSI_ORDER_COUNT, 0)}
    if measure is Measure.FIRST_TIME_FIX:
        return {Metric.COMEBACKS: c.get(Metric.COMEBACKS, 0), Metric.RO_DELIVERED: c.get(Metric.TECH_JOBS, 0)}
    return c


def target_actual(measure: Measure, c: Counters) -> int | None:
    return targets.actual(measure, target_counters(measure, c))
