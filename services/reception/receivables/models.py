from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.reception.base import ReceptionModel


class Receivable(ReceptionModel, table=True):
    """One thing owed to the store by one payer: a fleet's order settled on account, an
    insurer's share of an order, a customer's order on credit, a warranty statement."""

    __tablename__ = "receivables"
    __table_args__ = (
        # One entry per thing owed and payer: a settlement replayed must not owe twice, while
        # one order may owe its insurer's share and its customer's credit side by side.
        sa.UniqueConstraint("source_kind", "source_id", "payer_kind", name="uq_receivables_source_payer"),
        # Concurrent payments lock the rows they match; the database still refuses an overpayment.
        sa.CheckConstraint("paid_fen >= 0 AND paid_fen <= amount_fen", name="ck_receivables_paid_within_amount"),
        sa.Index("ix_receivables_store_payer", "store_id", "payer_kind", "payer_id"),
    )

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    payer_kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    payer_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    payer_name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    # Whom the overdue reminder calls: a customer's phone (fleets keep contacts, insurers a claim no.).
    payer_phone: str | None = Field(default=None, sa_column=sa.Column(sa.String(20), nullable=True))
    source_kind: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    source_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    reference: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    amount_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    paid_fen: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    # Store-local calendar days: ageing counts the store's days, not UTC's.
    issued_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    due_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))


class ReceivablePayment(ReceptionModel, table=True):
    """Money received from a payer and the open items it was matched to."""

    __tablename__ = "receivable_payments"
    __table_args__ = (sa.Index("ix_receivable_payments_store_payer", "store_id", "payer_kind", "payer_id"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    payer_kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    payer_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    amount_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    received_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    method: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    reference: str | None = Field(default=None, sa_column=sa.Column(sa.String(100), nullable=True))
    # [{receivable_id, amount_fen}]: what the money paid, fixed when it was recorded.
    allocations: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    recorded_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    recorded_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
