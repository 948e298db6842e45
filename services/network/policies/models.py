from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class PolicyVersion(NetworkModel, table=True):
    """One version of a named policy, in force from `effective_from` until the day the next
    version takes effect. Versions are never changed: a correction is a new version."""

    __tablename__ = "policy_versions"
    __table_args__ = (
        sa.PrimaryKeyConstraint("name", "version", name="pk_policy_versions"),
        sa.UniqueConstraint("name", "effective_from", name="uq_policy_versions_day"),
    )

    name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    effective_from: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    body: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
