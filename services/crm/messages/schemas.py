from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from services.common.pagination import Page

ChannelName = Literal["sms", "wechat", "email"]
StatusName = Literal["held", "queued", "sending", "sent", "delivered", "failed", "skipped", "cancelled",
                     "unconfirmed"]
KindName = Literal["booking_confirmed", "booking_reminder", "car_ready", "parts_delayed", "order_delayed",
                   "extra_work", "first_maintenance_thanks",
                   "callback_notice", "first_maintenance_invitation", "periodic_maintenance_invitation",
                   "campaign_invitation"]


class AttemptPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    channel: ChannelName
    outcome: Literal["sending", "accepted", "rate_limited", "failed", "rejected", "not_sent", "unconfirmed"]
    error_code: str | None = None
    detail: str | None = None
    provider_message_id: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    retry_at: datetime | None = Field(default=None, description="when the next attempt is due, after one that may pass")
    settled_by: Literal["answer", "reconcile"] | None = Field(
        default=None, description="answer: the provider's answer to the call; reconcile: what the provider said "
                                  "afterwards of a call whose sender stopped before recording it")


class MessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    store_id: str
    customer_id: str | None = None
    kind: KindName
    category: Literal["service", "marketing"]
    channel: ChannelName
    status: StatusName
    status_reason: str | None = None
    about: str | None = Field(default=None, description="the repair order, booking or reminder it is about")
    address: str | None = Field(default=None, description="the phone number, WeChat openid or email address used")
    title: str | None = None
    body: str | None = Field(default=None, description="the text sent on this channel (Chinese, then English)")
    link: str | None = None
    attempts: int
    next_attempt_at: datetime
    fallback_from: str | None = Field(default=None, description="the message on another channel whose failure "
                                                                "this one follows")
    provider_message_id: str | None = None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = None

    @computed_field(description="the template it was rendered from: services/crm/messages/templates/<template>.j2")
    def template(self) -> str:
        return self.kind


class MessageDetail(MessagePublic):
    attempt_log: list[AttemptPublic] = Field(description="every call to the provider, oldest first")


MessageList = Page[MessagePublic]


class ChannelConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: bool = Field(description="messages about the customer's own car and visits")
    marketing: bool = Field(description="maintenance and campaign invitations")


class WeChatConsentIn(ChannelConsentIn):
    openid: str | None = Field(default=None, min_length=1, max_length=64,
                               description="the customer's openid for the dealer's service account")


class EmailConsentIn(ChannelConsentIn):
    # The shape only: whether the mailbox exists only its server can say, by taking the message or not.
    address: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ConsentUpdate(BaseModel):
    """The channels named are set as given; the others stay as they are (none named: nothing changes)."""

    model_config = ConfigDict(extra="forbid")

    sms: ChannelConsentIn | None = None
    wechat: WeChatConsentIn | None = None
    email: EmailConsentIn | None = None


class ChannelConsentPublic(BaseModel):
    channel: ChannelName
    address: str | None = Field(description="where the channel reaches the customer; null: nowhere yet")
    service: bool
    marketing: bool
    effective_service: bool = Field(description="a service message may go on this channel now")
    effective_marketing: bool = Field(description="an invitation may go on this channel now (needs an address, "
                                                  "marketing consent, and no marketing opt-out in the contact "
                                                  "preferences)")
    recorded: bool = Field(description="false: nobody recorded consent on this channel yet; SMS then follows the "
                                       "customer's contact preferences")
    updated_at: datetime | None = None
    updated_by: str | None = None


class ConsentPublic(BaseModel):
    customer_id: str
    store_id: str
    channels: list[ChannelConsentPublic]
