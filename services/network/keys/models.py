from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class ApiKey(NetworkModel, table=True):
    """An API key is a principal: its id is who did it; only the hash of its token is kept."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=64)
    key_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    prefix: str
    role: str
    store_id: str | None = Field(default=None, foreign_key="stores.id")
    label: str
    created_by: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
