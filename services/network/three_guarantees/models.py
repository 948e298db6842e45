from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime, empty_list
from services.network.base import NetworkModel


class WatchedRepair(NetworkModel, table=True):
    """A closed repair order as the watch reads it: its times (the workshop's ready time is
    kept here, the closed-order projection has none) and the op codes of its warranty labour,
    classified when read so that a change of data/sanbao_watch.json applies to past repairs."""

    __tablename__ = "three_guarantees_repairs"

    repair_order_id: str = Field(primary_key=True, max_length=64)
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    number: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    sold_at: date | None = None
    mileage_km: int
    opened_at: datetime = Field(sa_type=UTCDateTime)
    ready_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    settled_at: datetime = Field(sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    warranty_op_codes: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    warranty_part_nos: list[str] = Field(default_factory=empty_list, sa_column=sa.Column(
        sa.JSON, nullable=False, server_default=sa.text("'[]'::json")))


class ThreeGuaranteesAlert(NetworkModel, table=True):
    """One alert raised for a VIN: the key makes it once per threshold (and per repair for a loaner)."""

    __tablename__ = "three_guarantees_alerts"
    __table_args__ = (sa.PrimaryKeyConstraint("vin", "key", name="pk_three_guarantees_alerts"),)

    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    key: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    raised_at: datetime = Field(sa_type=UTCDateTime)


class PublishedFigures(NetworkModel, table=True):
    """The figures last told to reception (network.three_guarantees.updated) for a VIN. A change is
    announced when the figures worked out again differ from these; the row is also what a car's
    recomputations queue on, so two orders of one car closing at once publish in turn."""

    __tablename__ = "three_guarantees_figures"

    vin: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    figures: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
