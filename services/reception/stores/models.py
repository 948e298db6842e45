from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.reception.base import ReceptionModel


class StoreSettings(ReceptionModel, table=True):
    """A store's own choices where reception's defaults do not suit it; no row: the defaults."""

    __tablename__ = "store_settings"

    store_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    # NULL: the group's default threshold (RECEPTION_HIGH_VALUE_THRESHOLD_FEN).
    high_value_threshold_fen: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    high_value_sign_off: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
    updated_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
