from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import Conflict, InvalidTransition, NotFound, ValidationFailed, problem_responses
from services.common.identity import Principal
from services.network.campaigns import service
from services.network.campaigns.schemas import (
    CampaignCompletion,
    CampaignCreate,
    CampaignList,
    CampaignPublic,
    CampaignStatus,
    VehicleCampaigns,
    VinUpload,
)

router = APIRouter(tags=["campaigns"], route_class=TransactionalRoute)
# The matrix's `campaigns` area: hq_admin writes (drafts, uploads, publishes), the others read.
Access = Annotated[Principal, Depends(require_access("campaigns"))]
VinPath = Annotated[str, Path(min_length=17, max_length=17, description="the vehicle's VIN")]
VinQuery = Annotated[str | None, Query(min_length=17, max_length=17, description="campaigns listing this VIN")]
CampaignId = Annotated[str, Path(max_length=64)]
CSV_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string", "description": "one VIN a line; an optional first line `vin`"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                  "format": "binary"}}}},
}}}


@router.post("/v1/campaigns", response_model=CampaignPublic, status_code=201,
             responses=problem_responses(Conflict, ValidationFailed))
async def create_campaign(body: CampaignCreate, session: SessionDep, clock: ClockDep, principal: Access):
    """HQ drafts a recall or service campaign; its VINs come next, then publishing."""
    return service.public(await service.create(session, clock, principal, body))


@router.get("/v1/campaigns", response_model=CampaignList, responses=problem_responses(ValidationFailed))
async def list_campaigns(session: SessionDep, principal: Access, limit: LimitQuery = 50,
                         cursor: CursorQuery = None, status: CampaignStatus | None = None, vin: VinQuery = None):
    """Newest first; `vin` keeps the campaigns listing that car (open or not). Stores see published ones."""
    return await service.list_campaigns(session, principal, status=status, vin=vin, limit=limit, cursor=cursor)


@router.get("/v1/campaigns/{campaign_id}", response_model=CampaignPublic, responses=problem_responses(NotFound))
async def get_campaign(campaign_id: CampaignId, session: SessionDep, principal: Access):
    return service.public(await service.get(session, principal, campaign_id))


async def _upload(campaign_id: str, request: Request, session, *, replace: bool) -> VinUpload:
    text = service.csv_text(await request.body(), request.headers.get("content-type", ""))
    return await service.upload_vins(session, campaign_id, text, replace=replace)


@router.post("/v1/campaigns/{campaign_id}/vins", response_model=VinUpload, openapi_extra=CSV_BODY,
             responses=problem_responses(NotFound, InvalidTransition, ValidationFailed))
async def upload_vins(campaign_id: CampaignId, request: Request, session: SessionDep, principal: Access):
    """Affected VINs as CSV (text/csv body, or a multipart file), added to the draft's list
    (a list over the gateway's 1 MiB body limit goes up in parts). Any invalid line is 422
    naming every bad line number, and nothing is written."""
    return await _upload(campaign_id, request, session, replace=False)


@router.put("/v1/campaigns/{campaign_id}/vins", response_model=VinUpload, openapi_extra=CSV_BODY,
            responses=problem_responses(NotFound, InvalidTransition, ValidationFailed))
async def put_vins(campaign_id: CampaignId, request: Request, session: SessionDep, principal: Access):
    """The affected VINs as CSV, replacing the draft's list (API.md's upload)."""
    return await _upload(campaign_id, request, session, replace=True)


@router.post("/v1/campaigns/{campaign_id}/publish", response_model=CampaignPublic,
             responses=problem_responses(NotFound, Conflict, InvalidTransition))
async def publish_campaign(campaign_id: CampaignId, session: SessionDep, clock: ClockDep, principal: Access):
    """draft → published: emits `network.campaign.published`; the VIN list is frozen."""
    return service.public(await service.publish(session, clock, principal, campaign_id))


@router.get("/v1/campaigns/{campaign_id}/completion", response_model=CampaignCompletion,
            responses=problem_responses(NotFound))
async def campaign_completion(campaign_id: CampaignId, session: SessionDep, principal: Access):
    """VINs done per region and per store; a store sees its own."""
    return await service.completion(session, principal, campaign_id)


@router.get("/v1/vehicles/{vin}/campaigns", response_model=VehicleCampaigns, responses=problem_responses())
async def vehicle_campaigns(vin: VinPath, session: SessionDep, clock: ClockDep, principal: Access):
    """The car's open campaigns today: published, within their dates, not yet done for it."""
    return await service.open_for_vehicle(session, clock, vin)
