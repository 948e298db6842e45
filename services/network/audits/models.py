from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from services.common.db import UTCDateTime
from services.common.modeljson import ModelJSON
from services.network.audits.schemas import AuditItemOut
from services.network.base import NetworkModel


class Audit(NetworkModel, table=True):
    """One audit of a store against data/audit_standards.json. The score is kept in
    hundredths of a point so it stays exact on every database."""

    __tablename__ = "audits"
    __table_args__ = (sa.Index("ix_audits_store", "store_id", "id"),)

    id: str = Field(primary_key=True, max_length=64)
    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    audited_at: datetime = Field(sa_type=UTCDateTime)
    # Who: the person (or a machine's own key), their name, and the key or sign-in they used.
    auditor: str
    auditor_name: str | None = None
    auditor_credential: str | None = None
    items: list[AuditItemOut] = Field(sa_column=sa.Column(ModelJSON(list[AuditItemOut]), nullable=False))
    score_centi: int
    pass_mark: int
    passed: bool
    # The audit standards' version it was scored by; null for audits before 0021.
    standards_version: int | None = None
    note: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)


class CorrectiveAction(NetworkModel, table=True):
    __tablename__ = "corrective_actions"
    __table_args__ = (sa.Index("ix_corrective_actions_store", "store_id", "status"),)

    id: str = Field(primary_key=True, max_length=64)
    audit_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("audits.id"), nullable=False, index=True))
    store_id: str = Field(sa_column=sa.Column(sa.String(64), sa.ForeignKey("stores.id"), nullable=False))
    item_code: str
    title: str
    score: int
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str  # an ActionStatus
    opened_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: str | None = None
    closed_by_name: str | None = None
    closed_by_credential: str | None = None
    resolution: str | None = None
    version: int = 1
