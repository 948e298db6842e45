"""An outlet's webhook endpoints and the deliveries queued for them (an outbox of their own)."""
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class WebhookEndpoint(NetworkModel, table=True):
    """A URL of an outlet's system and the event types it wants. The secret signs every
    delivery, so it is kept as it was given (shown to the outlet once, and again only as a
    new one when rotated)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.Index("ix_webhook_endpoints_store_status", "store_id", "status"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    url: str = Field(sa_column=sa.Column(sa.String(2000), nullable=False))
    description: str = Field(default="", sa_column=sa.Column(sa.String(200), nullable=False, server_default=""))
    event_types: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    secret: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # active | paused | deleted
    # Why it is paused (Chinese, then English), when our deliverer paused it.
    status_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # Failed calls since the last answered one; past a setting the endpoint is paused.
    consecutive_failures: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    # After a failed call nothing goes to the endpoint before this (one call per backoff step
    # to a receiver that is down, however many deliveries wait for it).
    retry_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    last_success_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    last_failure_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    created_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    created_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    secret_rotated_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))


class WebhookDelivery(NetworkModel, table=True):
    """One event for one endpoint: queued when network applies the event, sent by the
    deliverer (services/network/webhooks/deliverer.py) until the endpoint answers 2xx or it is
    given up. `seq` is the order the events were applied in, which keeps an aggregate's
    events in order."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # An event is queued for an endpoint once, however often it is applied or offered.
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        # The deliverer's claim: queued deliveries by when they are due, nothing else.
        sa.Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=sa.text("status = 'queued'")),
        # An earlier queued delivery of the same aggregate holds a later one back.
        sa.Index("ix_webhook_deliveries_aggregate", "endpoint_id", "subject", "seq",
                 postgresql_where=sa.text("status = 'queued'")),
        sa.Index("ix_webhook_deliveries_endpoint_seq", "endpoint_id", "seq"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    seq: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(always=False),
                                                              nullable=False, unique=True))
    endpoint_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("webhook_endpoints.id"),
                                                 nullable=False))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    event_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    event_type: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    subject: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    # The body exactly as sent (and signed): the event as CloudEvents JSON.
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # queued | delivered | failed
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    next_attempt_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    last_attempt_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    last_status_code: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # Times it was sent again by hand (each gives it a new round of attempts).
    redeliveries: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0"))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    # When this round of attempts began (queued, or sent again by hand): retried for so long after it.
    queued_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    failed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
