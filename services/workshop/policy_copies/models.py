from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from services.workshop.base import WorkshopModel


class PolicyCopy(WorkshopModel, table=True):
    """One version of a brand policy as the workshop has it. A row is made when the version is
    announced; `document` is filled and `complete` set once all its parts have come and the
    version before it is complete. Version 1 is the data/ file (migration 0010)."""

    __tablename__ = "policy_copies"
    __table_args__ = (sa.PrimaryKeyConstraint("name", "version", name="pk_policy_copies"),)

    name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    effective_from: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    change_count: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    parts: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    document: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONB, nullable=True))
    complete: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))


class PolicyCopyPart(WorkshopModel, table=True):
    """One part of a version's changes, kept until the version is complete (part 1 is what
    `network.policy.version_published` carried). A part may come before its announcement."""

    __tablename__ = "policy_copy_parts"
    __table_args__ = (sa.PrimaryKeyConstraint("name", "version", "part", name="pk_policy_copy_parts"),)

    name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    part: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    changes: list[dict[str, Any]] = Field(sa_column=sa.Column(JSONB, nullable=False))
