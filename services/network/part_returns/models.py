from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class PartReturn(NetworkModel, table=True):
    """An old part HQ wants back from a claim line (旧件回收): the store ships it by its
    ship-by date, HQ's warehouse receives and inspects it.

    States: due → shipped → received; due → charged_back (not shipped in time);
    due → cancelled (its claim rejected)."""

    __tablename__ = "part_returns"
    __table_args__ = (
        sa.UniqueConstraint("claim_id", "line_id", name="uq_part_returns_claim_line"),
        sa.Index("ix_part_returns_store_status", "store_id", "status"),
    )

    id: str = Field(primary_key=True, max_length=64)
    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    claim_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("claims.id"), nullable=False))
    line_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    repair_order_number: str
    part_no: str
    description: str
    quantity: str
    status: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    # Null while the claim awaits its decision: the clock starts at approval.
    ship_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    marked_at: datetime = Field(sa_type=UTCDateTime)
    marked_by: str
    marked_by_name: str | None = None
    marked_by_credential: str | None = None
    shipped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    shipped_by: str | None = None
    shipped_by_name: str | None = None
    shipped_by_credential: str | None = None
    waybill: str | None = None
    carrier: str | None = None
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_by: str | None = None
    received_by_name: str | None = None
    received_by_credential: str | None = None
    result: str | None = None  # ok | wrong_part | damaged | missing
    inspection_note: str | None = None
    chargeback_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    version: int = 1
