"""The rules of targets and attainment, apart from the database.

Measures and their units (every target is a bounded integer):
- repair_orders: a count of repair orders delivered.
- labour_revenue_fen, parts_revenue_fen, accessories_revenue_fen, gross_margin_fen: fen.
- csi: thousandths of a point of the survey's 1..5 overall score (4600 = 4.6).
- callback_sla, first_time_fix: per-mille rates (950 = 95.0 %).

Counts and money are additive: the twelve months of a store's split add up to its year,
and the people's shares of a month add up to the store's month. Rates are not: a month's
rate target is set as it is (the year's when the store gives none), and a person's too.

Attainment is actual / target. The projection at the current pace is, for an additive
measure, actual / days elapsed × days in the month, days counted in the store's time
zone with today as elapsed; a rate is projected as it stands."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from services.common.inputs import MAX_REQUEST_FEN
from services.network.kpis.projection import Metric


class Measure(StrEnum):
    REPAIR_ORDERS = "repair_orders"
    LABOUR_REVENUE_FEN = "labour_revenue_fen"
    PARTS_REVENUE_FEN = "parts_revenue_fen"
    ACCESSORIES_REVENUE_FEN = "accessories_revenue_fen"
    GROSS_MARGIN_FEN = "gross_margin_fen"
    CSI = "csi"
    CALLBACK_SLA = "callback_sla"
    FIRST_TIME_FIX = "first_time_fix"


class Unit(StrEnum):
    COUNT = "count"
    FEN = "fen"
    MILLI_POINTS = "milli_points"
    PER_MILLE = "per_mille"


class TargetSource(StrEnum):
    """Where a month's target comes from."""

    MONTH = "month"  # the store's split (or the person's share)
    ANNUAL_PRO_RATA = "annual_pro_rata"  # not split yet: the year × days in the month / days in the year
    ANNUAL_RATE = "annual_rate"  # a rate the store gave no month figure for: the year's


MAX_COUNT = 10_000_000
MAX_FEN = MAX_REQUEST_FEN


@dataclass(frozen=True)
class Rule:
    unit: Unit
    minimum: int
    maximum: int
    # The counters the actual is computed from, and (rates) the one it is divided by.
    metrics: tuple[Metric, ...]
    # Why there is no actual yet, where the events do not carry what it needs.
    not_measured: str | None = None

    @property
    def additive(self) -> bool:
        return self.unit in (Unit.COUNT, Unit.FEN)


RULES: dict[Measure, Rule] = {
    Measure.REPAIR_ORDERS: Rule(Unit.COUNT, 0, MAX_COUNT, (Metric.RO_DELIVERED,)),
    Measure.LABOUR_REVENUE_FEN: Rule(Unit.FEN, 0, MAX_FEN, (Metric.LABOUR_FEN,)),
    Measure.PARTS_REVENUE_FEN: Rule(Unit.FEN, 0, MAX_FEN, (Metric.PARTS_FEN,)),
    Measure.ACCESSORIES_REVENUE_FEN: Rule(Unit.FEN, 0, MAX_FEN, (Metric.ACCESSORIES_FEN,)),
    # Revenue less cost of the orders delivered and costed (kpis/projection.py `_margin`).
    Measure.GROSS_MARGIN_FEN: Rule(Unit.FEN, -MAX_FEN, MAX_FEN,
                                   (Metric.GM_REVENUE_FEN, Metric.GM_COST_FEN, Metric.GM_ORDERS)),
    Measure.CSI: Rule(Unit.MILLI_POINTS, 1000, 5000, (Metric.CSI_SUM, Metric.CSI_COUNT)),
    Measure.CALLBACK_SLA: Rule(Unit.PER_MILLE, 0, 1000, (Metric.CB_ON_TIME, Metric.CB_DUE)),
    Measure.FIRST_TIME_FIX: Rule(Unit.PER_MILLE, 0, 1000, (Metric.COMEBACKS, Metric.RO_DELIVERED)),
}
ADDITIVE = tuple(m for m in Measure if RULES[m].additive)
# Credited to a person: the advisor on the order (kpi_person_daily); the rest are the store's only.
PERSON_MEASURES = (Measure.REPAIR_ORDERS, Measure.LABOUR_REVENUE_FEN, Measure.PARTS_REVENUE_FEN,
                   Measure.ACCESSORIES_REVENUE_FEN, Measure.GROSS_MARGIN_FEN)
PERSON_NOT_MEASURED = "尚未按人计量 not yet credited to a person by the events"
NO_MARGIN_YET = "本月尚无已核算成本的交车工单 no order delivered in the month has been costed yet"
COUNTER_METRICS = tuple(sorted({m for rule in RULES.values() for m in rule.metrics}))
PERSON_METRICS = tuple(sorted({m for measure in PERSON_MEASURES for m in RULES[measure].metrics}))
RATE = Decimal("0.0001")


