from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class ClosedRepairOrder(NetworkModel, table=True):
    """A repair order as network sees it: built only from reception's `repair_order.settled`
    and `repair_order.delivered` events, so warranty claims can be checked against what the
    store actually invoiced."""

    __tablename__ = "repair_orders"
    __table_args__ = (sa.Index("ix_repair_orders_store", "store_id", "id"),)

    id: str = Field(primary_key=True, max_length=64)
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    number: str
    vin: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    plate: str | None = None
    model: str | None = None
    sold_at: date | None = None
    mileage_km: int
    opened_at: datetime = Field(sa_type=UTCDateTime)
    settled_at: datetime = Field(sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lines: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    totals: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    # Envelope time of the newest event applied, so an older one arriving late changes nothing.
    updated_at: datetime = Field(sa_type=UTCDateTime)
