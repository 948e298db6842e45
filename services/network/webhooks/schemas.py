from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from services.common.pagination import Page
from services.network.webhooks.policy import EVENT_TYPES, DeliveryStatus, EndpointStatus


def _subscribable(value: str) -> str:
    if value not in EVENT_TYPES:
        raise ValueError("not an event type an outlet can subscribe to (GET /v1/webhooks/event-types)")
    return value


EventType = Annotated[str, Field(max_length=100, json_schema_extra={"enum": list(EVENT_TYPES)}),
                      AfterValidator(_subscribable)]
URL_DESCRIPTION = "https://… of the outlet's receiver (plain http only to localhost where allowed)"


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000, description=URL_DESCRIPTION)
    event_types: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES),
                                         description="GET /v1/webhooks/event-types lists them")
    description: str = Field(default="", max_length=200)
    store_id: str | None = Field(default=None, max_length=64, description="HQ names the outlet; an outlet its own")

    _event_types = field_validator("event_types")(_distinct)


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=8, max_length=2000, description=URL_DESCRIPTION)
    event_types: list[EventType] | None = Field(default=None, min_length=1, max_length=len(EVENT_TYPES))
    description: str | None = Field(default=None, max_length=200)

    @field_validator("event_types")
    @classmethod
    def _distinct_types(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _distinct(values)


class WebhookPublic(BaseModel):
    id: str
    store_id: str
    url: str
    description: str
    event_types: list[str]
    status: EndpointStatus
    status_reason: str | None = Field(default=None, description="why it was paused, Chinese then English")
    consecutive_failures: int
    retry_at: datetime | None = Field(default=None, description="after a failed call, nothing is sent before this")
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    created_at: datetime
    created_by: str
    secret_rotated_at: datetime | None = None
    version: int


class WebhookSecret(WebhookPublic):
    secret: str = Field(description="signs every delivery; shown in this answer only (and its replay)")


class EventTypePublic(BaseModel):
    type: str
    title_zh: str
    title_en: str
    network_wide: bool = Field(description="true: every outlet's subscribed endpoints get it; false: the store's own")


class EventTypeList(BaseModel):
    items: list[EventTypePublic]


class DeliveryPublic(BaseModel):
    id: str
    seq: int
    endpoint_id: str
    store_id: str
    event_id: str
    event_type: str
    subject: str
    status: DeliveryStatus
    attempts: int = Field(description="attempts in this round (a redelivery starts a new one)")
    next_attempt_at: datetime | None = Field(default=None, description="queued: when it is tried next")
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    redeliveries: int
    created_at: datetime
    delivered_at: datetime | None = None
    failed_at: datetime | None = None


class DeliveryDetail(DeliveryPublic):
    body: str = Field(description="the body as sent: the event in CloudEvents JSON")


WebhookList = Page[WebhookPublic]
DeliveryList = Page[DeliveryPublic]
