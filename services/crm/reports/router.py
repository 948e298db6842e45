from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.stores import acting_store_id
from services.crm.reports import service
from services.crm.reports.schemas import ReportList, ReportPublic, ReportSummary

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
