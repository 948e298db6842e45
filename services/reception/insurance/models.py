from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.reception.base import ReceptionModel


class InsuranceAssessment(ReceptionModel, table=True):
    """One round of the insurer's assessment (定损) of an order: the first, then one per
    supplement sent back. The latest round is the one in force; earlier ones are the record."""

    __tablename__ = "insurance_assessments"
    __table_args__ = (sa.UniqueConstraint("repair_order_id", "round", name="uq_insurance_assessments_order_round"),)

    id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    repair_order_id: str = Field(
        sa_column=sa.Column(sa.String(64), sa.ForeignKey("repair_orders.id"), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    round: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    insurer: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    claim_no: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    assessor: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    # [{line_id, amount_fen, approved_fen}]: the line's amount as it stood when assessed.
    lines: list[dict[str, Any]] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    approved_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    excess_fen: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    recorded_by: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    recorded_at: datetime = Field(sa_column=sa.Column(UTCDateTime, nullable=False))
