from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api import ClockDep, SessionDep, TransactionalRoute, require_access, require_roles
from services.common.errors import NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.common.inputs import Day
from services.network.calendar import HQ_ZONE
from services.network.overview import service
from services.network.overview.schemas import Bucket, Overview, Trend

router = APIRouter(prefix="/v1/kpis", tags=["kpis"], route_class=TransactionalRoute)
# The whole network or regions of it: HQ and region managers (a store's callers read their own store's KPIs).
RegionReader = Annotated[Principal, Depends(require_roles("hq_admin", "hq_analyst", "region_manager"))]
Reader = Annotated[Principal, Depends(require_access("kpis"))]
MAX_WINDOW_DAYS = 366
Since = Annotated[Day | None, Query(alias="from", description="first local day")]
Until = Annotated[Day | None, Query(alias="to", description="last local day, inclusive; default today")]


@router.get("/overview", response_model=Overview, responses=problem_responses(ValidationFailed))
async def get_overview(session: SessionDep, clock: ClockDep, principal: RegionReader, since: Since = None,
                       until: Until = None,
                       top: Annotated[int, Query(ge=1, le=50, description="how many leading stores")] = 10):
    """Every region's and area's figures over a window (default this month), the leading
    stores by revenue and the rest, store counts, the onboarding funnel and the targets and
    attainment of the month `to` falls in (the network's and each region's), in one read."""
    until = until or clock.now().astimezone(HQ_ZONE).date()
    since = since or until.replace(day=1)
    if since > until:
        raise ValidationFailed("from", "must not be after `to`")
    if until - since > timedelta(days=MAX_WINDOW_DAYS - 1):
        raise ValidationFailed("from", f"a window is at most {MAX_WINDOW_DAYS} days")
    return await service.overview(session, principal, since, until, top, clock.now())


@router.get("/trend", response_model=Trend, responses=problem_responses(NotFound, ValidationFailed))
async def get_trend(session: SessionDep, clock: ClockDep, principal: Reader, bucket: Bucket = Bucket.DAY,
                    since: Annotated[Day | None, Query(alias="from", description=(
                        "a day in the first bucket; default 30 days, 12 weeks or 12 months before `to`"))] = None,
                    until: Until = None,
                    store_id: Annotated[str | None, Query(max_length=64)] = None,
                    region_id: Annotated[str | None, Query(max_length=64)] = None):
    """Figures per day, ISO week or month (at most 92, 53 or 36 buckets): the network's (a
    region manager's regions), one region's or one store's (a store's callers: their own)."""
    until = until or clock.now().astimezone(HQ_ZONE).date()
    since = since or service.default_since(bucket, until)
    if since > until:
        raise ValidationFailed("from", "must not be after `to`")
    return await service.trend(session, principal, bucket, since, until, store_id=store_id, region_id=region_id)
