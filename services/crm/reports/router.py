from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.inputs import Day
from services.common.stores import acting_store_id
from services.crm.localtime import zone_of
from services.crm.reports import people, service
from services.crm.reports.schemas import DailyTally, ReportList, ReportPublic, ReportSummary

router = APIRouter(prefix="/v1/reports", tags=["reports"], route_class=TransactionalRoute)
Crm = Annotated[Principal, Depends(require_access("crm"))]
Format = Annotated[Literal["json", "csv"], Query(description="csv: one row per figure")]
StoreQuery = Annotated[str | None, Query(description="HQ: the store (required for HQ)")]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "the report, as JSON or CSV"}}
REPORT_RESPONSES = {**CSV_RESPONSE, **problem_responses(NotFound, ValidationFailed)}


def _answer(report: ReportPublic, fmt: str):
    if fmt == "csv":
        name = f"crm-{report.kind}-{report.period}-{report.store_id}.csv"
        return Response(service.to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return report


@router.get("/weekly", response_model=ReportPublic, responses=REPORT_RESPONSES)
async def weekly_report(session: SessionDep, clock: ClockDep, principal: Crm,
                        week: Annotated[str | None, Query(description="ISO week, e.g. 2026-W05; default: last")] = None,
                        format: Format = "json", store_id: StoreQuery = None,
                        fresh: Annotated[bool, Query(description="compute now even when a stored one exists")] = False):
    """Satisfaction by department, callback SLA, complaints and their outcome, churn, and the
    customers' own words for low scores, over the store's Monday-to-Sunday."""
    store = acting_store_id(principal, store_id)
    period = await service.asked_period(session, store, "weekly", week, clock.now())
    return _answer(await service.report_for(session, principal, store, period, clock.now(), fresh), format)


@router.get("/monthly", response_model=ReportPublic, responses=REPORT_RESPONSES)
async def monthly_report(session: SessionDep, clock: ClockDep, principal: Crm,
                         month: Annotated[str | None, Query(description="e.g. 2026-02; default: last month")] = None,
                         format: Format = "json", store_id: StoreQuery = None,
                         fresh: Annotated[bool, Query(
                             description="compute now even when a stored one exists")] = False):
    store = acting_store_id(principal, store_id)
    period = await service.asked_period(session, store, "monthly", month, clock.now())
    return _answer(await service.report_for(session, principal, store, period, clock.now(), fresh), format)


TableFormat = Annotated[Literal["json", "csv", "xlsx"], Query(description="csv and xlsx: one row per complaint")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, XLSX: {}}, "description": "the table, as JSON, CSV or xlsx"},
    **problem_responses(NotFound, ValidationFailed)}


async def _table(session, store_id: str, rows, fmt: str, name: str, title: str, answer):
    if fmt == "json":
        return answer
    grid = people.table(rows, await zone_of(session, store_id))
    if fmt == "csv":
        return Response(people.to_csv(grid), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(people.to_xlsx(grid, title), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@router.get("/daily", response_model=DailyTally, responses=TABLE_RESPONSES)
async def daily_tally(session: SessionDep, clock: ClockDep, principal: Crm,
                      day: Annotated[Day | None, Query(description="the store's day; default today")] = None,
                      format: TableFormat = "json", store_id: StoreQuery = None):
    """问题客户日统计: the day's problem customers per department, each named."""
    store = acting_store_id(principal, store_id)
    tally = await service.daily_tally(session, principal, store, day, clock.now())
    return await _table(session, store, tally.problem_customers, format, f"crm-daily-{tally.day}-{store}",
                        f"问题客户 {tally.day}", tally)


@router.get("/weekly/problem-customers", response_model=ReportPublic, responses=TABLE_RESPONSES)
async def weekly_problem_customers(session: SessionDep, clock: ClockDep, principal: Crm,
                                   week: Annotated[str | None, Query(description="ISO week; default: last")] = None,
                                   format: TableFormat = "json", store_id: StoreQuery = None):
    """周报问题客户: each problem customer of the week, what was done and the result (the
    stored Monday report's list when there is one)."""
    store = acting_store_id(principal, store_id)
    period = await service.asked_period(session, store, "weekly", week, clock.now())
    report = await service.report_for(session, principal, store, period, clock.now(), False)
    return await _table(session, store, report.problem_customers, format, f"crm-weekly-{period.label}-{store}",
                        f"问题客户 {period.label}", report)


@router.get("/monthly/complaints", response_model=ReportPublic, responses=TABLE_RESPONSES)
async def monthly_complaints(session: SessionDep, clock: ClockDep, principal: Crm,
                             month: Annotated[str | None, Query(description="e.g. 2026-02; default: last")] = None,
                             format: TableFormat = "json", store_id: StoreQuery = None):
    """月度投诉表: each complaint of the month, its handling and the customer's reaction on
    the second callback (the stored report of the 3rd when there is one)."""
    store = acting_store_id(principal, store_id)
    period = await service.asked_period(session, store, "monthly", month, clock.now())
    report = await service.report_for(session, principal, store, period, clock.now(), False)
    return await _table(session, store, report.problem_customers, format, f"crm-complaints-{period.label}-{store}",
                        f"投诉表 {period.label}", report)


@router.get("", response_model=ReportList, responses=problem_responses(ValidationFailed))
async def list_reports(session: SessionDep, principal: Crm, limit: LimitQuery = 50, cursor: CursorQuery = None,
                       kind: Literal["weekly", "monthly"] | None = None,
                       period: Annotated[str | None, Query(max_length=16)] = None,
                       store_id: Annotated[str | None, Query(description="HQ: one store only")] = None):
    """Reports generated on schedule (or by hand), newest first."""
    rows, next_cursor = await service.list_reports(session, principal, store_id=store_id, kind=kind, period=period,
                                                   limit=limit, cursor=cursor)
    return ReportList(items=[ReportSummary.model_validate(r, from_attributes=True) for r in rows],
                      next_cursor=next_cursor)


@router.get("/{report_id}", response_model=ReportPublic, responses={**CSV_RESPONSE, **problem_responses(NotFound)})
async def get_report(report_id: str, session: SessionDep, principal: Crm, format: Format = "json"):
    return _answer(service.stored_public(await service.visible_report(session, principal, report_id)), format)
