from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class GoodwillAuthorisation(NetworkModel, table=True):
    """A store's request that the brand pay for a repair out of goodwill, and HQ's answer.
    Granted, it lets one goodwill claim be filed for work on that car at that store begun
    after the grant and no later than `valid_until`."""

    __tablename__ = "goodwill_authorisations"
    __table_args__ = (sa.Index("ix_goodwill_authorisations_store_status", "store_id", "status"),)

    id: str = Field(primary_key=True, max_length=64)
    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    vin: str = Field(sa_column=sa.Column(sa.String(17), nullable=False, index=True))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))  # requested | granted | refused
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    amount_requested_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    valid_until_requested: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    requested_at: datetime = Field(sa_type=UTCDateTime)
    requested_by: str
    requested_by_name: str | None = None
    requested_by_credential: str | None = None
    # HQ's answer: what it grants may be less, and shorter, than what was asked.
    amount_limit_fen: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    brand_share_percent: int | None = None
    valid_until: date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = None
    decided_by_name: str | None = None
    decided_by_credential: str | None = None
    decision_note: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    version: int = 1
