"""Tables every service database has: outbox, inbox, idempotency keys and the local
registry of stores learnt from network's events."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field

from .db import ServiceModel, UTCDateTime, empty_dict


class PlatformModel(ServiceModel, registry=registry()):
    """Base of the tables every service database has."""


BigId = sa.BigInteger()


class OutboxMessage(PlatformModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_unsent", "id", postgresql_where=sa.text("sent_at IS NULL")),)

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    event_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    event_type: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    key: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))


class InboxEvent(PlatformModel, table=True):
    __tablename__ = "inbox"

    event_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    event_type: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    source_topic: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, default=""))
    applied_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class IdempotencyRecord(PlatformModel, table=True):
    __tablename__ = "idempotency_keys"

    scope: str = Field(sa_column=sa.Column(sa.String(128), primary_key=True))
    key: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    request_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    method: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    path: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    status_code: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    response_body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    response_headers: dict[str, Any] = Field(default_factory=empty_dict, sa_column=sa.Column(sa.JSON, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class KnownStore(PlatformModel, table=True):
    """What this service knows of a store, from network's store events."""

    __tablename__ = "known_stores"

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    timezone: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
