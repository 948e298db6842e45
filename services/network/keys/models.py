from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class ApiKey(NetworkModel, table=True):
    """An API key: issued to a person, whose id it then acts under (so four-eyes rules see
    the person, whatever keys they hold), or to nobody, a machine's key acting as itself.
    Only the hash of its token is kept."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=64)
    key_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    prefix: str
    role: str
    store_id: str | None = Field(default=None, foreign_key="stores.id")
    label: str
    person_id: str | None = Field(default=None, sa_column=sa.Column(
        sa.String(64), sa.ForeignKey("people.id", name="fk_api_keys_person"), nullable=True, index=True))
    created_by: str
    created_by_name: str | None = None
    created_by_credential: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, max_length=64)
    revoked_by_name: str | None = None
    revoked_by_credential: str | None = None
    revoked_reason: str | None = Field(default=None, max_length=500)
