from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
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


class ThreeGuaranteesAlert(NetworkModel, table=True):
    """One alert raised for a VIN: the key makes it once per threshold (and per repair for a loaner)."""

    __tablename__ = "three_guarantees_alerts"
    __table_args__ = (sa.PrimaryKeyConstraint("vin", "key", name="pk_three_guarantees_alerts"),)

    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    key: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    raised_at: datetime = Field(sa_type=UTCDateTime)
