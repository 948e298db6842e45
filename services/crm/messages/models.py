"""Messages to customers, each attempt at delivering one, and each customer's consent per channel.

A message is one notice on one channel. A notice that goes to every channel the customer
allows (a car ready for pick-up) is one message per channel; one that needs reaching the
customer once (a booking confirmation) starts on the first channel, and the next channel's
message is written when that one fails (`fallback_from`)."""
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_dict
from services.crm.base import CrmModel


class Message(CrmModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        sa.UniqueConstraint("notice_key", "channel", name="uq_messages_notice_channel"),
        # The sender's claim: queued messages by when they are due, and nothing else.
        sa.Index("ix_messages_due", "next_attempt_at", postgresql_where=sa.text("status = 'queued'")),
        # SMS the provider accepted and has not yet reported on: when to ask it next.
        sa.Index("ix_messages_receipts", "next_attempt_at",
                 postgresql_where=sa.text("status = 'sent' AND channel = 'sms'")),
        # Sending: in a live sender's hands, or stranded by one that died (services/crm/messages/sender.py).
        sa.Index("ix_messages_sending", "id", postgresql_where=sa.text("status = 'sending'")),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    customer_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True))
    kind: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    category: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # service | marketing
    channel: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # sms | wechat | email
    # What the notice is about, once ("car_ready:<order>", "reminder:<id>"): never two per channel.
    notice_key: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    # The order, booking, reminder or callback it is about, for finding it again.
    about: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True, index=True))
    variables: dict[str, Any] = Field(default_factory=empty_dict, sa_column=sa.Column(sa.JSON, nullable=False))
    # held | queued | sending | sent | delivered | failed | skipped | cancelled | unconfirmed
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    status_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    address: str | None = Field(default=None, sa_column=sa.Column(sa.String(320), nullable=True))
    title: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    body: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    link: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, default=0))
    next_attempt_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    # Past this the notice is pointless (the car was collected, the booking day came): not sent.
    expires_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    fallback_from: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    provider_message_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, default=1))


class MessageAttempt(CrmModel, table=True):
    """One call to a provider, written as `sending` before the call and completed after it."""

    __tablename__ = "message_attempts"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    message_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    number: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    channel: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    # sending | accepted | rate_limited | failed | rejected | not_sent | unconfirmed
    outcome: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    error_code: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    detail: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    provider_message_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    started_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    retry_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    # How the outcome became known: the call's answer, or the reconciliation after a crash.
    settled_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(16), nullable=True))


class Consent(CrmModel, table=True):
    """What a customer agreed to on one channel, and where that channel reaches them."""

    __tablename__ = "customer_consents"

    customer_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    channel: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    address: str | None = Field(default=None, sa_column=sa.Column(sa.String(320), nullable=True))
    service: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    marketing: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    updated_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    updated_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    updated_by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
