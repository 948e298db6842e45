from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class OutletApplication(NetworkModel, table=True):
    """A partner outlet's request to join the network, made without a key. Only the hash of
    the applicant's status token is kept."""

    __tablename__ = "outlet_applications"

    id: str = Field(primary_key=True, max_length=64)
    company_name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    license_no: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    contact: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    address: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    bays: int
    technicians: int
    certifications: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    requested_services: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, index=True))
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    client_address: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Who: the person (or a machine's own key), their name, and the key or sign-in they used.
    reviewed_by: str | None = None
    reviewed_by_name: str | None = None
    reviewed_by_credential: str | None = None
    review_reason: str | None = None
    store_id: str | None = Field(default=None, foreign_key="stores.id")
    version: int = 1
