from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_list
from services.workshop.base import WorkshopModel


class Technician(WorkshopModel, table=True):
    __tablename__ = "technicians"
    __table_args__ = (sa.UniqueConstraint("store_id", "principal_id", name="uq_technicians_store_principal"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    # Labour operation categories (data/labor_operations.json) this technician may be dispatched to.
    skills: list[str] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    # The API-key principal this technician works under, for four-eyes checks.
    principal_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    active: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False))
    # What an hour of this technician costs the store (wage and on-costs), in fen: labour
    # cost is this rate times the hours clocked. None until the store sets it.
    hourly_cost_fen: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))


class StaffMember(WorkshopModel, table=True):
    """A person of network's staff directory as the workshop knows them, from its events:
    the stores they work in decide which store's technician they may be linked to."""

    __tablename__ = "staff_members"

    person_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # active | left
    store_ids: list[str] = Field(default_factory=empty_list, sa_column=sa.Column(sa.JSON, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
