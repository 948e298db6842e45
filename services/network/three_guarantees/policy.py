"""The Three Guarantees (三包) rules as pure functions over a car's repairs: which revision of
the regulation applies, which repairs count, the thresholds and how near each one is. The
figures are the regulation's revisions, how orders are read the watch, both of the Three
Guarantees policy HQ versions (policies/, seeded from data/sanbao_policy*.json and
data/sanbao_watch.json); without one given, those files."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from dateutil.relativedelta import relativedelta

from services.common import reference


class Status(StrEnum):
    clear = "clear"
    one_step = "one_step"
    reached = "reached"


class Validity(StrEnum):
    in_validity = "in_validity"
    expired = "expired"
    unknown = "unknown"  # no sale date known: every quality repair is counted


class SaleDateSource(StrEnum):
    """Where the start of a car's validity period came from."""

    warranty_registration = "warranty_registration"  # the invoice date of network's registration at sale
    repair_order_vehicle = "repair_order_vehicle"  # reception's vehicle record, carried on the closed order


class Kind(StrEnum):
    cumulative_repair_days = "cumulative_repair_days"
    same_problem_repairs = "same_problem_repairs"
    serious_safety_fault_repairs = "serious_safety_fault_repairs"
    engine_or_transmission_replacements = "engine_or_transmission_replacements"


NAMES = {
    Kind.cumulative_repair_days: ("累计修理天数", "cumulative days under repair"),
    Kind.same_problem_repairs: ("同一质量问题修理次数", "repairs of the same quality problem"),
    Kind.serious_safety_fault_repairs: ("严重安全性能故障修理次数", "repairs of a serious safety fault"),
    Kind.engine_or_transmission_replacements: ("发动机、变速器更换次数", "engine or transmission replacements"),
}


@dataclass(frozen=True)
class Repair:
    """One closed repair order of the car, as the rules read it."""

    repair_order_id: str
    store_id: str
    number: str
    opened_at: datetime
    finished_at: datetime
    mileage_km: int
    days: int
    problems: frozenset[str]  # labour categories of its warranty quality labour
    serious_safety: bool
    engine_or_transmission_replacement: bool
    counted: bool = False  # a quality repair within the validity period

    @property
    def quality(self) -> bool:
        return bool(self.problems) or self.engine_or_transmission_replacement

    def loaner_owed(self, policy: dict) -> bool:
        return self.counted and self.days > policy["loaner_if_single_repair_days_over"]


@dataclass(frozen=True)
class Threshold:
    key: str
    kind: Kind
    remedy: str  # replacement | refund
    value: int
    limit: int
    rule: str  # over | at_least
    status: Status
    problem: str | None = None


def repair_days(opened_at: datetime, finished_at: datetime) -> int:
    """Each started 24 hours is a day; a repair under 24 hours is one day (data/sanbao_watch.json)."""
    return max(1, math.ceil((finished_at - opened_at).total_seconds() / 86400))


def policy_for(sale_date: date | None, today: date, revisions: Sequence[dict] | None = None) -> dict:
    """The revision in force on the sale date; with no sale date known, the one in force today."""
    on = sale_date or today
    revisions = revisions or reference.sanbao_policies()
    applicable = [p for p in revisions if date.fromisoformat(p["effective_from"]) <= on]
    return applicable[-1] if applicable else revisions[0]


def classify(op_codes: Sequence[str], part_nos: Sequence[str] = (), watch: dict | None = None,
             operations: dict[str, dict] | None = None) -> tuple[frozenset[str], bool, bool]:
    """(quality problems, serious safety fault, engine or transmission replaced) of an order's
    warranty labour and warranty-paid parts, by the watch and labour operations (by op_code)
    given: those in force on the repair's day."""
    watch = watch or reference.sanbao_watch()
    operations = reference.labor_operations() if operations is None else operations
    problems = set()
    for code in op_codes:
        category = (operations.get(code) or {}).get("category")
        if category and category not in watch["not_quality_categories"]:
            problems.add(category)
    safety = bool(problems & set(watch["serious_safety_categories"]))
    major = bool(set(op_codes) & set(watch["engine_or_transmission_replacement_op_codes"])
                 or set(part_nos) & set(watch["engine_or_transmission_replacement_part_nos"]))
    return frozenset(problems), safety, major


def valid_until(sale_date: date | None, policy: dict) -> date | None:
    if sale_date is None:
        return None
    return sale_date + relativedelta(months=policy["validity_period"]["months"])


def validity(sale_date: date | None, policy: dict, today: date, mileage_km: int) -> Validity:
    until = valid_until(sale_date, policy)
    if until is None:
        return Validity.unknown
    if today > until or mileage_km > policy["validity_period"]["km"]:
        return Validity.expired
    return Validity.in_validity


def counts(repair: Repair, sale_date: date | None, policy: dict) -> bool:
    """A quality repair opened within the validity period (time and mileage, whichever first)."""
    if not repair.quality:
        return False
    until = valid_until(sale_date, policy)
    if until is None:
        return True
    opened = repair.opened_at.date()
    return opened <= until and (sale_date is None or opened >= sale_date) and \
        repair.mileage_km <= policy["validity_period"]["km"]


def _count_status(value: int, reached_at: int) -> Status:
    if value >= reached_at:
        return Status.reached
    return Status.one_step if value == reached_at - 1 else Status.clear


def thresholds(repairs: list[Repair], policy: dict, watch: dict | None = None) -> list[Threshold]:
    """Every threshold of the revision against the counted repairs. 'Over N' is reached at
    N + 1, 'at least N' at N; a count is one step away one repair before. Repair days are one
    step away when one more repair of the watch's one-step length would cross."""
    counted = [r for r in repairs if r.counted]
    replacement, refund = policy["replacement_if"], policy["refund_if"]
    days = sum(r.days for r in counted)
    days_limit = replacement["cumulative_repair_days_over"]
    step = (watch or reference.sanbao_watch())["one_step_repair_days"]
    days_status = (Status.reached if days > days_limit else
                   Status.one_step if days + step > days_limit else Status.clear)
    out = [Threshold(Kind.cumulative_repair_days.value, Kind.cumulative_repair_days, "replacement", days,
                     days_limit, "over", days_status)]
    same_limit = replacement["same_problem_repairs_over"]
    for problem in sorted({p for r in counted for p in r.problems}):
        n = sum(1 for r in counted if problem in r.problems)
        out.append(Threshold(f"{Kind.same_problem_repairs.value}:{problem}", Kind.same_problem_repairs,
                             "replacement", n, same_limit, "over", _count_status(n, same_limit + 1), problem))
    for kind, n, limit in (
        (Kind.serious_safety_fault_repairs, sum(1 for r in counted if r.serious_safety),
         refund["serious_safety_fault_repairs_at_least"]),
        (Kind.engine_or_transmission_replacements, sum(1 for r in counted if r.engine_or_transmission_replacement),
         refund["engine_or_transmission_replacements_at_least"]),
    ):
        out.append(Threshold(kind.value, kind, "refund", n, limit, "at_least", _count_status(n, limit)))
    return out