def divide(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves away from zero."""
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), ROUND_HALF_UP))


def actual(measure: Measure, c: dict[str, int]) -> int | None:
    """The measure's actual from summed counters, in its unit; None when there is nothing to
    divide by or the measure is not measured."""
    rule = RULES[measure]
    if rule.not_measured:
        return None
    n = [c.get(metric, 0) for metric in rule.metrics]
    if measure is Measure.CSI:
        return divide(n[0] * 1000, n[1]) if n[1] else None
    if measure is Measure.CALLBACK_SLA:
        return divide(n[0] * 1000, n[1]) if n[1] else None
    if measure is Measure.FIRST_TIME_FIX:
        return divide((n[1] - n[0]) * 1000, n[1]) if n[1] else None
    if measure is Measure.GROSS_MARGIN_FEN:
        # No costed order is no figure, not a margin of zero.
        return n[0] - n[1] if n[2] else None
    return n[0]


def unmeasured(measure: Measure, value: int | None) -> str | None:
    """Why the measure has no actual, where that is not just nothing to divide by yet."""
    if RULES[measure].not_measured:
        return RULES[measure].not_measured
    return NO_MARGIN_YET if measure is Measure.GROSS_MARGIN_FEN and value is None else None


def weight(measure: Measure, c: dict[str, int]) -> int:
    """What a rate is an average over (surveys, callbacks due, orders delivered): a group's
    rate target weights its stores' targets by it."""
    rule = RULES[measure]
    return c.get(rule.metrics[-1], 0) if not rule.additive and rule.metrics else 0


def month_days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def elapsed_days(year: int, month: int, today: date) -> int:
    """Days of the month gone by on `today` (a store's local day), today included."""
    if (today.year, today.month) < (year, month):
        return 0
    if (today.year, today.month) > (year, month):
        return month_days(year, month)
    return today.day


def projected(measure: Measure, value: int | None, elapsed: int, days: int) -> int | None:
    if value is None or elapsed == 0:
        return None
    if not RULES[measure].additive or elapsed >= days:
        return value
    return divide(value * days, elapsed)


def attained(value: int | None, target: int | None) -> Decimal | None:
    if value is None or not target:
        return None
    return (Decimal(value) / Decimal(target)).quantize(RATE, ROUND_HALF_UP)


def pro_rata(annual: int, year: int, month: int) -> int:
    return divide(annual * month_days(year, month), 366 if calendar.isleap(year) else 365)


def month_target(measure: Measure, year: int, month: int, annual: dict[Measure, int],
                 months: dict[Measure, int]) -> tuple[int | None, TargetSource | None]:
    """A store's target for one month: its split, else the year's (pro rata for counts and money)."""
    if measure in months:
        return months[measure], TargetSource.MONTH
    if measure not in annual:
        return None, None
    if RULES[measure].additive:
        return pro_rata(annual[measure], year, month), TargetSource.ANNUAL_PRO_RATA
    return annual[measure], TargetSource.ANNUAL_RATE


@dataclass(frozen=True)
class SplitProblem:
    field: str
    message: str


def month_split_problem(annual: dict[Measure, int], months: dict[int, dict[Measure, int]]) -> SplitProblem | None:
    """Whether twelve months' figures may stand as a store's split of its year: every month
    once, no measure the year has no target for, and each additive measure given for every
    month or none, adding up to the year."""
    if sorted(months) != list(range(1, 13)):
        return SplitProblem("months", "每月一行，1 至 12 月各一次 one entry for each month 1 to 12, each once")
    for month, values in months.items():
        for measure in values:
            if measure not in annual:
                return SplitProblem(f"months.{measure}", f"总部未设定本年的该指标 no annual target for {measure} "
                                                         f"(month {month})")
    for measure in ADDITIVE:
        given = [values[measure] for values in months.values() if measure in values]
        if not given:
            continue
        if len(given) != 12:
            return SplitProblem(f"months.{measure}", "须为十二个月全部填写 give it for all twelve months or none")
        if sum(given) != annual[measure]:
            total, year = sum(given), annual[measure]
            return SplitProblem(f"months.{measure}", f"十二个月合计 {total}，年度目标为 {year} "
                                                     f"the months add up to {total}, the year is {year}")
    return None


def people_split_problem(store_months: dict[int, dict[Measure, int]],
                         shares: dict[tuple[int, str], dict[Measure, int]]) -> SplitProblem | None:
    """Whether people's shares may stand: a measure is shared only in a month the store has
    a figure for it, and an additive measure's shares of a month add up to the store's month."""
    totals: dict[tuple[int, Measure], int] = {}
    for (month, _person), values in shares.items():
        for measure, value in values.items():
            if measure not in store_months.get(month, {}):
                return SplitProblem(f"people.{measure}", f"门店 {month} 月没有该指标的目标 the store has no {measure} "
                                                         f"target for month {month}: split the year into months first")
            totals[(month, measure)] = totals.get((month, measure), 0) + value
    for (month, measure), total in sorted(totals.items()):
        store = store_months[month][measure]
        if RULES[measure].additive and total != store:
            return SplitProblem(f"people.{measure}", f"{month} 月个人合计 {total}，门店为 {store} "
                                                     f"month {month}: the people's shares add up to {total}, "
                                                     f"the store's month is {store}")
    return None
