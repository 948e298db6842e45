from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class Person(NetworkModel, table=True):
    """Someone on the group's staff. The employee number is unique across the group; a
    person who leaves stays, with the stores they worked in, so who did what stays readable."""

    __tablename__ = "people"

    id: str = Field(primary_key=True, max_length=64)
    employee_no: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, unique=True))
    name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    phone: str = Field(sa_column=sa.Column(sa.String(11), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # a PersonStatus
    # The person's role at head office (an HqRole), besides or instead of roles in stores.
    hq_role: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), nullable=True))
    left_on: date | None = None
    left_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    version: int = 1


class Assignment(NetworkModel, table=True):
    """A person's role in one store: one role per store, any number of stores."""

    __tablename__ = "person_assignments"
    __table_args__ = (sa.Index("ix_person_assignments_store", "store_id", "person_id"),)

    person_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("people.id"), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), primary_key=True))
    role: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))  # a StaffRole
    assigned_at: datetime = Field(sa_type=UTCDateTime)
