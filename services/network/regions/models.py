from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class Region(NetworkModel, table=True):
    """A region of the brand's network (华东, 华南 …), which a region manager runs."""

    __tablename__ = "regions"

    id: str = Field(primary_key=True, max_length=64)
    code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, unique=True))
    name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    # The largest claim (amount claimed, fen) the region's managers decide themselves; above
    # it HQ decides. 0: every claim goes to HQ.
    claim_review_limit_fen: int = Field(default=0, sa_column=sa.Column(
        sa.BigInteger, nullable=False, server_default="0"))
    version: int = 1


class Area(NetworkModel, table=True):
    """An area (片区) of a region: the stores of a few cities one area manager visits."""

    __tablename__ = "areas"
    __table_args__ = (sa.UniqueConstraint("region_id", "code", name="uq_areas_region_code"),)

    id: str = Field(primary_key=True, max_length=64)
    region_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("regions.id"), nullable=False))
    code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)


class StoreMembership(NetworkModel, table=True):
    """A store's stay in one area, from `from_day` until the day before `until_day` (open:
    it is there now), in the store's own days as its KPI figures are. A move closes the stay
    and opens another, so figures before the move stay with the region they were made in."""

    __tablename__ = "store_area_memberships"
    __table_args__ = (
        sa.Index("ix_store_area_memberships_store", "store_id", "from_day"),
        sa.Index("ix_store_area_memberships_region", "region_id", "from_day"),
        # A store is in one area at a time.
        sa.Index("uq_store_area_memberships_open", "store_id", unique=True,
                 postgresql_where=sa.text("until_day IS NULL")),
    )

    id: str = Field(primary_key=True, max_length=64)
    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    area_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("areas.id"), nullable=False))
    region_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("regions.id"), nullable=False))
    from_day: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    until_day: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(500), nullable=True))
    moved_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    moved_at: datetime = Field(sa_type=UTCDateTime)


class RegionManager(NetworkModel, table=True):
    """A person of the staff directory (HQ role region_manager) assigned to a region."""

    __tablename__ = "region_managers"
    __table_args__ = (
        sa.PrimaryKeyConstraint("person_id", "region_id", name="pk_region_managers"),
        sa.Index("ix_region_managers_region", "region_id"),
    )

    person_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("people.id"), nullable=False))
    region_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("regions.id"), nullable=False))
    assigned_at: datetime = Field(sa_type=UTCDateTime)
    assigned_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
