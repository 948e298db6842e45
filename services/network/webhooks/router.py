"""/v1/webhooks: an outlet's endpoints, their secrets and their delivery log (the `webhooks`
area of the permission matrix; the outlet's own key and store manager change them)."""
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.common.api import ClockDep, CursorQuery, LimitQuery, SessionDep, TransactionalRoute, require_access
from services.common.errors import (
    Forbidden,
    InvalidTransition,
    NotFound,
    StaleVersion,
    ValidationFailed,
    problem_responses,
)
from services.common.identity import Principal
from services.common.versioning import IfMatch, check_version
from services.network.settings import NetworkSettings
from services.network.webhooks import service
from services.network.webhooks.policy import DeliveryStatus, EndpointStatus
from services.network.webhooks.schemas import (
    DeliveryDetail,
    DeliveryList,
    EventTypeList,
    WebhookCreate,
    WebhookList,
    WebhookPublic,
    WebhookSecret,
    WebhookUpdate,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=TransactionalRoute)
Access = Annotated[Principal, Depends(require_access("webhooks"))]


def _settings(request: Request) -> NetworkSettings:
    return request.app.state.settings


SettingsDep = Annotated[NetworkSettings, Depends(_settings)]


@router.post("", status_code=201, response_model=WebhookSecret,
             responses=problem_responses(Forbidden, NotFound, ValidationFailed))
async def register_webhook(body: WebhookCreate, session: SessionDep, clock: ClockDep, principal: Access,
                           settings: SettingsDep):
    """Register an endpoint; the answer holds its signing `secret`, shown this once."""
    endpoint = await service.register(session, clock, principal, body,
                                      allow_http_localhost=settings.webhooks_allow_http_localhost)
    return service.with_secret(endpoint)


@router.get("", response_model=WebhookList)
async def list_webhooks(session: SessionDep, principal: Access, limit: LimitQuery = 50, cursor: CursorQuery = None,
                        store_id: Annotated[str | None, Query(max_length=64)] = None,
                        status: Annotated[EndpointStatus | None, Query()] = None):
    return await service.list_endpoints(session, principal, store_id=store_id,
                                        status=status.value if status else None, limit=limit, cursor=cursor)


@router.get("/event-types", response_model=EventTypeList)
async def list_event_types(principal: Access):
    """What an endpoint may subscribe to, and whose events each is."""
    return service.event_types()


@router.get("/{webhook_id}", response_model=WebhookPublic, responses=problem_responses(NotFound))
async def get_webhook(webhook_id: str, session: SessionDep, principal: Access):
    return service.public(await service.get_visible(session, principal, webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookPublic,
              responses=problem_responses(Forbidden, NotFound, ValidationFailed, StaleVersion))
async def update_webhook(webhook_id: str, body: WebhookUpdate, session: SessionDep, clock: ClockDep,
                         principal: Access, settings: SettingsDep, if_match: IfMatch = None):
    endpoint = await service.get_visible(session, principal, webhook_id, for_update=True)
    check_version(endpoint.version, if_match)
    return service.public(await service.update(session, clock, principal, endpoint, body,
                                               allow_http_localhost=settings.webhooks_allow_http_localhost))


@router.delete("/{webhook_id}", status_code=204, responses=problem_responses(Forbidden, NotFound))
async def delete_webhook(webhook_id: str, session: SessionDep, clock: ClockDep, principal: Access):
    endpoint = await service.get_visible(session, principal, webhook_id, for_update=True)
    await service.delete(session, clock, principal, endpoint)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookSecret,
             responses=problem_responses(Forbidden, NotFound))
async def rotate_secret(webhook_id: str, session: SessionDep, clock: ClockDep, principal: Access):
    """A new signing secret, shown this once; the old one stops signing at once."""
    endpoint = await service.get_visible(session, principal, webhook_id, for_update=True)
    return service.with_secret(await service.rotate_secret(session, clock, principal, endpoint))


@router.post("/{webhook_id}/pause", response_model=WebhookPublic,
             responses=problem_responses(Forbidden, NotFound, InvalidTransition))
async def pause_webhook(webhook_id: str, session: SessionDep, clock: ClockDep, principal: Access):
    """Nothing is sent while paused; events keep being queued for it."""
    endpoint = await service.get_visible(session, principal, webhook_id, for_update=True)
    return service.public(await service.pause(session, clock, principal, endpoint))


@router.post("/{webhook_id}/resume", response_model=WebhookPublic,
             responses=problem_responses(Forbidden, NotFound, InvalidTransition))
async def resume_webhook(webhook_id: str, session: SessionDep, clock: ClockDep, principal: Access):
    """Active again (also after the deliverer paused it for failing): what queued up goes out."""
    endpoint = await service.get_visible(session, principal, webhook_id, for_update=True)
    return service.public(await service.resume(session, clock, principal, endpoint))


@router.post("/{webhook_id}/ping", status_code=201, response_model=DeliveryDetail,
             responses=problem_responses(Forbidden, NotFound))
async def ping_webhook(webhook_id: str, session: SessionDep, clock: ClockDep, principal: Access):
    """Queue a signed test delivery (`network.webhook.ping`)."""
    endpoint = await service.get_visible(session, principal, webhook_id)
    return service.delivery_detail(await service.ping(session, clock, principal, endpoint))


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList, responses=problem_responses(NotFound))
async def list_deliveries(webhook_id: str, session: SessionDep, principal: Access, limit: LimitQuery = 50,
                          cursor: CursorQuery = None, status: Annotated[DeliveryStatus | None, Query()] = None,
                          event_type: Annotated[str | None, Query(max_length=100)] = None):
    """The endpoint's delivery log, newest first: status, attempts, the last answer or error."""
    endpoint = await service.get_visible(session, principal, webhook_id)
    return await service.deliveries(session, endpoint, status=status.value if status else None,
                                    event_type=event_type, limit=limit, cursor=cursor)


@router.get("/{webhook_id}/deliveries/{delivery_id}", response_model=DeliveryDetail,
            responses=problem_responses(NotFound))
async def get_delivery(webhook_id: str, delivery_id: str, session: SessionDep, principal: Access):
    endpoint = await service.get_visible(session, principal, webhook_id)
    return service.delivery_detail(await service.delivery_of(session, endpoint, delivery_id))


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", response_model=DeliveryDetail,
             responses=problem_responses(Forbidden, NotFound, InvalidTransition))
async def redeliver(webhook_id: str, delivery_id: str, session: SessionDep, clock: ClockDep, principal: Access):
    """Send a delivered or failed delivery again, with a new round of attempts."""
    endpoint = await service.get_visible(session, principal, webhook_id)
    row = await service.delivery_of(session, endpoint, delivery_id, for_update=True)
    return service.delivery_detail(await service.redeliver(session, clock, principal, endpoint, row))
