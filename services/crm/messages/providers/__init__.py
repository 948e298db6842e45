"""Provider adapters behind one interface: each sends one message on its channel, says what
became of a call whose answer a crash hid, and (where the provider can) whether a sent
message reached the phone."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from services.crm.messages.policy import Channel


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # the provider took it
    RATE_LIMITED = "rate_limited"  # try again later
    FAILED = "failed"  # may pass (outage, timeout, system busy): try again later
    REJECTED = "rejected"  # will not pass on this channel (bad number, not following): next channel


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    provider_message_id: str | None = None
    error_code: str | None = None
    detail: str | None = None
    retry_after: float | None = None  # seconds, when the provider says


class Afterwards(StrEnum):
    """What a provider can say of a call whose outcome nobody recorded (the sender died)."""

    ACCEPTED = "accepted"  # it has the message: record it as sent
    NOT_SENT = "not_sent"  # it never got it: send it again
    REPEAT_DROPPED = "repeat_dropped"  # sending again is safe: the provider drops a repeat
    UNKNOWN = "unknown"  # it cannot say: not sent again (at most once)


class Receipt(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Outgoing:
    """One message as a provider needs it. `key` is the message's id: the provider-side
    idempotency key or reference wherever the provider takes one."""

    key: str
    address: str
    title: str
    text: str
    fields: dict[str, str]
    variables: dict[str, str]
    sms_template: str
    wechat_template: str
    link: str | None = None
    provider_message_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class Provider(Protocol):
    channel: Channel

    @property
    def configured(self) -> bool: ...

    async def send(self, message: Outgoing) -> Result: ...

    async def afterwards(self, message: Outgoing, started_at: datetime, now: datetime) -> tuple[Afterwards, str | None]:
        """What became of a call started at `started_at` (and the provider's id for it, if known)."""
        ...

    async def receipt(self, message: Outgoing, sent_at: datetime) -> tuple[Receipt, str | None]: ...

    async def close(self) -> None: ...
