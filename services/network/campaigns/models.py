from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class Campaign(NetworkModel, table=True):
    """A recall or service campaign of the brand: one labour operation, its parts and flat
    hours, open between two days for the VINs HQ uploaded."""

    __tablename__ = "campaigns"

    id: str = Field(primary_key=True, max_length=64)
    code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, unique=True))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # recall | service
    title_zh: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    title_en: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    op_code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    parts: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    flat_hours: Decimal = Field(sa_column=sa.Column(sa.Numeric(8, 2), nullable=False))
    starts_on: date
    ends_on: date
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # draft | published
    vin_count: int = Field(default=0)
    created_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    published_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CampaignVin(NetworkModel, table=True):
    """One affected car of a campaign and, once a closed repair order carried the campaign's
    operation for it, where and when the work was done. Written by COPY (see repository)."""

    __tablename__ = "campaign_vins"
    __table_args__ = (
        sa.PrimaryKeyConstraint("campaign_id", "vin", name="pk_campaign_vins"),
        # The lookup by VIN: one index probe per car however many campaigns there are.
        sa.Index("ix_campaign_vins_vin", "vin"),
    )

    campaign_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
                                                 nullable=False))
    vin: str = Field(sa_column=sa.Column(sa.String(17), nullable=False))
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    store_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    repair_order_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
