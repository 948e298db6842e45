from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.network.base import NetworkModel


class Settlement(NetworkModel, table=True):
    """A statement of what the brand owes a store for its approved warranty claims of a month."""

    __tablename__ = "settlements"
    __table_args__ = (sa.Index("ix_settlements_store_period", "store_id", "period"),)

    id: str = Field(primary_key=True, max_length=64)
    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    period: str = Field(sa_column=sa.Column(sa.String(7), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))  # issued | confirmed | paid
    # The claims' amounts less debits_fen: below zero the store owes the brand.
    total_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    debits_fen: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))
    issued_at: datetime = Field(sa_type=UTCDateTime)
    # Who: the person (or a machine's own key), their name, and the key or sign-in they used.
    issued_by: str
    issued_by_name: str | None = None
    issued_by_credential: str | None = None
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_by: str | None = None
    confirmed_by_name: str | None = None
    confirmed_by_credential: str | None = None
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paid_by: str | None = None
    paid_by_name: str | None = None
    paid_by_credential: str | None = None
    reference: str | None = None
    version: int = 1


class SettlementClaim(NetworkModel, table=True):
    """A claim on a statement. The unique claim_id is what keeps a claim from being paid
    twice, whatever two HQ users do at the same moment."""

    __tablename__ = "settlement_claims"
    __table_args__ = (sa.UniqueConstraint("claim_id", name="uq_settlement_claims_claim_id"),)

    settlement_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("settlements.id"), primary_key=True))
    claim_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("claims.id"), primary_key=True))
    amount_approved_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
