from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class Store(NetworkModel, table=True):
    __tablename__ = "stores"

    id: str = Field(primary_key=True, max_length=64)
    code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, unique=True))
    name: str
    kind: str
    region: str  # the region's code once placed in an area (regions/), else the text it was created with
    city: str
    timezone: str
    status: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    suspended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    suspension_reason: str | None = None
    version: int = 1
    # Where the store sits now; store_area_memberships keeps where it sat before.
    region_id: str | None = Field(default=None, sa_column=sa.Column(
        sa.String(64), sa.ForeignKey("regions.id"), nullable=True, index=True))
    area_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), sa.ForeignKey("areas.id"),
                                                                 nullable=True))
