from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.reception.base import ReceptionModel


class Campaign(ReceptionModel, table=True):
    """A published campaign as network announced it. `parts` and `flat_hours` come with
    `network.campaign.published` only; a VIN chunk read first leaves them empty until it comes."""

    __tablename__ = "campaigns"
    __table_args__ = (sa.Index("ix_campaigns_code", "code"),)

    campaign_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    title_zh: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    title_en: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    op_code: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    parts: list[dict[str, Any]] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    flat_hours: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(), nullable=True))
    starts_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    ends_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    published_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class CampaignVehicle(ReceptionModel, table=True):
    """A car a campaign lists. Marked done rather than deleted: a completion that overtakes
    the VIN's chunk must not be undone when the chunk comes."""

    __tablename__ = "campaign_vehicles"
    __table_args__ = (sa.Index("ix_campaign_vehicles_vin", "vin"),)

    campaign_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    vin: str = Field(sa_column=sa.Column(sa.String(17), primary_key=True))
    completed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime, nullable=True))
    completed_store_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    completed_repair_order_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))


class ThreeGuarantees(ReceptionModel, table=True):
    """A car's latest Three Guarantees (三包) counts as network worked them out."""

    __tablename__ = "three_guarantees"

    vin: str = Field(sa_column=sa.Column(sa.String(17), primary_key=True))
    validity: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    valid_until: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    cumulative_repair_days: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    same_problem_repairs: dict[str, int] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    serious_safety_fault_repairs: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    engine_or_transmission_replacements: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    alerts: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class ThreeGuaranteesAlert(ReceptionModel, table=True):
    """One of network's Three Guarantees alerts for a car (one per threshold, the latest kept)."""

    __tablename__ = "three_guarantees_alerts"

    vin: str = Field(sa_column=sa.Column(sa.String(17), primary_key=True))
    threshold: str = Field(sa_column=sa.Column(sa.String(128), primary_key=True))
    kind: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    remedy: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    value: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    limit: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    problem: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    loaner_owed: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    repair_order_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    message_zh: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    message_en: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    raised_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
