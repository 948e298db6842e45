"""The technician report: flat-rate hours earned by jobs that passed quality check against
the hours clocked on them (efficiency), with rework and comebacks beside them. Days are
the store's local days."""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.clock import Clock
from services.common.identity import Principal
from services.common.stores import store_zone
from services.workshop.base import HUNDREDTH, seconds_to_hours
from services.workshop.comebacks import repository as comebacks
from services.workshop.jobs import repository as jobs
from services.workshop.reports import repository
from services.workshop.reports.schemas import TechnicianFigures, TechnicianReport, TechnicianReportRow
from services.workshop.technicians import repository as technicians
from services.workshop.technicians.models import Technician

ZERO = Decimal("0.00")


def _efficiency(flat: Decimal, clocked: Decimal) -> Decimal | None:
    return (flat / clocked).quantize(HUNDREDTH) if clocked > 0 else None


async def _window(session: AsyncSession, store_id: str, date_from: date, date_to: date) -> tuple[datetime, datetime]:
    zone = store_zone(await repository.store(session, store_id))
    start = datetime.combine(date_from, time(0), zone).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


async def technician_report(session: AsyncSession, clock: Clock, principal: Principal, date_from: date, date_to: date,
                            store_id: str | None) -> TechnicianReport:
    # A store's caller reports on its own store, whatever store it names; HQ on the one it names, or all.
    roster = await technicians.in_stores(session, principal.store_id or store_id)
    by_store: dict[str, list[Technician]] = defaultdict(list)
    for t in roster:
        by_store[t.store_id].append(t)
    now = clock.now()
    rows: list[TechnicianReportRow] = []
    for sid, staff in by_store.items():
        start, end = await _window(session, sid, date_from, date_to)
        flat: dict[str, Decimal] = defaultdict(lambda: ZERO)
        clocked: dict[str, int] = defaultdict(int)
        passed: dict[str, int] = defaultdict(int)
        for job in await jobs.passed_between(session, sid, start, end):
            technician_id = job.technician_id
            assert technician_id is not None  # a job passed its check was done by its technician
            flat[technician_id] += job.flat_rate_hours
            clocked[technician_id] += job.clocked_seconds
            passed[technician_id] += 1
        worked: dict[str, float] = defaultdict(float)
        for interval in await jobs.intervals_overlapping(session, sid, start, end):
            stop = min(interval.ended_at or now, end)
            worked[interval.technician_id] += max((stop - max(interval.started_at, start)).total_seconds(), 0)
        failures = await jobs.failures_between(session, sid, start, end)
        returned = await comebacks.by_original_technician(session, {t.id for t in staff}, start, end)
        for t in staff:
            clocked_hours = seconds_to_hours(clocked[t.id])
            rows.append(TechnicianReportRow(
                technician_id=t.id, name=t.name, store_id=t.store_id, active=t.active, jobs_passed=passed[t.id],
                flat_rate_hours=flat[t.id], clocked_hours=clocked_hours,
                efficiency=_efficiency(flat[t.id], clocked_hours),
                hours_clocked_in_period=seconds_to_hours(int(worked[t.id])), qc_failures=failures.get(t.id, 0),
                comebacks=returned.get(t.id, 0),
            ))
    total_flat = sum((r.flat_rate_hours for r in rows), start=ZERO)
    total_clocked = sum((r.clocked_hours for r in rows), start=ZERO)
    totals = TechnicianFigures(
        jobs_passed=sum(r.jobs_passed for r in rows), flat_rate_hours=total_flat, clocked_hours=total_clocked,
        efficiency=_efficiency(total_flat, total_clocked),
        hours_clocked_in_period=sum((r.hours_clocked_in_period for r in rows), start=ZERO),
        qc_failures=sum(r.qc_failures for r in rows), comebacks=sum(r.comebacks for r in rows),
    )
    return TechnicianReport(date_from=date_from, date_to=date_to, store_id=principal.store_id or store_id,
                            technicians=rows, totals=totals)
