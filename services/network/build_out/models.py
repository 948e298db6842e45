from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class BuildOutPlan(NetworkModel, table=True):
    """A region's plan for one year: the cities it means to open outlets in, and how many in
    each. HQ sets it and may set it again; each change is a new version of the same row."""

    __tablename__ = "build_out_plans"
    __table_args__ = (sa.UniqueConstraint("region_id", "year", name="uq_build_out_plans_region_year"),)

    id: str = Field(primary_key=True, max_length=64)
    region_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("regions.id"), nullable=False))
    year: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    # [{province, city, planned_outlets}], by province and city
    cities: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    planned_outlets: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    updated_by_name: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    version: int = 1
