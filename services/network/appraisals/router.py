from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access
from services.common.errors import Forbidden, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.network.appraisals import export, service
from services.network.appraisals.schemas import AppraisalReport

router = APIRouter(tags=["appraisals"], route_class=TransactionalRoute)
# The matrix's `network` area; the service narrows it to HQ and the store's managers.
Access = Annotated[Principal, Depends(require_access("network"))]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description=(
    "the month, YYYY-MM (each store's local calendar month); default this month in China time"))]
Format = Annotated[Literal["json", "csv", "xlsx"], Query(description="csv and xlsx: one row per person and store")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, XLSX: {}}, "description": "the appraisal, as JSON, CSV or xlsx"},
    **problem_responses(Forbidden, NotFound, ValidationFailed)}


@router.get("/v1/appraisals", response_model=AppraisalReport, responses=RESPONSES)
async def get_appraisals(session: SessionDep, clock: ClockDep, principal: Access, month: Month = None,
                         store_id: Annotated[str | None, Query(max_length=64)] = None, format: Format = "json"):
    """月度考核 The month's figures of each store's people, every role (advisors, technicians,
    information clerks, warranty clerks, parts), from what the events credit to each, with
    their targets and attainment where the store set them."""
    year, number = service.parse_month(month, clock)
    report = await service.appraisal(session, clock, principal, year, number, store_id)
    if format == "json":
        return report
    name = f"appraisals-{report.month}" + (f"-{store_id}" if store_id else "")
    rows = export.table(report)
    if format == "csv":
        return Response(export.to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(export.to_xlsx(rows, f"考核 {report.month}"), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
