from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_dict
from services.reception.base import ReceptionModel

BigId = sa.BigInteger()


class StateChange(ReceptionModel, table=True):
    """One state change of an appointment, repair order or roadside request: who, when, from, to."""

    __tablename__ = "state_changes"
    __table_args__ = (sa.Index("ix_state_changes_aggregate", "aggregate", "aggregate_id", "id"),)

    id: int | None = Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))
    aggregate: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    aggregate_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    action: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    from_status: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    to_status: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    by_id: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    by_name: str = Field(default="", sa_column=sa.Column(sa.String(200), nullable=False))
    by_role: str = Field(default="", sa_column=sa.Column(sa.String(32), nullable=False))
    # The key or sign-in the change was made with; none for a service acting on an event.
    by_credential: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    detail: dict[str, Any] = Field(default_factory=empty_dict, sa_column=sa.Column(sa.JSON, nullable=False))


class Counter(ReceptionModel, table=True):
    """Per-store, per-day sequences (repair order and invoice numbers) and slot locks."""

    __tablename__ = "counters"

    name: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    value: int = Field(sa_column=sa.Column(BigId, nullable=False))
